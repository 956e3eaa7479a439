"""Shared builders and guards for the bad-config tests (tests/formats/test_*_safety.py):
hand-written minimal documents in both Keras dialects, a deadline against hangs, a fixture that
blocks and records any attempt to run code, and a child-process runner with a memory limit."""

import builtins
import contextlib
import copy
import importlib
import json
import marshal
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import modelio

REPO = Path(__file__).resolve().parents[1]
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
                        "modelio.formats.config", "modelio.saving")


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


# Kinds of request: "path" (load_model(path)), "hdf5_tree" (the isolated HDF5 reader on `path`),
# "text" (the function `loader` of modelio, e.g. model_from_yaml, on the text of `path`), "cli"
# (modelio's command line with `argv`: the outcome is {"result": "exit", "type": exit status,
# "message": stderr}), else "config" (model_from_config of `document`, then a predict on zeros of
# `predict_shape` when given).
_CHILD_SCRIPT = r"""
import contextlib, io, json, resource, sys
import numpy as np
import modelio
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run(request):
    if request["kind"] == "path":
        model = modelio.load_model(request["path"])
        if request.get("inputs") is not None:  # [[values, dtype], ...], one per model input
            arrays = [np.asarray(values, dtype) for values, dtype in request["inputs"]]
            model.predict(arrays if len(arrays) > 1 else arrays[0])
    elif request["kind"] == "hdf5_tree":
        from modelio.formats import hdf5_isolated
        hdf5_isolated.BASE_SECONDS = request.get("seconds", hdf5_isolated.BASE_SECONDS)
        hdf5_isolated.read_hdf5_tree(request["path"])
    elif request["kind"] == "text":
        with open(request["path"], encoding="utf-8") as handle:
            getattr(modelio, request["loader"])(handle.read(), source=request["path"])
    elif request["kind"] == "cli":
        from modelio.cli import main
        errors = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(errors):
            status = main(request["argv"])
        return {"result": "exit", "type": str(status), "message": errors.getvalue()}
    else:
        model = modelio.model_from_config(request["document"])
        if request.get("predict_shape"):
            model.predict(np.zeros(request["predict_shape"], "float32"))
    return None


def outcome_of(request):
    try:
        outcome = run(request)
    except modelio.ModelioError as exc:
        return {"result": "modelio", "type": type(exc).__name__, "message": str(exc)}
    except BaseException as exc:
        return {"result": "other", "type": type(exc).__name__, "message": str(exc)[:300]}
    return outcome or {"result": "ok", "type": "", "message": ""}


request = json.load(sys.stdin)
if request["kind"] == "batch":
    print(json.dumps([outcome_of(item) for item in request["requests"]]))
else:
    print(json.dumps(outcome_of(request)))
"""


def _run_in_child(request: dict, memory_limit=768 * 1024**2, timeout=30.0) -> dict | list:
    """Run a load in a child process under an address-space limit and a wall-clock limit.

    `request`: {"kind": "path", "path": ...} loads a file (with "inputs": [[values, dtype], ...]
    it then predicts on those arrays); {"kind": "hdf5_tree", "path": ...} reads an HDF5 file's
    tree in isolation; {"kind": "text", "path": ..., "loader": ...} parses a text config with
    modelio.<loader>; {"kind": "cli", "argv": [...]} runs the CLI (result "exit", type its
    status, message its stderr); {"kind": "config", "document": ...} builds a config (with
    "predict_shape" it predicts on zeros); {"kind": "batch", "requests": [...]} runs several
    in one child and returns a list. Returns {"result": "ok" | "modelio" | "other" | "hang" |
    "crash", "type": ..., "message": ...} (for a batch that hangs or crashes, that outcome for
    each request)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("needs Linux address-space limits")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD_SCRIPT, str(memory_limit)],
                              input=json.dumps(request), capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=str(REPO))
    except subprocess.TimeoutExpired:
        failure = {"result": "hang", "type": "timeout", "message": f"no answer within {timeout} s"}
    else:
        lines = done.stdout.strip().splitlines()
        if lines:
            return json.loads(lines[-1])
        failure = {"result": "crash", "type": f"exit {done.returncode}",
                   "message": done.stderr[-500:]}
    return [failure] * len(request["requests"]) if request["kind"] == "batch" else failure
