"""keras.ops math, scatter and factorization operations (CDist, Erfinv, ExtractSequences, the
segment reductions, Scatter, ScatterUpdate, SliceUpdate, Lstsq, LuFactor, Qr, SVD) against real
Keras 3.15.1 (torch backend), from fixtures/keras3/ops_math_core_cases.npz written by
tools/ops_math_core_fixtures.py. Each case: modelio rebuilds the model from Keras's config,
matches Keras's outputs (1e-5), writes the same config back and, where ONNX can express the op,
matches in onnxruntime. Never imports Keras."""

import json
from pathlib import Path

import numpy as np
import pytest
from case_archive import load_case_archive
from keras_op_cases import (
    assert_config_written_back,
    assert_outputs_match,
    case_inputs,
    case_outputs,
    check_op_case,
    predict_list,
)

import modelio
from modelio import ops
from modelio.errors import ConfigError, ModelioError, UnsupportedError
from modelio.graph.registry import OPERATION_CLASSES
from modelio.kernels.linalg import lu_factor
from modelio.kernels.special import erf, erfinv

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "keras3" / "ops_math_core_cases.npz"
BUFFERS, DOCUMENT = load_case_archive(FIXTURE)
CASES = {case["name"]: case for case in DOCUMENT["cases"] if "config" in case}

# ScatterND's max/min reductions are ONNX opset 18
OPSETS = {"segment_max": 18, "segment_min": 18, "segment_sorted": 18, "segment_int": 18,
          "scatter_update_max": 18, "scatter_update_min": 18}
# no least-squares solver or SVD in ONNX: export refuses by name
NO_ONNX = {"lstsq", "lstsq_matrix_b", "lstsq_underdetermined", "lstsq_rcond", "svd_values"}
# refused when the model is built, the reason in the message
REFUSED = {
    "segment_sum_no_num_segments": "needs num_segments",  # data-dependent output shape
    "eigh": "Keras operation 'Eigh'",  # eigenvector signs depend on the LAPACK build
    "svd": "compute_uv",  # singular vector signs depend on the LAPACK build
}
MATCHED = sorted(set(CASES) - set(REFUSED))


@pytest.mark.parametrize("name", MATCHED)
def test_case_matches_keras_and_onnxruntime(name):
    case = CASES[name]
    if name not in NO_ONNX:
        check_op_case(BUFFERS, case, opset=OPSETS.get(name))
        return
    model = modelio.Model.from_config(case["config"])
    assert_outputs_match(predict_list(model, case_inputs(BUFFERS, case)),
                         case_outputs(BUFFERS, case))
    assert_config_written_back(model, case)
    with pytest.raises(UnsupportedError, match="ONNX has no matrix factorizations"):
        modelio.export_onnx(model)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_case_names_the_reason(name):
    with pytest.raises(UnsupportedError, match=REFUSED[name]):
        modelio.Model.from_config(CASES[name]["config"])


def test_every_recorded_case_is_checked():
    assert set(CASES) == set(MATCHED) | set(REFUSED)
    assert all("config" in case for case in DOCUMENT["cases"])
    assert "Eigh" not in OPERATION_CLASSES
    # SegmentReduction is only the base class: keras.ops records its subclasses
    recorded = {name for case in CASES.values() for _, name in case["ops"]}
    assert "SegmentReduction" not in recorded and "SegmentReduction" not in OPERATION_CLASSES


@pytest.mark.parametrize("class_name, why", [
    *[(name, "Python function") for name in ("Map", "Scan", "Cond", "ForiLoop", "WhileLoop",
                                             "AssociativeScan", "VectorizedMap", "Switch")],
    ("Eigh", "signs depend on the LAPACK"), ("Eig", "complex"), ("SegmentReduction", "base")])
def test_refused_operations_name_why(class_name, why):
    """As Keras writes them (Map, Scan, AssociativeScan, VectorizedMap, Switch store their
    function as `__lambda__` bytecode among the call arguments; ForiLoop and WhileLoop cannot
    even be serialized by Keras; Cond with a Python condition records no node)."""
    config = json.loads(json.dumps(CASES["erfinv"]["config"]))
    entry = next(entry for entry in config["layers"] if entry["class_name"] == "Erfinv")
    entry["class_name"] = entry["registered_name"] = class_name
    entry["inbound_nodes"][0]["args"].insert(0, {"class_name": "__lambda__", "config": {
        "value": ["4wEAAAAA", None, None], "module": "__main__"}})
    with pytest.raises(UnsupportedError, match=f"Keras operation '{class_name}'.*{why}"):
        modelio.Model.from_config(config)


@pytest.mark.parametrize("name", ["segment_max", "scatter_update_min"])
def test_max_min_reductions_need_opset_18(name):
    model = modelio.Model.from_config(CASES[name]["config"])
    with pytest.raises(UnsupportedError, match="needs opset 18"):
        modelio.export_onnx(model, opset=17)


