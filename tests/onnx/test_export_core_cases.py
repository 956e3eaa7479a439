"""ONNX export of EinsumDense, ReversibleEmbedding (both directions), GroupQueryAttention,
SpectralNormalization, adaptive pooling, the keras.applications classes and tf-keras's
LocallyConnected1D/2D, ThresholdedReLU, SyncBatchNormalization and experimental.EinsumDense: every
model of fixtures/{keras3,keras2}/core_cases.npz exported, run in onnxruntime and compared with
modelio's numpy result and with what Keras computed."""

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx_session import run_onnx

import modelio
from modelio import layers
from modelio.errors import UnsupportedError
from modelio.onnx.export import MAX_OPSET

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers"))
from core_cases import (  # noqa: E402
    KERAS2_CASES,
    KERAS3_CASES,
    as_list,
    case_inputs,
    expected_outputs,
    rebuild,
)

TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
CASES = [("keras3", case_id) for case_id in KERAS3_CASES] + [
    ("keras2", case_id) for case_id in KERAS2_CASES]


def onnx_inputs(proto, inputs: dict) -> dict:
    """The recorded inputs, cast to what the ONNX graph declares (integer tokens stay ints)."""
    types = {tensor.name: onnx.helper.tensor_dtype_to_np_dtype(tensor.type.tensor_type.elem_type)
             for tensor in proto.graph.input}
    return {name: np.asarray(value).astype(types[name]) for name, value in inputs.items()
            if name in types}


@pytest.mark.parametrize("dialect,case_id", CASES)
def test_exported_case_runs_in_onnxruntime_like_numpy_and_keras(dialect, case_id):
    case = (KERAS3_CASES if dialect == "keras3" else KERAS2_CASES)[case_id]
    model = rebuild(case)
    inputs = case_inputs(case)
    proto = modelio.export_onnx(model)
    onnx.checker.check_model(proto)
    got = run_onnx(proto, onnx_inputs(proto, inputs))
    wanted = as_list(model.predict(inputs))
    assert len(got) == len(wanted) == case["outputs"]
    for output, numpy_output, keras_output in zip(got, wanted, expected_outputs(case)):
        assert output.shape == numpy_output.shape
        np.testing.assert_allclose(output, numpy_output, **TOLERANCE)
        np.testing.assert_allclose(output, keras_output, **TOLERANCE)


@pytest.mark.parametrize("opset", [13, MAX_OPSET])
def test_mini_transformer_exports_at_the_lowest_and_newest_opsets(opset):
    case = KERAS3_CASES["mini_transformer"]
    model = rebuild(case)
    proto = modelio.export_onnx(model, opset=opset)
    (got,) = run_onnx(proto, onnx_inputs(proto, case_inputs(case)))
    np.testing.assert_allclose(got, expected_outputs(case)[0], **TOLERANCE)
    assert "Einsum" in {node.op_type for node in proto.graph.node}


def test_even_adaptive_pooling_is_one_pool_and_uneven_uses_no_pool():
    even = KERAS3_CASES["adaptive_max_2d_4x4_cf"]
    uneven = KERAS3_CASES["adaptive_average_2d_2x3_cl"]
    even_ops = {node.op_type for node in modelio.export_onnx(rebuild(even)).graph.node}
    uneven_ops = {node.op_type for node in modelio.export_onnx(rebuild(uneven)).graph.node}
    assert even_ops == {"MaxPool"}
    assert "AveragePool" not in uneven_ops and "MatMul" in uneven_ops


def test_adaptive_pooling_with_unknown_spatial_sizes_is_refused_at_export():
    x = modelio.Input((None, 3))
    model = modelio.Model(x, layers.AdaptiveAveragePooling1D(2, name="adaptive")(x))
    np.testing.assert_allclose(model.predict(np.ones((1, 5, 3), np.float32)), 1.0)
    with pytest.raises(UnsupportedError, match="adaptive.*known spatial sizes"):
        modelio.export_onnx(model)


def test_spectral_normalization_around_a_layer_without_lowering_is_refused_by_name():
    class Unlowered(layers.Dense):
        pass

    x = modelio.Input((3,))
    model = modelio.Model(x, layers.SpectralNormalization(Unlowered(2), name="sn")(x))
    from modelio.onnx import registry

    original = registry.LOWERINGS.pop(layers.Dense)
    try:
        with pytest.raises(UnsupportedError, match="'sn'.*SpectralNormalization around Unlowered"):
            modelio.export_onnx(model)
    finally:
        registry.LOWERINGS[layers.Dense] = original
