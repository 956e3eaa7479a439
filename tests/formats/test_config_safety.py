"""Bad model configs are refused with a clear ModelioError, and nothing else.

The rule under test: whatever a config file or document holds, reading it (and running what was
read) ends in success or in a `modelio.ModelioError` subclass whose message names the layer or
file and what was expected. Never a raw KeyError / TypeError / IndexError / RecursionError /
MemoryError, never a hang, never code from the file executed or imported.

Tests that need a memory limit or could block run the loader in a child process
(`_run_in_child`), so a regression can never exhaust this machine's memory or hang the suite.
"""

import base64
import builtins
import contextlib
import copy
import functools
import importlib
import json
import marshal
import os
import pickle
import random
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import types
from pathlib import Path

import numpy as np
import pytest
from fixture_models import CASES, FIXTURES, fixture_document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import modelio
from modelio import (
    ConfigError,
    FormatError,
    GraphError,
    ModelioError,
    UnsafeContentError,
    UnsupportedError,
)

REPO = Path(__file__).resolve().parents[2]
DIALECTS = ["keras3", "keras2"]
MODEL_NAME = "probe"


# ------------------------------------------------------------------------------------------------
# Hand-written documents: the smallest configs in each dialect, to break one thing at a time
# ------------------------------------------------------------------------------------------------


def input_entry(name="features", shape=(None, 4), dialect="keras3"):
    shape_key = "batch_shape" if dialect == "keras3" else "batch_input_shape"
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {shape_key: list(shape), "dtype": "float32", "name": name},
            "registered_name": None, "name": name, "inbound_nodes": []}


def keras_tensor(layer_name, node_index=0, tensor_index=0):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": [None, 4], "dtype": "float32",
                       "keras_history": [layer_name, node_index, tensor_index]}}


def call_node(dialect, *refs, **kwargs):
    """One inbound node: the layer called on `refs` ((layer, node, tensor) triples)."""
    if dialect == "keras3":
        tensors = [keras_tensor(*ref) for ref in refs]
        return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": kwargs}
    return [[name, node_index, tensor_index, dict(kwargs)] for name, node_index, tensor_index in refs]


def layer_entry(class_name, name, nodes=(), **config):
    return {"module": "keras.layers", "class_name": class_name,
            "config": {"name": name, **config}, "registered_name": None, "name": name,
            "inbound_nodes": list(nodes)}


def dense_entry(name, source, dialect="keras3", node_index=0, tensor_index=0, units=3, **config):
    return layer_entry("Dense", name, [call_node(dialect, (source, node_index, tensor_index))],
                       units=units, **config)


def functional(layers, inputs=(("features", 0, 0),), outputs=(("hidden_1", 0, 0),),
               dialect="keras3"):
    document = {"class_name": "Functional",
                "config": {"name": MODEL_NAME, "trainable": True, "layers": list(layers),
                           "input_layers": [list(ref) for ref in inputs],
                           "output_layers": [list(ref) for ref in outputs]},
                "keras_version": "3.5.0" if dialect == "keras3" else "2.15.0"}
    if dialect == "keras3":
        document["module"] = "keras.src.models.functional"
    return document


def dense_model(dialect="keras3", **dense_config):
    """features (None, 4) -> Dense 'hidden_1'; `dense_config` overrides the Dense's config."""
    return functional([input_entry(dialect=dialect),
                       dense_entry("hidden_1", "features", dialect, **dense_config)],
                      dialect=dialect)


def single_layer_model(class_name, name="layer_1", input_shape=(None, 4), kwargs=None, **config):
    """features -> one `class_name` layer called on it, in the Keras 3 dialect."""
    return functional([input_entry(shape=input_shape),
                       layer_entry(class_name, name,
                                   [call_node("keras3", ("features", 0, 0), **(kwargs or {}))],
                                   **config)],
                      outputs=[(name, 0, 0)])


def sequential(*layer_entries, name="stack"):
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": name, "trainable": True, "layers": list(layer_entries)}}


def plain_entry(class_name, **config):
    """A layer entry as it appears inside a Sequential (no graph keys)."""
    return {"module": "keras.layers", "class_name": class_name, "config": config,
            "registered_name": None}


# ------------------------------------------------------------------------------------------------
# Guards: no hangs, no code execution
# ------------------------------------------------------------------------------------------------


class Hang(BaseException):  # a BaseException, so no `except Exception` can swallow it
    """The code under test was still running when its deadline passed."""


class CodeWasRun(BaseException):  # a BaseException, so modelio cannot swallow it
    """modelio called a function that runs, imports or unpickles code."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Fail (instead of hanging the suite) when the block runs longer than `seconds`."""
    started = time.monotonic()
    use_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if use_alarm:
        def on_alarm(signum, frame):
            raise Hang(f"still running after {seconds} s (a loop or a blocking read?)")
        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    elapsed = time.monotonic() - started
    assert elapsed < seconds, f"took {elapsed:.1f} s, allowed {seconds} s"


# Lazy imports of these by numpy, yaml or modelio itself are not code named by a file.
SAFE_IMPORTS = ("numpy", "modelio", "yaml", "encodings", "_pytest", "hypothesis")
LAZY_MODELIO_MODULES = ("modelio.graph.functional_config", "modelio.graph.summary",
                        "modelio.formats.config", "modelio.formats.dispatch")


@pytest.fixture
def forbidden_calls(monkeypatch):
    """Replace every way of running code from data with a recorder that also blocks the call."""
    for lazily_imported in LAZY_MODELIO_MODULES:  # import now, before exec is watched
        importlib.import_module(lazily_imported)
    calls = []

    def stand_in(label, original, allowed=lambda args, caller: False):
        def record(*args, **kwargs):
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if allowed(args, caller):
                return original(*args, **kwargs)
            calls.append((label, args, kwargs))
            raise CodeWasRun(f"{label} was called with {args!r} {kwargs!r}")
        return record

    def python_importing_its_own_modules(args, caller):
        # Python's import system reads and runs the .pyc of a module imported lazily, and the
        # standard library generates dataclass/namedtuple methods with exec/eval.
        return caller.startswith(("importlib", "dataclasses", "collections", "typing", "enum"))

    def import_of_a_library_module(args, caller):
        return bool(args) and isinstance(args[0], str) and args[0].startswith(SAFE_IMPORTS)

    targets = [(os, "system", None), (os, "popen", None), (os, "execv", None),
               (os, "execve", None), (os, "spawnv", None), (subprocess, "Popen", None),
               (subprocess, "run", None), (subprocess, "check_output", None),
               (builtins, "eval", python_importing_its_own_modules), (pickle, "loads", None),
               (builtins, "exec", python_importing_its_own_modules),
               (marshal, "loads", python_importing_its_own_modules),
               (importlib, "import_module", import_of_a_library_module)]
    for module, name, allowed in targets:
        original = getattr(module, name)
        monkeypatch.setattr(module, name, stand_in(f"{module.__name__}.{name}", original,
                                                   allowed or (lambda args, caller: False)))
    return calls


def expect(error_type, function, *args, seconds: float = 5.0):
    """Call `function(*args)`, which must raise `error_type` within `seconds`; return the error."""
    with deadline(seconds), pytest.raises(error_type) as info:
        function(*args)
    return info.value


def load(document):
    return modelio.model_from_config(copy.deepcopy(document))


