"""More `keras.ops.numpy` operations (the numpy_more group) against real Keras 3.15.1.

Each case of fixtures/keras3/ops_numpy_more_cases.npz (tools/ops_numpy_more_fixtures.py, torch
backend) holds a tiny functional model's config, inputs and Keras's outputs: modelio rebuilds it
from Keras's config, matches Keras's outputs, writes the same config back, exports it to ONNX
and matches in onnxruntime. `imag` and `cross_axis` cannot run under Keras's torch backend;
they are recorded with the TensorFlow backend (ops_numpy_more_cases_tf.npz) and matched there.
Histogram's recorded outputs are those of `keras.ops.histogram` (Keras's Histogram node calls a
backend function no backend has; see the generator). Never imports Keras.
"""

from pathlib import Path

import numpy as np
import pytest
from case_archive import load_case_archive
from keras_op_cases import case_inputs, case_outputs, check_op_case, predict_list

import modelio
from modelio import ops
from modelio.errors import ModelioError, UnsupportedError
from modelio.graph.registry import OPERATION_CLASSES

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "keras3" / "ops_numpy_more_cases.npz"
BUFFERS, DOCUMENT = load_case_archive(FIXTURE)
TF_BUFFERS, TF_DOCUMENT = load_case_archive(FIXTURE.with_name("ops_numpy_more_cases_tf.npz"))
CASES = {case["name"]: case for case in DOCUMENT["cases"] if "config" in case}
TF_CASES = {case["name"]: case for case in TF_DOCUMENT["cases"] if "config" in case}

OPSETS = {"view": 26, "view_narrower": 26, "view_int": 26, "view_wider": 26, "view_bool": 26}  # BitCast
UNSPECIFIED = {"empty_like"}  # torch.empty_like: the contents are whatever memory held
# refused by name: Argpartition orders each partition by torch.topk's unspecified tie order (of
# inputs Keras truncates to int32); Unique and Bincount have data-dependent lengths
REFUSED = {"argpartition": "Argpartition", "unique": "Unique", "bincount": "Bincount"}
# Keras itself cannot build or run these under torch (the record holds its error)
KERAS_FAILS = {
    "arange": "KerasTensor",  # Arange's shape rule converts its symbolic arguments to numbers
    "nonzero": "not connected",  # Keras cannot build the model of nonzero's outputs
    "linspace_axis": "axis",  # torch's linspace has no axis (modelio refuses it too)
    "cross_axis": "axisa",  # recorded with TensorFlow instead
    "imag": "non-complex",  # recorded with TensorFlow instead
}
MATCHED = sorted(set(CASES) - UNSPECIFIED - set(REFUSED))


@pytest.mark.parametrize("name", MATCHED)
def test_case_matches_keras_and_onnxruntime(name):
    check_op_case(BUFFERS, CASES[name], opset=OPSETS.get(name))


@pytest.mark.parametrize("name", sorted(TF_CASES))
def test_case_torch_cannot_run_matches_keras_tensorflow_backend(name):
    assert TF_DOCUMENT["backend"] == "tensorflow"
    check_op_case(TF_BUFFERS, TF_CASES[name])


def test_empty_like_has_keras_shapes_and_dtypes():
    case = CASES["empty_like"]
    model = modelio.Model.from_config(case["config"])
    outputs = predict_list(model, case_inputs(BUFFERS, case))
    assert [(o.shape, o.dtype) for o in outputs] == \
        [(o.shape, o.dtype) for o in case_outputs(BUFFERS, case)]
    proto = modelio.export_onnx(model)
    assert [node.op_type for node in proto.graph.node].count("ConstantOfShape") == 2


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_operations_are_named(name):
    with pytest.raises(UnsupportedError, match=REFUSED[name]):
        modelio.Model.from_config(CASES[name]["config"])


def test_every_recorded_case_is_checked():
    recorded = {case["name"]: case for case in DOCUMENT["cases"]}
    assert set(recorded) == set(MATCHED) | UNSPECIFIED | set(REFUSED) | set(KERAS_FAILS)
    for name, fragment in KERAS_FAILS.items():
        assert fragment in recorded[name]["keras_error"], name
    assert set(TF_CASES) == {"imag", "cross_axis"}
    classes = {entry["class_name"] for case in CASES.values() for entry in case["config"]["layers"]}
    added = {"AllClose", "Angle", "Array", "Corrcoef", "Correlate", "Cross", "Diagflat",
             "Digitize", "EmptyLike", "Full", "Geomspace", "Histogram", "I0", "Linspace",
             "Logspace", "Meshgrid", "Nancumprod", "Nanmedian", "Nanpercentile", "Nanquantile",
             "Ndim", "Nextafter", "SearchSorted", "Size", "Trapezoid", "UnravelIndex", "Vander",
             "View"}
    assert added <= classes
    assert added | {"Imag"} <= set(OPERATION_CLASSES)