def test_erfinv_kernel_inverts_erf_in_the_tails():
    y = np.concatenate([np.linspace(-0.999, 0.999, 2001), 1 - np.logspace(-15, -3, 50),
                        -1 + np.logspace(-15, -3, 50), [1e-300, -1e-20]])
    x = erfinv(y)
    assert np.isfinite(x).all()
    # the Newton correction still to make, relative to x: the error of x itself
    correction = (erf(x) - y) / (2 / np.sqrt(np.pi) * np.exp(-x * x))
    assert np.max(np.abs(correction) / np.abs(x)) < 1e-13
    edges = erfinv(np.array([1.0, -1.0, 1.5, -2.0, np.nan], np.float32))
    assert edges.dtype == np.float32
    np.testing.assert_array_equal(edges, [np.inf, -np.inf, np.nan, np.nan, np.nan])


def test_lu_factor_kernel_reconstructs_the_batch():
    x = np.random.default_rng(0).normal(size=(3, 2, 5, 4))
    lu, pivots = lu_factor(x)
    assert lu.shape == x.shape and pivots.shape == (3, 2, 4) and pivots.dtype == np.int32
    lower = np.tril(lu, -1)[..., :, :4] + np.eye(5, 4)
    product = lower @ np.triu(lu)[..., :4, :]
    rows = np.broadcast_to(np.arange(5), (3, 2, 5)).copy()
    for step in range(4):  # apply the recorded swaps to the row order
        swapped = np.take_along_axis(rows, pivots[..., step:step + 1], -1)
        np.put_along_axis(rows, pivots[..., step:step + 1], rows[..., step:step + 1], -1)
        rows[..., step:step + 1] = swapped
    np.testing.assert_allclose(product, np.take_along_axis(x, rows[..., None], -2), atol=1e-12)
    assert np.all(np.abs(np.tril(lu, -1)) <= 1)  # partial pivoting bounds the multipliers


def _run(op, *inputs):
    symbols = [modelio.Input(np.shape(value)[1:], dtype=np.asarray(value).dtype.name)
               for value in inputs]
    model = modelio.Model(symbols, op(*symbols))
    return model.predict(list(inputs) if len(inputs) > 1 else inputs[0])


@pytest.mark.parametrize("make, match", [
    (lambda: ops.ExtractSequences(sequence_length=0, sequence_stride=1), "sequence_length"),
    (lambda: ops.ExtractSequences(sequence_length=2, sequence_stride="1"), "sequence_stride"),
    (lambda: ops.SegmentSum(num_segments=-1), "num_segments"),
    (lambda: ops.SegmentMax(num_segments=2.5), "num_segments"),
    (lambda: ops.SegmentMin(num_segments=3, sorted="yes"), "sorted"),
    (lambda: ops.ScatterUpdate(reduction="mean"), "reduction"),
    (lambda: ops.Scatter(shape=[2, -1]), "shape"),
    (lambda: ops.Scatter(shape=[2 ** 20, 2 ** 20]), "too large"),
    (lambda: ops.Qr(mode="r"), "mode"),
    (lambda: ops.Lstsq(rcond="small"), "rcond"),
    (lambda: ops.SVD(compute_uv=False, full_matrices=None), "full_matrices"),
])
def test_bad_arguments_are_config_errors_naming_the_op(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_segment_reduction_without_num_segments_is_refused():
    with pytest.raises(UnsupportedError, match="SegmentProd.*data"):
        ops.SegmentProd()


@pytest.mark.parametrize("op, inputs, match", [
    (lambda i, v: ops.Scatter(shape=[3, 3])(i, v),
     [np.array([[0, 3], [1, 1]]), np.ones(2, np.float32)], "out of range"),
    (lambda x, i, u: ops.ScatterUpdate()(x, i, u),
     [np.zeros((2, 3), np.float32), np.array([[0, -4], [1, 0]]), np.ones(2, np.float32)],
     "out of range"),
    (lambda x, u: ops.SliceUpdate()(x, [0, 3], u),
     [np.zeros((2, 4), np.float32), np.ones((2, 2), np.float32)], "leaves axis 1"),
    (lambda x: ops.LuFactor()(x), [np.ones((2, 3, 3), np.float32)], "singular"),
    (lambda x: ops.ExtractSequences(sequence_length=5, sequence_stride=1)(x),
     [np.ones((2, 3), np.float32)], "longer than"),
    (lambda a, b: ops.Lstsq()(a, b), [np.ones((2, 3), np.int32), np.ones(2, np.int32)], "float"),
])
def test_bad_inputs_are_modelio_errors_naming_the_op(op, inputs, match):
    with pytest.raises(ModelioError, match=match):
        _run(op, *inputs)


def test_export_needs_the_framed_axis_size():
    x = modelio.Input((None,))
    model = modelio.Model(x, ops.ExtractSequences(sequence_length=2, sequence_stride=1)(x))
    with pytest.raises(UnsupportedError, match="ExtractSequences.*known size"):
        modelio.export_onnx(model)