def load_and_predict(document, batch=2):
    """Load `document` and run it once on zeros of its input shapes (unknown dims -> 2)."""
    model = modelio.model_from_config(copy.deepcopy(document))
    arrays = [np.zeros(tuple(batch if dim is None else dim for dim in tensor.shape), "float32")
              for tensor in model.inputs]
    return model.predict(arrays if len(arrays) > 1 else arrays[0])


_CHILD_SCRIPT = r"""
import json, resource, sys
import numpy as np
import modelio
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
request = json.load(sys.stdin)
try:
    if request["kind"] == "path":
        modelio.load_model(request["path"])
    else:
        model = modelio.model_from_config(request["document"])
        if request.get("predict_shape"):
            model.predict(np.zeros(request["predict_shape"], "float32"))
except modelio.ModelioError as exc:
    outcome = {"result": "modelio", "type": type(exc).__name__, "message": str(exc)}
except BaseException as exc:
    outcome = {"result": "other", "type": type(exc).__name__, "message": str(exc)[:300]}
else:
    outcome = {"result": "ok", "type": "", "message": ""}
print(json.dumps(outcome))
"""


def _run_in_child(request: dict, memory_limit=768 * 1024**2, timeout=30.0) -> dict:
    """Run a load in a child process under an address-space limit and a wall-clock limit."""
    if not sys.platform.startswith("linux"):
        pytest.skip("needs Linux address-space limits")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD_SCRIPT, str(memory_limit)],
                              input=json.dumps(request), capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=str(REPO))
    except subprocess.TimeoutExpired:
        return {"result": "hang", "type": "timeout", "message": f"no answer within {timeout} s"}
    lines = done.stdout.strip().splitlines()
    if not lines:
        return {"result": "crash", "type": f"exit {done.returncode}", "message": done.stderr[-500:]}
    return json.loads(lines[-1])


# ------------------------------------------------------------------------------------------------
# Controls: the hand-written documents are valid, so every refusal below is caused by the mutation
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_hand_written_minimal_documents_load_in_both_dialects(dialect):
    model = load(dense_model(dialect))
    assert [layer.name for layer in model.layers] == ["features", "hidden_1"]
    assert load(single_layer_model("Softmax")).output_shape == [(None, 4)]
    stack = load(sequential(plain_entry("InputLayer", batch_shape=[None, 4], name="stack_in"),
                            plain_entry("Dense", name="dense_7", units=2)))
    assert stack.output_shape == (None, 2)


def test_code_execution_guard_itself_catches_and_blocks_calls(forbidden_calls, tmp_path):
    # The guard used by the safety tests below must really see (and stop) such calls.
    with pytest.raises(CodeWasRun):
        os.system(f"touch {tmp_path / 'pwned'}")
    with pytest.raises(CodeWasRun):
        builtins.eval("1 + 1")
    with pytest.raises(CodeWasRun):
        importlib.import_module("antigravity")
    assert [call[0] for call in forbidden_calls] == ["os.system", "builtins.eval",
                                                     "importlib.import_module"]
    assert not (tmp_path / "pwned").exists()


# ------------------------------------------------------------------------------------------------
# 1. Cycles
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_cycle_between_two_layers_is_graph_error_mentioning_loop(dialect):
    document = functional([input_entry(dialect=dialect),
                           dense_entry("layer_a", "layer_b", dialect),
                           dense_entry("layer_b", "layer_a", dialect),
                           dense_entry("hidden_1", "layer_b", dialect)], dialect=dialect)
    error = expect(GraphError, load, document, seconds=2)
    assert "loop" in str(error)
    assert "'layer_a'" in str(error) and "'layer_b'" in str(error)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_layer_feeding_itself_is_graph_error_mentioning_loop(dialect):
    document = functional([input_entry(dialect=dialect),
                           dense_entry("hidden_1", "hidden_1", dialect)], dialect=dialect)
    error = expect(GraphError, load, document, seconds=2)
    assert "loop" in str(error) and "'hidden_1'" in str(error)


def test_cycle_through_second_node_of_shared_layer_is_graph_error():
    shared = layer_entry("Dense", "shared", [call_node("keras3", ("features", 0, 0)),
                                             call_node("keras3", ("hidden_1", 0, 0))], units=4)
    document = functional([input_entry(), shared,
                           dense_entry("hidden_1", "shared", node_index=1, units=4)])
    error = expect(GraphError, load, document, seconds=2)
    assert "loop" in str(error)


def test_ring_of_two_thousand_layers_is_refused_promptly():
    count = 2000
    ring = [dense_entry(f"ring_{i}", f"ring_{(i - 1) % count}", units=4) for i in range(count)]
    document = functional([input_entry(), *ring], outputs=[("ring_0", 0, 0)])
    error = expect(GraphError, load, document, seconds=5)
    assert "loop" in str(error)


# ------------------------------------------------------------------------------------------------
# 2. References to layers that do not exist
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_inbound_reference_to_missing_layer_is_graph_error_naming_it(dialect):
    document = dense_model(dialect)
    node = ([[["missing", 0, 0, {}]]] if dialect == "keras2"
            else [{"args": [keras_tensor("missing")], "kwargs": {}}])
    document["config"]["layers"][1]["inbound_nodes"] = node
    error = expect(GraphError, load, document)
    assert "'missing'" in str(error) and "'hidden_1'" in str(error)


@pytest.mark.parametrize("endpoint", ["input_layers", "output_layers"])
def test_endpoint_naming_missing_layer_is_graph_error_naming_it(endpoint):
    document = dense_model()
    document["config"][endpoint] = [["missing", 0, 0]]
    error = expect(GraphError, load, document)
    assert "'missing'" in str(error) and endpoint in str(error)


# ------------------------------------------------------------------------------------------------
# 3. Node and tensor indices
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_reference_to_node_five_of_single_node_layer_is_graph_error(dialect):
    error = expect(GraphError, load, dense_model(dialect, node_index=5))
    assert "node 5" in str(error) and "'features'" in str(error) and "'hidden_1'" in str(error)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_tensor_index_beyond_layer_outputs_is_graph_error(dialect):
    error = expect(GraphError, load, dense_model(dialect, tensor_index=3))
    assert "output 3" in str(error) and "'features'" in str(error)


@pytest.mark.parametrize("position", [1, 2], ids=["node_index", "tensor_index"])
def test_output_layers_index_out_of_range_is_graph_error(position):
    document = dense_model()
    document["config"]["output_layers"][0][position] = 7
    error = expect(GraphError, load, document)
    assert "'hidden_1'" in str(error) and "7" in str(error)


BAD_INDICES = [-1, 1.5, "0", True, None, [0], 10**30]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("position", ["node_index", "tensor_index"])
@pytest.mark.parametrize("value", BAD_INDICES, ids=repr)
def test_negative_or_non_integer_inbound_index_is_modelio_error(dialect, position, value):
    document = dense_model(dialect, **{position: value})
    error = expect(ModelioError, load, document)
    assert isinstance(error, (ConfigError, GraphError))
    assert "'hidden_1'" in str(error)


@pytest.mark.parametrize("position", [1, 2], ids=["node_index", "tensor_index"])
@pytest.mark.parametrize("value", BAD_INDICES, ids=repr)
def test_negative_or_non_integer_endpoint_index_is_modelio_error(position, value):
    document = dense_model()
    document["config"]["input_layers"][0][position] = value
    error = expect(ModelioError, load, document)
    assert "input_layers" in str(error)


# ------------------------------------------------------------------------------------------------
# 4. Unknown classes
# ------------------------------------------------------------------------------------------------