@pytest.mark.parametrize("make", [
    lambda: ops.Histogram(bins=0),
    lambda: ops.Histogram(range=[2.0, 1.0]),
    lambda: ops.Full(shape=[-1, 2]),
    lambda: ops.Full(shape=[1 << 20, 1 << 20]),
    lambda: ops.Correlate(mode="circular"),
    lambda: ops.Vander(N=-1),
    lambda: ops.UnravelIndex(shape=[]),
    lambda: ops.Trapezoid(x="points"),
    lambda: ops.Linspace(axis=1),
    lambda: ops.Linspace(retstep=True),
    lambda: ops.Linspace(dtype="int32"),
    lambda: ops.Nanquantile(method="spline"),
    lambda: ops.Meshgrid(indexing="zz"),
    lambda: ops.View(dtype="no-such-dtype"),
    lambda: ops.AllClose(rtol="tight"),
    lambda: ops.Cross(axis=1.5),
    lambda: ops.Full(shape=[10**6, 10**6]),
])
def test_bad_arguments_are_config_errors_naming_the_operation(make):
    with pytest.raises(ModelioError, match=r"\(\w+\)"):
        make()


@pytest.mark.parametrize("op, arguments", [
    (ops.Correlate(), (np.ones((2, 2), "float32"), np.ones(3, "float32"))),
    (ops.Cross(), (np.ones((2, 2), "float32"), np.ones((2, 2), "float32"))),
    (ops.Histogram(), (np.arange(4, dtype="int32"),)),
    (ops.Histogram(), (np.array([0.0, np.nan], "float32"),)),
    (ops.Full(shape=[2, 3]), (np.asarray(1, "int32"),)),
    (ops.Full(shape=[2, 3], dtype="float32"), (np.ones(2, "float32"),)),
    (ops.Nanquantile(), (np.ones(3, "float32"), 1.5)),
    (ops.Nanquantile(), (np.ones(3, "float32"), [[0.5]])),
    (ops.View(dtype="float64"), (np.ones(3, "float32"),)),
    (ops.Vander(), (np.ones((2, 2), "float32"),)),
    (ops.Meshgrid(), (np.ones(2, "float32"), np.ones(2, "int32"))),
    (ops.Trapezoid(x=[0.0, 1.0]), (np.ones((2, 3), "float32"),)),
    (ops.UnravelIndex(shape=[2, 2]), (np.ones(2, "float32"),)),
    (ops.Corrcoef(), (np.ones((2, 2, 2), "float32"),)),
    # results beyond modelio's runtime limit are refused before they are allocated
    (ops.Diagflat(), (np.ones(100_000, "float32"),)),
    (ops.Linspace(num=10**10), (np.zeros(1, "float32"), np.ones(1, "float32"))),
    (ops.Histogram(bins=10**10), (np.ones(3, "float32"),)),
    (ops.Vander(N=10**10), (np.ones(3, "float32"),)),
    (ops.Meshgrid(), (np.ones(3000, "float32"),) * 3),
])
def test_bad_operands_are_errors_naming_the_operation(op, arguments):
    with pytest.raises(ModelioError, match=type(op).__name__):
        op(*arguments)


def test_onnx_refusals_name_the_operation_and_why():
    x = modelio.Input((3,), dtype="float64")
    model = modelio.Model(x, ops.Nextafter()(x, x))
    with pytest.raises(UnsupportedError, match="Nextafter.*float64"):
        modelio.export_onnx(model)
    view = modelio.Model.from_config(CASES["view"]["config"])
    with pytest.raises(UnsupportedError, match="View.*opset 26"):
        modelio.export_onnx(view, opset=25)
    # with no opset asked for, the export rises to the opset BitCast needs
    assert modelio.export_onnx(view).opset_import[0].version == 26


def test_eager_calls_match_numpy():
    x = np.array([[0.5, -1.0, np.nan], [2.0, 0.0, -0.0]], "float32")
    assert ops.Angle()(x).tolist()[0][:2] == [0.0, np.float32(np.pi)]
    np.testing.assert_array_equal(ops.Digitize()(x, np.array([0.0, 1.0], "float32")),
                                  np.digitize(x, [0.0, 1.0]))
    rows = np.array([[3.0, np.nan, 1.0, 2.0], [np.nan] * 4], "float32")
    np.testing.assert_allclose(ops.Nanquantile(axis=1)(rows, [0.25, 0.5]),
                               [[1.5, np.nan], [2.0, np.nan]])
    counts, edges = ops.Histogram(bins=3)(np.array([0.0, 1.0, 1.0, 3.0], "float32"))
    assert counts.tolist() == [1, 2, 1] and edges.tolist() == [0, 1, 2, 3]
