"""Bad YAML, bad files, absurd sizes, deep nesting and mutated real fixtures are refused with a
clear ModelioError, and nothing else. Loaders that could exhaust memory or block run in a child
process with limits (see config_safety_support._run_in_child)."""

import contextlib
import copy
import functools
import os
import random
import tracemalloc
from pathlib import Path

import pytest
from config_safety_support import (
    DIALECTS,
    _run_in_child,
    call_node,
    deadline,
    dense_entry,
    dense_model,
    expect,
    functional,
    input_entry,
    keras_tensor,
    layer_entry,
    load,
    load_and_predict,
    plain_entry,
    sequential,
    single_layer_model,
)
from fixture_models import CASES, FIXTURES, fixture_document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import modelio
from modelio import (
    ConfigError,
    FormatError,
    ModelioError,
    UnsafeContentError,
)

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


@pytest.mark.parametrize("content", [b"\x08\x07", b"", b"\xff" * 64, b"PK\x03\x04junk"],
                         ids=["header_only", "empty", "garbage", "a_zip"])
def test_load_model_of_a_broken_onnx_file_is_a_modelio_error_naming_it(tmp_path, content):
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    error = expect(ModelioError, modelio.load_model, path)
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