def test_unknown_class_name_at_top_level_is_unsupported_error_naming_it():
    error = expect(UnsupportedError, load,
                   {"module": "keras.layers", "class_name": "FancyLayer", "config": {"name": "fancy"}})
    assert "'FancyLayer'" in str(error) and "'fancy'" in str(error)


def test_unknown_class_name_inside_functional_is_unsupported_error_naming_it():
    document = dense_model()
    document["config"]["layers"][1]["class_name"] = "FancyLayer"
    error = expect(UnsupportedError, load, document)
    assert "'FancyLayer'" in str(error) and "'hidden_1'" in str(error)


def test_unknown_class_name_inside_sequential_is_unsupported_error_naming_it():
    document = sequential(plain_entry("InputLayer", batch_shape=[None, 4], name="stack_in"),
                          plain_entry("FancyLayer", name="fancy_1"))
    error = expect(UnsupportedError, load, document)
    assert "'FancyLayer'" in str(error) and "'fancy_1'" in str(error)


# ------------------------------------------------------------------------------------------------
# 5. module / class_name injection
# ------------------------------------------------------------------------------------------------

INJECTIONS = [("os", "system"), ("builtins", "eval"), ("builtins", "exec"),
              ("subprocess", "Popen"), ("subprocess", "check_output"), ("posix", "system"),
              ("importlib", "import_module"), ("pickle", "loads")]


def _injected_entry(module, class_name, side_effect: Path):
    return {"module": module, "class_name": class_name,
            "config": {"name": "evil", "command": f"touch {side_effect}",
                       "args": [f"touch {side_effect}"], "source": f"open({str(side_effect)!r}, 'w')"},
            "registered_name": class_name, "name": "evil", "inbound_nodes": []}


@pytest.mark.parametrize("where", ["top_level", "functional_layer", "sequential_layer"])
@pytest.mark.parametrize("module,class_name", INJECTIONS, ids=lambda value: value)
def test_module_injection_is_refused_and_runs_nothing(module, class_name, where, tmp_path,
                                                      forbidden_calls):
    side_effect = tmp_path / "pwned"
    entry = _injected_entry(module, class_name, side_effect)
    if where == "top_level":
        document = entry
    elif where == "functional_layer":
        entry["inbound_nodes"] = [call_node("keras3", ("features", 0, 0))]
        document = functional([input_entry(), entry], outputs=[("evil", 0, 0)])
    else:
        del entry["inbound_nodes"], entry["name"]
        document = sequential(plain_entry("InputLayer", batch_shape=[None, 4], name="stack_in"), entry)
    error = expect(UnsafeContentError, load, document)
    assert f"'{module}'" in str(error) and "'evil'" in str(error)
    assert forbidden_calls == []
    assert not side_effect.exists()


def test_module_injection_in_json_file_is_refused_by_load_model(tmp_path, forbidden_calls):
    side_effect = tmp_path / "pwned"
    path = tmp_path / "model.json"
    path.write_text(json.dumps(_injected_entry("os", "system", side_effect)))
    error = expect(UnsafeContentError, modelio.load_model, path)
    assert "'evil'" in str(error) and "'os'" in str(error)
    assert forbidden_calls == [] and not side_effect.exists()


@pytest.mark.parametrize("module", ["keras_evil", "kerasx.layers", "keras_contrib.layers",
                                    "tensorflow.kerasx", "modelio_plugin.layers"])
def test_module_that_only_starts_like_keras_is_refused(module, forbidden_calls):
    # The module check must compare whole package names: `keras_evil` is not `keras`.
    document = dense_model()
    document["config"]["layers"][1]["module"] = module
    error = expect(UnsafeContentError, load, document)
    assert module in str(error) and "'hidden_1'" in str(error)
    assert forbidden_calls == []


@pytest.mark.parametrize("activation", [
    {"module": "os", "class_name": "function", "config": "system", "registered_name": "function"},
    {"module": "builtins", "class_name": "function", "config": "eval", "registered_name": "function"},
], ids=["os.system", "builtins.eval"])
def test_activation_function_from_foreign_module_is_unsafe_content(activation, forbidden_calls):
    error = expect(UnsafeContentError, load, dense_model(activation=activation))
    assert "'hidden_1'" in str(error) and activation["module"] in str(error)
    assert forbidden_calls == []


# ------------------------------------------------------------------------------------------------
# 6. YAML: Python tags and aliases
# ------------------------------------------------------------------------------------------------


def _python_tag_documents(side_effect: Path) -> dict:
    return {
        "object_apply": f'!!python/object/apply:os.system ["touch {side_effect}"]',
        "object_apply_nested": ("class_name: Functional\nconfig:\n  name: m\n  layers: "
                                f'!!python/object/apply:os.system ["touch {side_effect}"]\n'),
        "name": "!!python/name:os.system",
        "object_new": f'!!python/object/new:subprocess.Popen [["touch", "{side_effect}"]]',
        "object": "!!python/object:argparse.Namespace {}",
        "module": "!!python/module:os",
        "tuple": "!!python/tuple [1, 2]",
        "local_tag": "!touch {path: x}",
    }


TAG_KINDS = list(_python_tag_documents(Path("x")))


@pytest.mark.parametrize("kind", TAG_KINDS)
def test_yaml_python_tag_is_refused_and_runs_nothing(kind, tmp_path, forbidden_calls):
    side_effect = tmp_path / "pwned"
    text = _python_tag_documents(side_effect)[kind]
    expect(UnsafeContentError, modelio.model_from_yaml, text)
    assert forbidden_calls == []
    assert not side_effect.exists()


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
@pytest.mark.parametrize("kind", ["object_apply", "object_new", "name"])
def test_yaml_file_with_python_tag_is_refused_by_load_model(kind, suffix, tmp_path, forbidden_calls):
    side_effect = tmp_path / "pwned"
    path = tmp_path / f"model{suffix}"
    path.write_text(_python_tag_documents(side_effect)[kind])
    error = expect(UnsafeContentError, modelio.load_model, path)
    assert str(path) in str(error)
    assert forbidden_calls == []
    assert not side_effect.exists()


def test_yaml_billion_laughs_is_refused_quickly():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        previous, current = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{current}: &{current} [" + ",".join([f"*{previous}"] * 9) + "]")
    error = expect(ModelioError, modelio.model_from_yaml, "\n".join(lines), seconds=2)
    assert "alias" in str(error)


def test_yaml_merge_key_through_alias_is_refused():
    text = "defaults: &d {units: 3}\nclass_name: Dense\nconfig: {<<: *d, name: merged}\n"
    error = expect(ModelioError, modelio.model_from_yaml, text, seconds=2)
    assert "alias" in str(error)


