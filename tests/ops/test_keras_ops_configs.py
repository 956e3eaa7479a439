"""Keras 3 operation entries modelio refuses: unknown operations by name, wrong or missing
arguments, malformed call arguments (GetItem keys, __numpy__ constants), shapes that do not fit;
and Keras's own ops_zoo.keras (many operations in one archive) loaded and exported."""

import copy
from pathlib import Path

import numpy as np
import pytest
from case_archive import load_case_archive
from ops_onnx import run_plain as run_onnx

import modelio
from modelio import ops
from modelio.errors import ConfigError, ModelioError, UnsupportedError

ROOT = Path(__file__).resolve().parents[2]
_, DOCUMENT = load_case_archive(ROOT / "fixtures" / "keras3" / "ops_cases.npz")
CASES = {case["name"]: case for case in DOCUMENT["cases"] if "config" in case}


def _config(name: str) -> dict:
    return copy.deepcopy(CASES[name]["config"])


def _entry(config: dict, class_name: str) -> dict:
    return next(entry for entry in config["layers"] if entry["class_name"] == class_name)


def test_unknown_keras_operation_is_refused_by_name():
    config = _config("relu")
    _entry(config, "Relu")["class_name"] = "Frobnicate"
    with pytest.raises(UnsupportedError, match="Keras operation 'Frobnicate'"):
        modelio.Model.from_config(config)


@pytest.mark.parametrize("case, class_name, change, message", [
    ("clip", "Clip", {"x_min": "low"}, "x_min must be a number"),
    ("transpose", "Transpose", {"axes": [0, 2, 2]}, "not a permutation"),
    ("reshape", "Reshape", {"newshape": [-1, -1, 6]}, "one -1"),
    ("split", "Split", {"indices_or_sections": 4}, "does not split into 4"),
    ("softmax", "Softmax", {"axis": "last"}, "axis must be an integer"),
    ("top_k", "TopK", {"k": 9}, "k=9 exceeds"),
    ("sum_axis", "Sum", {"axis": 5}, "axis"),
    ("resize_bilinear", "Resize", {"interpolation": "lanczos3"}, "interpolation must be one of"),
    ("einsum", "Einsum", {"subscripts": "bij,bjk->bikq"}, "subscripts|label"),
    ("max_initial", "Max", {"initial": "zero"}, "initial must be a number"),
    ("gelu", "Gelu", {"approximate": "yes"}, "approximate must be true or false"),
    ("pad", "Pad", {"mode": "sideways"}, "mode must be one of"),
    ("one_hot", "OneHot", {"sparse": True}, "sparse"),
])
def test_bad_operation_argument_is_refused_naming_the_operation(case, class_name, change,
                                                                message):
    config = _config(case)
    entry = _entry(config, class_name)
    entry["config"].update(change)
    with pytest.raises(ModelioError, match=message) as info:
        modelio.Model.from_config(config)
    assert entry["config"]["name"] in str(info.value)


def test_unknown_operation_argument_is_refused():
    config = _config("relu")
    _entry(config, "Relu")["config"]["slope"] = 0.1
    with pytest.raises(ConfigError, match="unknown argument.*slope"):
        modelio.Model.from_config(config)


def test_missing_required_operation_argument_is_refused():
    config = _config("reshape")
    del _entry(config, "Reshape")["config"]["newshape"]
    with pytest.raises(ConfigError, match="missing argument 'newshape'"):
        modelio.Model.from_config(config)


@pytest.mark.parametrize("key, message", [
    ([{"class_name": "__slice__", "config": {"start": 1.5, "stop": None, "step": None}}],
     "integers or null"),
    ([{"class_name": "__slice__", "config": {"start": 0, "stop": 2, "step": 0}}], "step is 0"),
    ([{"class_name": "__ellipsis__", "config": {}}, {"class_name": "__ellipsis__", "config": {}}],
     "one \\.\\.\\."),
    ([0, 0, 0, 0], "too many indices"),
    (["a"], "str keys"),
    ([{"class_name": "__slice__", "config": {"begin": 0}}], "malformed __slice__"),
])
def test_bad_getitem_key_is_refused(key, message):
    config = _config("getitem_slices")
    _entry(config, "GetItem")["inbound_nodes"][0]["args"][1] = key
    with pytest.raises(ModelioError, match=message):
        modelio.Model.from_config(config)


def test_getitem_index_out_of_range_is_refused():
    config = _config("getitem_int")
    _entry(config, "GetItem")["inbound_nodes"][0]["args"][1] = [
        {"class_name": "__slice__", "config": {"start": None, "stop": None, "step": None}}, 7]
    with pytest.raises(ConfigError, match="index 7 is out of range"):
        modelio.Model.from_config(config)