def test_yaml_alias_in_model_file_is_refused_by_load_model(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text("a: &a [1, 2]\nb: [*a, *a]\n")
    error = expect(ModelioError, modelio.load_model, path, seconds=2)
    assert str(path) in str(error)


@pytest.mark.parametrize("value", [None, 5, 2.5, ["class_name: Dense"]], ids=repr)
def test_model_from_yaml_with_non_text_argument_is_format_error(value):
    # model_from_json turns the same mistakes into FormatError; YAML must not leak AttributeError.
    expect(FormatError, modelio.model_from_json, value)
    expect(FormatError, modelio.model_from_yaml, value)


# ------------------------------------------------------------------------------------------------
# 7. Layers that carry code: Lambda, TFOpLambda, SlicingOpLambda, __lambda__ functions
# ------------------------------------------------------------------------------------------------


def _marshalled_lambda(side_effect: Path) -> str:
    """What Keras's func_dump writes for `lambda x: open(<side_effect>, 'w')`: base64 marshal."""
    module_code = builtins.compile(f"lambda x: open({str(side_effect)!r}, 'w')", "<lambda>", "eval")
    code = next(const for const in module_code.co_consts if isinstance(const, types.CodeType))
    return base64.encodebytes(marshal.dumps(code)).decode("ascii")  # = codecs.encode(.., "base64")


def test_keras3_lambda_layer_is_unsafe_content_naming_layer(tmp_path, forbidden_calls):
    side_effect = tmp_path / "pwned"
    function = {"class_name": "__lambda__",
                "config": {"code": _marshalled_lambda(side_effect), "defaults": None, "closure": None}}
    lam = layer_entry("Lambda", "my_lambda", [call_node("keras3", ("features", 0, 0))],
                      function=function, output_shape=None, arguments={})
    document = functional([input_entry(), lam], outputs=[("my_lambda", 0, 0)])
    error = expect(UnsafeContentError, load, document)
    assert "'my_lambda'" in str(error) and "Lambda" in str(error)
    assert forbidden_calls == [] and not side_effect.exists()


def test_keras2_lambda_with_marshalled_bytecode_is_refused_and_never_unmarshalled(tmp_path,
                                                                                   forbidden_calls):
    side_effect = tmp_path / "pwned"
    lam = layer_entry("Lambda", "old_lambda", [call_node("keras2", ("features", 0, 0))],
                      trainable=True, dtype="float32",
                      function=[_marshalled_lambda(side_effect), None, None],
                      function_type="lambda", module="__main__", output_shape=None,
                      output_shape_type="raw", output_shape_module=None, arguments={})
    document = functional([input_entry(dialect="keras2"), lam], outputs=[("old_lambda", 0, 0)],
                          dialect="keras2")
    error = expect(UnsafeContentError, load, document)
    assert "'old_lambda'" in str(error)
    assert forbidden_calls == [] and not side_effect.exists()


@pytest.mark.parametrize("class_name,function", [("TFOpLambda", "math.add"),
                                                 ("SlicingOpLambda", "__operators__.getitem")])
def test_tf_op_lambda_layers_are_unsafe_content_naming_layer(class_name, function, forbidden_calls):
    op = {"module": "keras.layers", "class_name": class_name,
          "config": {"name": "tf.op_1", "trainable": True, "dtype": "float32", "function": function},
          "name": "tf.op_1", "inbound_nodes": [["features", 0, 0, {"y": 1.0, "name": None}]]}
    document = functional([input_entry(dialect="keras2"), op], outputs=[("tf.op_1", 0, 0)],
                          dialect="keras2")
    error = expect(UnsafeContentError, load, document)
    assert "'tf.op_1'" in str(error) and class_name in str(error)
    assert forbidden_calls == []


def test_lambda_layer_without_module_at_top_level_is_unsafe_content():
    error = expect(UnsafeContentError, load,
                   {"class_name": "Lambda", "config": {"name": "bare_lambda",
                                                       "function": ["AAAA", None, None]}})
    assert "'bare_lambda'" in str(error)


def test_lambda_function_as_dense_activation_is_unsafe_content(tmp_path, forbidden_calls):
    # Keras 3 writes `Dense(activation=lambda x: ...)` with a `__lambda__` activation: bytecode.
    side_effect = tmp_path / "pwned"
    activation = {"class_name": "__lambda__",
                  "config": {"value": [_marshalled_lambda(side_effect), None, None]}}
    error = expect(UnsafeContentError, load, dense_model(activation=activation))
    assert "'hidden_1'" in str(error)
    assert forbidden_calls == [] and not side_effect.exists()


# ------------------------------------------------------------------------------------------------
# 8. Wrong types and impossible values in layer configs
# ------------------------------------------------------------------------------------------------

DENSE_MISTAKES = [
    ("units", "abc", ConfigError), ("units", -3, ConfigError), ("units", 2.5, ConfigError),
    ("units", 0, ConfigError), ("units", None, ConfigError), ("units", True, ConfigError),
    ("units", [4], ConfigError), ("use_bias", "yes", ConfigError), ("use_bias", 1, ConfigError),
    ("activation", 7, ConfigError), ("activation", ["relu"], ConfigError),
    ("activation", "no_such_activation", UnsupportedError),
    ("activation", {"class_name": "Swish9", "config": {}}, UnsupportedError),
    ("kernel_initializer", 5, ConfigError), ("kernel_initializer", "no_such_init", UnsupportedError),
    ("kernel_initializer", {"class_name": "NoSuchInit", "config": {}}, UnsupportedError),
    ("kernel_initializer", {"class_name": "RandomNormal", "config": [1]}, ConfigError),
    ("kernel_regularizer", 5, ConfigError), ("trainable", "yes", ConfigError),
    ("dtype", 7, ConfigError), ("dtype", "float8", UnsupportedError),
    ("dtype", {"class_name": "DTypePolicy", "config": {"name": "bfloat16"}}, UnsupportedError),
    ("dtype", {"class_name": "DTypePolicy", "config": "float32"}, ConfigError),
    ("input_shape", "abc", ConfigError), ("batch_input_shape", [None, -1], ConfigError),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("argument,value,error_type", DENSE_MISTAKES,
                         ids=[f"{a}={v!r}" for a, v, _ in DENSE_MISTAKES])
def test_wrong_dense_argument_is_refused_naming_layer(dialect, argument, value, error_type):
    error = expect(error_type, load, dense_model(dialect, **{argument: value}))
    assert "'hidden_1'" in str(error)


# A config value that only turns out impossible once the input shape is known may be reported as
# a ConfigError (bad value) or a GraphError (cannot take that input): both name the layer.
SHAPE_DEPENDENT = (ConfigError, GraphError)
LAYER_MISTAKES = [
    ("Reshape", {"target_shape": "x"}, ConfigError),
    ("Reshape", {"target_shape": [0]}, ConfigError),
    ("Reshape", {"target_shape": [-1, -1]}, ConfigError),
    ("Reshape", {"target_shape": [3]}, SHAPE_DEPENDENT),
    ("Reshape", {"target_shape": [10**12, 10**12]}, SHAPE_DEPENDENT),
    ("Reshape", {}, ConfigError),
    ("Dropout", {"rate": 2.0}, ConfigError),
    ("Dropout", {"rate": -0.1}, ConfigError),
    ("Dropout", {"rate": "x"}, ConfigError),
    ("Dropout", {"rate": 0.5, "seed": "s"}, ConfigError),
    ("Dropout", {}, ConfigError),
    ("Softmax", {"axis": "a"}, ConfigError),
    ("Softmax", {"axis": []}, ConfigError),
    ("Permute", {"dims": [1, 1]}, ConfigError),
    ("Permute", {"dims": [2, 1]}, SHAPE_DEPENDENT),
    ("RepeatVector", {"n": 0}, ConfigError),
    ("RepeatVector", {"n": "3"}, ConfigError),
    ("Concatenate", {"axis": "x"}, ConfigError),
    ("Concatenate", {"axis": 1}, SHAPE_DEPENDENT),
    ("Dot", {"axes": [1]}, ConfigError),
    ("Dot", {"axes": 1, "normalize": "yes"}, ConfigError),
    ("Add", {}, SHAPE_DEPENDENT),
    ("LeakyReLU", {"negative_slope": "x"}, ConfigError),
    ("ReLU", {"max_value": -1.0}, ConfigError),
    ("ELU", {"alpha": None}, ConfigError),
    ("PReLU", {"shared_axes": [0]}, ConfigError),
    ("Flatten", {"data_format": "nchw"}, ConfigError),
    ("SpatialDropout1D", {"rate": 0.1, "data_format": "channels_last"}, UnsupportedError),
    ("GaussianNoise", {"stddev": "x"}, ConfigError),
    ("Activation", {"activation": "no_such_activation"}, UnsupportedError),
    ("Activation", {"activation": None, "name": "layer_1", "trainable": 3}, ConfigError),
]


@pytest.mark.parametrize("class_name,config,error_type", LAYER_MISTAKES,
                         ids=[f"{c}-{json.dumps(v)}" for c, v, _ in LAYER_MISTAKES])
def test_wrong_layer_argument_is_refused_naming_layer(class_name, config, error_type):
    error = expect(error_type, load, single_layer_model(class_name, **config))
    assert "'layer_1'" in str(error)


@pytest.mark.parametrize("noise_shape", ["abc", 5, {"a": 1}], ids=repr)
def test_dropout_noise_shape_of_wrong_type_is_config_error_naming_layer(noise_shape):
    error = expect(ConfigError, load, single_layer_model("Dropout", rate=0.5, noise_shape=noise_shape))
    assert "'layer_1'" in str(error) and "noise_shape" in str(error)


INPUT_MISTAKES = [
    ({"batch_shape": "abc"}, ConfigError), ({"batch_shape": [None, -1]}, ConfigError),
    ({"batch_shape": [None, 1.5]}, ConfigError), ({"batch_shape": [None, True]}, ConfigError),
    ({"batch_shape": [None, "4"]}, ConfigError), ({"batch_shape": None}, ConfigError),
    ({"batch_shape": [None, 4], "shape": [4]}, ConfigError),
    ({"dtype": "float8"}, UnsupportedError), ({"dtype": 5}, ConfigError),
    ({"dtype": {"a": 1}}, ConfigError), ({"sparse": True}, UnsupportedError),
    ({"ragged": True}, UnsupportedError),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("changes,error_type", INPUT_MISTAKES,
                         ids=[json.dumps(c) for c, _ in INPUT_MISTAKES])
def test_wrong_input_layer_argument_is_refused_naming_input(dialect, changes, error_type):
    document = dense_model(dialect)
    config = document["config"]["layers"][0]["config"]
    if dialect == "keras2" and "batch_shape" in changes:
        changes = {"batch_input_shape": changes["batch_shape"],
                   **{k: v for k, v in changes.items() if k != "batch_shape"}}
        config.pop("batch_input_shape")
    config.update(changes)
    error = expect(error_type, load, document)
    assert "'features'" in str(error)


@pytest.mark.parametrize("where", ["config", "entry", "both"])
def test_integer_layer_name_is_config_error(where):
    document = dense_model()
    entry = document["config"]["layers"][1]
    if where in ("config", "both"):
        entry["config"]["name"] = 123
    if where in ("entry", "both"):
        entry["name"] = 123
    error = expect(ConfigError, load, document)
    assert "name" in str(error) and "123" in str(error)


def test_list_layer_name_is_config_error_saying_name_must_be_string():
    document = dense_model()
    document["config"]["layers"][1]["name"] = ["hidden_1"]
    error = expect(ConfigError, load, document)
    assert "must be a string" in str(error), str(error)


@pytest.mark.parametrize("config", [[1, 2], None, "units=3", 5], ids=repr)
def test_layer_config_that_is_not_a_mapping_is_config_error_naming_layer(config):
    document = dense_model()
    document["config"]["layers"][1]["config"] = config
    error = expect(ConfigError, load, document)
    assert "'hidden_1'" in str(error) and "mapping" in str(error)


@pytest.mark.parametrize("config", [[1, 2], None, "x"], ids=repr)
def test_model_config_that_is_not_a_mapping_is_config_error(config):
    document = dense_model()
    document["config"] = config
    expect(ConfigError, load, document)


@pytest.mark.parametrize("layers", [{"hidden_1": {}}, "layers", None, 5], ids=repr)
def test_model_layers_that_are_not_a_list_are_config_error(layers):
    document = dense_model()
    document["config"]["layers"] = layers
    error = expect(ConfigError, load, document)
    assert "'layers'" in str(error) and f"'{MODEL_NAME}'" in str(error)


@pytest.mark.parametrize("entry", ["dense", 5, None, [1, 2]], ids=repr)
def test_layer_entry_that_is_not_a_mapping_is_config_error(entry):
    document = dense_model()
    document["config"]["layers"].append(entry)
    error = expect(ConfigError, load, document)
    assert "mapping" in str(error) and f"'{MODEL_NAME}'" in str(error)


@pytest.mark.parametrize("nodes", ["features", {"args": []}, 5], ids=repr)
def test_inbound_nodes_that_are_not_a_list_are_config_error_naming_layer(nodes):
    document = dense_model()
    document["config"]["layers"][1]["inbound_nodes"] = nodes
    error = expect(ConfigError, load, document)
    assert "'hidden_1'" in str(error) and "inbound_nodes" in str(error)


MALFORMED_NODES = [
    ["features"], [5], [None], [{"args": "features", "kwargs": {}}],
    [{"args": [keras_tensor("features")], "kwargs": []}],
    [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": None}}], "kwargs": {}}],
    [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["features"]}}],
      "kwargs": {}}],
    [{"args": [{"class_name": "__keras_tensor__", "config": []}], "kwargs": {}}],
    [{"args": [], "kwargs": {}}], [{"args": [5], "kwargs": {}}],
    [[]], [[[]]], [[["features", 0, 0, []]]], [[["features", 0, 0, {}, 1]]], [[[5, 0, 0, {}]]],
    [[["_CONSTANT_VALUE", -1, 5, {}]]],
]