@pytest.mark.parametrize("constant, message", [
    ({"value": [1, 2], "dtype": "object"}, "dtype must be one of"),
    ({"value": [[1, 2], [3]], "dtype": "int64"}, "bad __numpy__ value"),
    ({"value": [1], "dtype": "int64", "code": "x"}, "malformed __numpy__"),
])
def test_bad_numpy_constant_is_refused(constant, message):
    config = _config("take")
    _entry(config, "Take")["inbound_nodes"][0]["args"][1] = {"class_name": "__numpy__",
                                                              "config": constant}
    with pytest.raises(ConfigError, match=message):
        modelio.Model.from_config(config)


def test_take_index_out_of_range_is_refused_at_run_time():
    config = _config("take")
    _entry(config, "Take")["inbound_nodes"][0]["args"][1]["config"]["value"] = [0, 9]
    model = modelio.Model.from_config(config)
    with pytest.raises(ConfigError, match="out of range"):
        model.predict(np.zeros((1, 3, 4), np.float32))


def test_matmul_of_mismatched_shapes_is_refused_when_the_graph_is_built():
    config = _config("matmul")
    _entry(config, "Matmul")["inbound_nodes"][0]["args"].reverse()
    with pytest.raises(ConfigError, match="inner dimensions differ"):
        modelio.Model.from_config(config)


def test_operations_without_onnx_export_are_refused_by_name():
    x = modelio.Input((3, 3))
    model = modelio.Model(x, ops.Inv()(x))
    with pytest.raises(UnsupportedError, match=r"operation 'inv' \(Inv\).*matrix inverse"):
        modelio.export_onnx(model)


def test_ops_built_in_modelio_write_keras_configs():
    x = modelio.Input((4, 6))
    y = ops.Softmax(axis=1)(ops.Matmul()(x, np.ones((6, 2), np.float32)))
    z = ops.GetItem()(y, (slice(None), slice(1, 3), None))
    config = modelio.Model(x, [y, z]).get_config()
    entries = {entry["class_name"]: entry for entry in config["layers"]}
    assert entries["Softmax"]["module"] == "keras.src.ops.nn"
    assert entries["Softmax"]["config"] == {"name": "softmax", "axis": 1}
    constant = entries["Matmul"]["inbound_nodes"][0]["args"][1]
    assert constant == {"class_name": "__numpy__",
                        "config": {"value": [[1.0] * 2] * 6, "dtype": "float32"}}
    key = entries["GetItem"]["inbound_nodes"][0]["args"][1]
    assert key == [{"class_name": "__slice__", "config": {"start": None, "stop": None,
                                                          "step": None}},
                   {"class_name": "__slice__", "config": {"start": 1, "stop": 3, "step": None}},
                   None]
    again = modelio.Model.from_config(config)
    data = np.random.default_rng(0).normal(size=(2, 4, 6)).astype(np.float32)
    for got, want in zip(again.predict(data), modelio.Model(x, [y, z]).predict(data)):
        np.testing.assert_array_equal(got, want)


def test_ops_zoo_written_by_keras_loads_matches_and_exports():
    model = modelio.load_model(ROOT / "fixtures" / "keras3_files" / "ops_zoo.keras")
    with np.load(ROOT / "fixtures" / "keras3_files" / "ops_zoo.npz") as arrays:
        inputs = [arrays["input:x"], arrays["input:image"]]
        expected = [arrays[f"output:{index}"] for index in range(5)]
    classes = {type(layer).__name__ for layer in model._operations}
    assert {"Matmul", "Transpose", "Where", "Erf", "GetItem", "Einsum", "Resize", "TopK",
            "TakeAlongAxis", "Split", "Max"} <= classes
    for got, want in zip(model.predict(inputs), expected):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    proto = modelio.export_onnx(model)
    feeds = {tensor.name: value for tensor, value in zip(proto.graph.input, inputs)}
    for got, want in zip(run_onnx(proto, feeds), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_every_operation_is_a_keras_class_under_its_keras_module_and_exports():
    from modelio.graph.registry import OPERATION_CLASSES
    from modelio.onnx import families  # noqa: F401 - registers the lowerings
    from modelio.onnx.registry import lowering_for

    keras_classes = {(f"keras.src.ops.{family}", name)
                     for family, names in DOCUMENT["keras_operations"].items() for name in names}
    assert len(keras_classes) == 333
    ours = {(cls._keras_module, name) for name, cls in OPERATION_CLASSES.items()}
    assert ours <= keras_classes
    assert len(ours) == 312
    for cls in OPERATION_CLASSES.values():
        assert lowering_for(cls.__new__(cls)) is not None, cls.__name__


def test_every_keras_operation_is_registered_or_refused_with_its_reason():
    from modelio.graph.registry import OPERATION_CLASSES
    from modelio.graph.serialization import REFUSED_OPERATIONS

    keras_names = {name for names in DOCUMENT["keras_operations"].values() for name in names}
    unregistered = keras_names - set(OPERATION_CLASSES)
    assert unregistered == set(REFUSED_OPERATIONS)
    config = _config("abs")
    entry = _entry(config, "Absolute")
    entry["class_name"] = "Unique"
    with pytest.raises(UnsupportedError, match="'Unique'.*not supported: it has a data-dependent"):
        modelio.Model.from_config(config)