@pytest.mark.parametrize("nodes", MALFORMED_NODES, ids=[json.dumps(n)[:60] for n in MALFORMED_NODES])
def test_malformed_inbound_node_is_modelio_error_naming_layer(nodes):
    document = dense_model()
    document["config"]["layers"][1]["inbound_nodes"] = nodes
    error = expect(ModelioError, load, document)
    assert "'hidden_1'" in str(error)


@pytest.mark.parametrize("endpoint", ["input_layers", "output_layers"])
@pytest.mark.parametrize("value", ["missing_key", None, [], 5, "features", [["features"]],
                                   {"a": 5}], ids=repr)
def test_missing_or_malformed_input_and_output_layers_are_config_error(endpoint, value):
    document = dense_model()
    if value == "missing_key":
        del document["config"][endpoint]
    else:
        document["config"][endpoint] = value
    error = expect(ConfigError, load, document)
    assert endpoint in str(error) and f"'{MODEL_NAME}'" in str(error)


def test_two_layers_with_one_name_are_graph_error_naming_it():
    document = dense_model()
    document["config"]["layers"].append(dense_entry("hidden_1", "features"))
    error = expect(GraphError, load, document)
    assert "'hidden_1'" in str(error)


@pytest.mark.parametrize("document", [[1], None, "model", 5, {}, {"config": {}}], ids=repr)
def test_document_that_is_not_a_layer_entry_is_config_error(document):
    expect(ConfigError, modelio.model_from_config, document)


@pytest.mark.parametrize("field,value", [("class_name", 5), ("class_name", None),
                                         ("module", 5), ("module", ["keras"])], ids=repr)
def test_non_string_class_name_or_module_is_config_error(field, value):
    document = dense_model()
    document["config"]["layers"][1][field] = value
    error = expect(ConfigError, load, document)
    assert field.split("_")[0] in str(error)


def test_error_message_names_layer_even_when_its_name_is_a_single_letter():
    # A short name like 'd' occurs by chance in most messages ("dtype ..."), so a check for the
    # bare substring cannot tell whether a message already names the layer.
    document = functional([input_entry(), dense_entry("d", "features", dtype="float8")],
                          outputs=[("d", 0, 0)])
    error = expect(UnsupportedError, load, document)
    assert "'d'" in str(error), str(error)


@pytest.mark.parametrize("container", ["functional", "sequential"])
@pytest.mark.parametrize("initializer", [{"class_name": "NoSuchInit", "config": {}},
                                         {"class_name": "RandomNormal", "config": {"stddev": "x"}}],
                         ids=["unknown", "stddev_str"])
def test_error_raised_while_building_names_the_inner_layer(container, initializer):
    if container == "functional":
        document = functional([input_entry(),
                               dense_entry("dense_7", "features", kernel_initializer=initializer)],
                              outputs=[("dense_7", 0, 0)])
    else:
        document = sequential(plain_entry("InputLayer", batch_shape=[None, 4], name="stack_in"),
                              plain_entry("Dense", name="dense_7", units=2,
                                          kernel_initializer=initializer))
    error = expect(ModelioError, load, document)
    # Name the layer, and blame the initializer (not, say, the input shape).
    assert "'dense_7'" in str(error), str(error)
    assert "initializer" in str(error) or "stddev" in str(error), str(error)


@pytest.mark.parametrize("cls,config", [
    ("Functional", {"name": "m", "layers": [dict(input_entry(), name=["x"])],
                    "input_layers": [["x", 0, 0]], "output_layers": [["x", 0, 0]]}),
    ("Sequential", {"name": "s", "layers": [
        plain_entry("InputLayer", batch_shape=[None, 4], name="stack_in"),
        plain_entry("Dense", name="dense_7", units=2,
                    kernel_initializer={"class_name": "RandomNormal", "config": {"stddev": "x"}})]}),
], ids=["functional_list_name", "sequential_bad_initializer"])
def test_model_from_config_classmethods_called_directly_raise_only_modelio_errors(cls, config):
    # `Model.from_config` / `Sequential.from_config` are the Keras-style public entry points.
    expect(ModelioError, getattr(modelio, cls).from_config, config)


# ------------------------------------------------------------------------------------------------
# 9. Unsupported arguments
# ------------------------------------------------------------------------------------------------

UNSUPPORTED_ARGUMENTS = [
    ("Dense", {"units": 3, "foo": 1}, "foo"),
    ("Dense", {"units": 3, "lora_rank": 4}, "lora_rank"),
    ("Dropout", {"rate": 0.1, "bar": None}, "bar"),
    ("Reshape", {"target_shape": [2, 2], "order": "F"}, "order"),
    ("Activation", {"activation": "relu", "inplace": True}, "inplace"),
    ("Softmax", {"axis": -1, "temperature": 2.0}, "temperature"),
]


@pytest.mark.parametrize("class_name,config,argument", UNSUPPORTED_ARGUMENTS,
                         ids=[f"{c}.{a}" for c, _, a in UNSUPPORTED_ARGUMENTS])
def test_unsupported_argument_is_unsupported_error_naming_layer_and_argument(class_name, config,
                                                                              argument):
    error = expect(UnsupportedError, load, single_layer_model(class_name, **config))
    assert "'layer_1'" in str(error) and argument in str(error)


def test_unsupported_input_layer_argument_names_input_and_argument():
    document = dense_model()
    document["config"]["layers"][0]["config"]["foo"] = 1
    error = expect(UnsupportedError, load, document)
    assert "'features'" in str(error) and "foo" in str(error)


def test_unknown_sequential_config_key_is_refused_naming_key():
    document = sequential(plain_entry("InputLayer", batch_shape=[None, 4], name="stack_in"))
    document["config"]["foo"] = 1
    error = expect(ConfigError, load, document)
    assert "'stack'" in str(error) and "foo" in str(error)


# ------------------------------------------------------------------------------------------------
# 10. Absurd sizes: refused before anything is allocated
# ------------------------------------------------------------------------------------------------


def _peak_allocation_while(function, *args):
    tracemalloc.start()
    try:
        with contextlib.suppress(ModelioError):
            function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("batch_shape", [[None, 10**12], [None, 2**31 + 1], [10**12, 4],
                                         [None, 10**100]], ids=repr)
def test_absurd_input_dimension_is_refused_quickly_without_allocating(batch_shape):
    document = dense_model()
    document["config"]["layers"][0]["config"]["batch_shape"] = batch_shape
    error = expect(ModelioError, load, document, seconds=3)
    assert "'features'" in str(error) or "'hidden_1'" in str(error)
    assert _peak_allocation_while(load, document) < 64 * 1024**2


@pytest.mark.parametrize("units", [10**10, 10**5, 5000])
def test_absurd_dense_units_are_refused_before_allocating(units):
    document = functional([input_entry(shape=(None, 10**6)),
                           dense_entry("hidden_1", "features", units=units)])
    error = expect(ModelioError, load, document, seconds=3)
    assert "'hidden_1'" in str(error) and "kernel" in str(error)
    assert _peak_allocation_while(load, document) < 64 * 1024**2


def test_absurd_sequential_units_are_refused_before_allocating():
    document = sequential(plain_entry("InputLayer", batch_shape=[None, 10**6], name="wide"),
                          plain_entry("Dense", name="huge", units=10**10))
    error = expect(ModelioError, load, document, seconds=3)
    assert "'huge'" in str(error)


def test_weight_too_big_for_available_memory_is_modelio_error_not_memory_error():
    # 10**6 x 1000 = 10**9 elements is under modelio's 2**32-element cap, but needs 4 GB
    # (8 GB while the float64 initializer runs). With 768 MB of address space the load must
    # still end in a ModelioError naming the layer, never a raw MemoryError.
    document = sequential(plain_entry("InputLayer", batch_shape=[None, 10**6], name="wide"),
                          plain_entry("Dense", name="big_dense", units=1000))
    outcome = _run_in_child({"kind": "config", "document": document})
    assert outcome["result"] == "modelio", outcome
    assert "'big_dense'" in outcome["message"]


def test_repeat_vector_with_absurd_repeat_count_is_refused_before_allocating():
    # RepeatVector(n=10**12) yields a (None, 10**12, 4) tensor: an absurd dimension that
    # InputLayer would refuse. Loading it and predicting on two samples must not reach numpy.
    document = single_layer_model("RepeatVector", n=10**12)
    outcome = _run_in_child({"kind": "config", "document": document, "predict_shape": [2, 4]})
    assert outcome["result"] == "modelio", outcome
    assert "'layer_1'" in outcome["message"]


# ------------------------------------------------------------------------------------------------
# 11. Files: load_model
# ------------------------------------------------------------------------------------------------

MLP_TEXT = (FIXTURES / "keras3" / "mlp.json").read_text()
BAD_FILES = {
    "truncated.json": MLP_TEXT[: len(MLP_TEXT) // 2],
    "empty.json": "",
    "whitespace.json": "   \n\t ",
    "binary.json": bytes(range(256)) * 4,
    "nul_bytes.json": b"\x00" * 64,
    "utf16.json": MLP_TEXT.encode("utf-16"),
    "bom.json": "\ufeff" + MLP_TEXT,
    "garbage.json": "{{{ not json ]]]",
    "list.json": "[1, 2, 3]",
    "null.json": "null",
    "truncated.yaml": "class_name: Functional\nconfig: {name: m, layers: [",
    "empty.yaml": "",
    "binary.yaml": bytes(range(256)) * 4,
    "tabs.yaml": "\t\t",
    "scalar.yml": "just a string",
}


@pytest.mark.parametrize("filename", list(BAD_FILES))
def test_load_model_refuses_malformed_file_with_format_error_naming_it(filename, tmp_path):
    path = tmp_path / filename
    content = BAD_FILES[filename]
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    error = expect(FormatError, modelio.load_model, path)
    assert str(path) in str(error)


def test_load_model_directory_is_format_error(tmp_path):
    path = tmp_path / "model.json"
    path.mkdir()
    error = expect(FormatError, modelio.load_model, path)
    assert str(path) in str(error) and "directory" in str(error)


@pytest.mark.parametrize("as_string", [False, True])
def test_load_model_missing_file_is_format_error(as_string, tmp_path):
    path = tmp_path / "absent.json"
    error = expect(FormatError, modelio.load_model, str(path) if as_string else path)
    assert str(path) in str(error)


def test_load_model_path_through_a_regular_file_is_format_error(tmp_path):
    parent = tmp_path / "file.json"
    parent.write_text(MLP_TEXT)
    expect(FormatError, modelio.load_model, parent / "child.json")


def test_load_model_symlink_loop_is_format_error(tmp_path):
    first, second = tmp_path / "loop1.json", tmp_path / "loop2.json"
    first.symlink_to(second)
    second.symlink_to(first)
    expect(FormatError, modelio.load_model, first)


@pytest.mark.parametrize("filename", ["model.txt", "model.pkl", "model", "model.json.bak",
                                      "model.pt", "model.npz"])
def test_load_model_unknown_extension_is_format_error(filename, tmp_path):
    path = tmp_path / filename
    path.write_text(MLP_TEXT)
    error = expect(FormatError, modelio.load_model, path)
    assert str(path) in str(error) and ".json" in str(error)


@pytest.mark.parametrize("suffix", [".h5", ".hdf5", ".keras", ".onnx", ".H5"])
def test_load_model_of_a_missing_binary_model_file_is_format_error(suffix, tmp_path):
    path = tmp_path / f"model{suffix}"
    error = expect(FormatError, modelio.load_model, path)
    assert str(path) in str(error) and "no such file" in str(error)


@pytest.mark.parametrize("suffix,content,expected", [
    (".h5", b"PK\x03\x04" + bytes(64), "not an HDF5 file"),
    (".hdf5", b"garbage" * 10, "not an HDF5 file"),
    (".H5", bytes(64), "not an HDF5 file"),
    (".keras", b"\x89HDF\r\n\x1a\n" + bytes(64), "not a zip"),
    (".keras", b"garbage" * 10, "not a zip"),
])
def test_load_model_checks_the_bytes_match_the_extension(suffix, content, expected, tmp_path):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(content)
    error = expect(FormatError, modelio.load_model, path)
    assert str(path) in str(error) and expected in str(error)


def test_load_model_of_onnx_is_not_supported_yet(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x08\x07")
    error = expect(UnsupportedError, modelio.load_model, path)
    assert str(path) in str(error)


@pytest.mark.parametrize("name", ["a" * 300 + ".json", "nul\x00byte.json"],
                         ids=["name_too_long", "embedded_nul"])
def test_load_model_path_the_os_refuses_is_format_error(name, tmp_path):
    expect(FormatError, modelio.load_model, str(tmp_path) + os.sep + name)


def test_load_model_of_fifo_does_not_block(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    path = tmp_path / "model.json"
    os.mkfifo(path)
    expect(FormatError, modelio.load_model, path, seconds=2)


def test_load_model_of_endless_device_is_format_error_not_memory_error(tmp_path):
    # A `.json` name that points at /dev/zero: st_size is 0, so a size check on stat alone
    # does not stop an endless read.
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    path = tmp_path / "model.json"
    path.symlink_to("/dev/zero")
    outcome = _run_in_child({"kind": "path", "path": str(path)}, timeout=20)
    assert outcome["result"] == "modelio", outcome
    assert outcome["type"] == "FormatError"


# ------------------------------------------------------------------------------------------------
# 12. Deep nesting
# ------------------------------------------------------------------------------------------------

DEEP = 100_000
DEEP_TEXTS = {
    "lists": "[" * DEEP + "]" * DEEP,
    "objects": '{"a":' * DEEP + "1" + "}" * DEEP,
    "inside_layer_config": ('{"class_name": "Dense", "config": {"name": "deep", "units": '
                            + "[" * DEEP + "]" * DEEP + "}}"),
    "unclosed": "[" * DEEP,
}


@pytest.mark.parametrize("kind", list(DEEP_TEXTS))
def test_deeply_nested_json_is_refused_without_recursion_error(kind):
    expect(ModelioError, modelio.model_from_json, DEEP_TEXTS[kind], seconds=5)


DEEP_YAML = {
    "flow_lists": "[" * 10_000 + "]" * 10_000,
    "block_mappings": "".join("  " * depth + "a:\n" for depth in range(3_000)),
}


@pytest.mark.parametrize("kind", list(DEEP_YAML))
def test_deeply_nested_yaml_is_refused_without_recursion_error(kind):
    expect(ModelioError, modelio.model_from_yaml, DEEP_YAML[kind], seconds=5)


def test_deeply_nested_json_file_is_refused_by_load_model(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text(DEEP_TEXTS["objects"])
    error = expect(ModelioError, modelio.load_model, path, seconds=5)
    assert str(path) in str(error)


def test_nesting_just_over_the_limit_is_config_error():
    text = ('{"class_name": "Dense", "config": {"name": "deep", "units": '
            + "[" * 500 + "]" * 500 + "}}")
    error = expect(ConfigError, modelio.model_from_json, text)
    assert "nest" in str(error)


def test_models_nested_hundreds_deep_are_refused_without_recursion_error():
    document = sequential(plain_entry("InputLayer", batch_shape=[None, 2], name="in_0"),
                          plain_entry("Dense", name="dense_0", units=2), name="stack_0")
    for depth in range(1, 400):
        document = sequential(plain_entry("InputLayer", batch_shape=[None, 2], name=f"in_{depth}"),
                              document, name=f"stack_{depth}")
    # (no deepcopy here: copying 1200 levels would itself overflow the stack)
    error = expect(ModelioError, modelio.model_from_config, document, seconds=5)
    assert "nest" in str(error)


# ------------------------------------------------------------------------------------------------
# Configs that load but then cannot run must still fail as ModelioError (load or first predict)
# ------------------------------------------------------------------------------------------------


def test_extra_positional_argument_in_inbound_node_is_modelio_error():
    document = dense_model()
    document["config"]["layers"][1]["inbound_nodes"] = [
        {"args": [keras_tensor("features"), keras_tensor("features")], "kwargs": {}}]
    error = expect(ModelioError, load_and_predict, document)
    assert "'hidden_1'" in str(error)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("class_name,config", [("Dense", {"units": 3}), ("Flatten", {}),
                                               ("Dropout", {"rate": 0.1})])
def test_unknown_call_keyword_in_inbound_node_is_modelio_error(dialect, class_name, config):
    entry = layer_entry(class_name, "layer_1",
                        [call_node(dialect, ("features", 0, 0), bogus_option=1)], **config)
    document = functional([input_entry(dialect=dialect), entry], outputs=[("layer_1", 0, 0)],
                          dialect=dialect)
    error = expect(ModelioError, load_and_predict, document)
    assert "'layer_1'" in str(error) and "bogus_option" in str(error)


@pytest.mark.parametrize("mask", ["x", {"a": 1}, [1, 2, 3]], ids=repr)
def test_mask_argument_that_is_not_a_tensor_is_modelio_error(mask):
    document = single_layer_model("Softmax", kwargs={"mask": mask})
    error = expect(ModelioError, load_and_predict, document)
    assert "'layer_1'" in str(error)


def test_shared_layer_called_on_incompatible_shape_is_modelio_error():
    shared = layer_entry("Dense", "shared_dense", [call_node("keras3", ("left", 0, 0)),
                                                   call_node("keras3", ("right", 0, 0))], units=2)
    document = functional([input_entry("left", (None, 5)), input_entry("right", (None, 3)), shared],
                          inputs=[("left", 0, 0), ("right", 0, 0)],
                          outputs=[("shared_dense", 0, 0), ("shared_dense", 1, 0)])
    error = expect(ModelioError, load_and_predict, document)
    assert "'shared_dense'" in str(error)


@pytest.mark.parametrize("axis", [5, -7, [1, [1]], [1, 9]], ids=repr)
def test_softmax_axis_outside_input_rank_is_modelio_error(axis):
    error = expect(ModelioError, load_and_predict, single_layer_model("Softmax", axis=axis))
    assert "'layer_1'" in str(error)


# ------------------------------------------------------------------------------------------------
# 13. Mutated real Keras fixtures: success or ModelioError, never anything else
# ------------------------------------------------------------------------------------------------

WRONG_VALUES = [None, -1, 0, 1.5, "x", "", [], {}, True, [None], {"a": 1}, 10**12,
                ["features", 0, 0], [-1], "keras", {"class_name": "Lambda", "config": {}}]


@functools.cache
def _fixture_text(dialect: str, name: str) -> str:
    return (FIXTURES / dialect / f"{name}.json").read_text()


@functools.cache
def _fixture_paths(dialect: str, name: str) -> tuple:
    """Every (key or index) path inside a fixture document."""
    found, stack = [], [((), fixture_document(dialect, name))]
    while stack:
        prefix, item = stack.pop()
        children = item.items() if isinstance(item, dict) else (
            enumerate(item) if isinstance(item, list) else ())
        for key, value in children:
            found.append(prefix + (key,))
            stack.append((prefix + (key,), value))
    return tuple(sorted(found, key=repr))


def _mutated(dialect: str, name: str, path: tuple, action: str, value=None) -> dict:
    document = fixture_document(dialect, name)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if action == "drop":
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(value)
    return document


def _outcome_of(loader, argument) -> str | None:
    """None when `loader(argument)` succeeds or raises ModelioError, else a description."""
    modelio.clear_session()
    try:
        with deadline(5):
            loader(argument)
    except ModelioError:
        return None
    except Exception as exc:  # the bug being looked for: anything else escaping
        return f"{type(exc).__name__}: {exc}"
    return None


def test_truncated_fixture_text_is_refused_with_format_error():
    failures = []
    for dialect, name in CASES:
        text = _fixture_text(dialect, name)
        for offset in sorted({1, 2, 10, len(text) // 7, len(text) // 3, len(text) // 2,
                              2 * len(text) // 3, len(text) - 2, len(text) - 1}):
            # (pure-Python YAML is slow on long prefixes: YAML reads only the shorter ones)
            loaders = [modelio.model_from_json] + (
                [modelio.model_from_yaml] if offset <= len(text) // 3 else [])
            for loader in loaders:
                modelio.clear_session()
                try:
                    loader(text[:offset])
                except FormatError:
                    continue
                except BaseException as exc:
                    failures.append((dialect, name, offset, loader.__name__, repr(exc)[:200]))
                else:
                    failures.append((dialect, name, offset, loader.__name__, "loaded"))
    assert failures == [], failures[:10]


def test_each_fixture_with_sampled_keys_dropped_or_retyped_loads_or_raises_modelio_error():
    rng = random.Random(20240611)
    failures = []
    for dialect, name in CASES:
        paths = _fixture_paths(dialect, name)
        for path in rng.sample(paths, min(12, len(paths))):
            problem = _outcome_of(load, _mutated(dialect, name, path, "drop"))
            if problem:
                failures.append((dialect, name, "drop", path, problem))
        for path in rng.sample(paths, min(12, len(paths))):
            value = rng.choice(WRONG_VALUES)
            problem = _outcome_of(load, _mutated(dialect, name, path, "replace", value))
            if problem:
                failures.append((dialect, name, "replace", path, value, problem))
    assert failures == [], failures[:10]


def test_each_fixture_layer_missing_a_required_key_raises_modelio_error():
    required = ["class_name", "config", "inbound_nodes"]
    failures = []
    for dialect, name in CASES:
        document = fixture_document(dialect, name)
        if document["class_name"] == "Sequential":
            continue
        for index in range(len(document["config"]["layers"])):
            for key in required:
                mutated = fixture_document(dialect, name)
                entry = mutated["config"]["layers"][index]
                if key == "inbound_nodes" and not entry.get(key):
                    continue  # input layers have no nodes to lose
                del entry[key]
                modelio.clear_session()
                try:
                    modelio.model_from_config(mutated)
                except ModelioError:
                    continue
                except Exception as exc:
                    failures.append((dialect, name, index, key, repr(exc)[:200]))
                else:
                    failures.append((dialect, name, index, key, "loaded"))
    assert failures == [], failures[:10]


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(case=st.sampled_from(CASES), pick=st.integers(min_value=0, max_value=10**6),
       action=st.sampled_from(["drop", "replace"]), value=st.sampled_from(WRONG_VALUES))
def test_hypothesis_mutated_fixture_loads_or_raises_modelio_error(case, pick, action, value):
    dialect, name = case
    paths = _fixture_paths(dialect, name)
    path = paths[pick % len(paths)]
    problem = _outcome_of(load, _mutated(dialect, name, path, action, value))
    assert problem is None, (dialect, name, action, path, value, problem)


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(case=st.sampled_from(CASES), data=st.data())
def test_hypothesis_spliced_fixture_text_loads_or_raises_modelio_error(case, data):
    text = _fixture_text(*case)
    start = data.draw(st.integers(min_value=0, max_value=len(text)))
    stop = data.draw(st.integers(min_value=start, max_value=min(len(text), start + 40)))
    insert = data.draw(st.sampled_from(["", "null", "[", "}", "-1", '"x"', "\x00", "1e999",
                                        "&a", "*a", "!!python/name:os.system"]))
    spliced = text[:start] + insert + text[stop:]
    for loader in (modelio.model_from_json, modelio.model_from_yaml):
        problem = _outcome_of(loader, spliced)
        assert problem is None, (case, start, stop, insert, loader.__name__, problem)


def test_yaml_written_for_a_config_that_repeats_an_object_has_no_aliases():
    import modelio
    from modelio import layers as modelio_layers

    x = modelio.Input((3,))
    model = modelio.Model(x, modelio_layers.Dense(2)(x))
    shared = {"class_name": "Zeros", "config": {}}
    model.layers[1].kernel_initializer = model.layers[1].bias_initializer = shared
    text = model.to_yaml()
    assert "&id" not in text and "*id" not in text
    assert modelio.model_from_yaml(text).get_config() == model.get_config()
