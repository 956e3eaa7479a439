"""ONNX export of quantized (int8, int4, float8) and LoRA-enabled Dense, EinsumDense and Embedding:
every case of fixtures/keras3_quantized/ exported, run in onnxruntime and compared with modelio's
numpy result and with what Keras 3.15.1 computed (see tests/layers/test_quantized_layers.py).

int8 input quantization is exported as Keras computes it (abs-max scale, Round, Clip, an exact
integer MatMulInteger / int32 Einsum, then both scales divided out), so int8 cases match to
float32 rounding; int4 and weight-only int8 dequantize the stored integer kernel in the graph;
float8 casts to FLOAT8E4M3FN and back (opset 19+)."""

from pathlib import Path

import numpy as np
import onnx
import pytest
from case_archive import load_case_archive, read_case_array
from onnx_session import run_onnx

import modelio
from modelio import layers
from modelio.errors import UnsupportedError
from modelio.onnx.export import MAX_OPSET

FOLDER = Path(__file__).resolve().parents[2] / "fixtures" / "keras3_quantized"
BUFFERS, DOCUMENT = load_case_archive(FOLDER / "cases.npz")
CASES = {case["id"]: case for case in DOCUMENT}
MODELS = ["mlp_int8", "mlp_int4", "mlp_float8", "einsum_int8_int4", "embedding_int8_lora",
          "dense_lora"]
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def case_model(case: dict):
    x = read_case_array(BUFFERS, case, "input")
    inputs = modelio.Input(x.shape[1:], dtype=x.dtype.name, name="x")
    layer = getattr(layers, case["class_name"]).from_config(case["keras_config"])
    model = modelio.Model(inputs, layer(inputs))
    by_name = {weight.name: weight for weight in layer.weights}
    for index, name in enumerate(case["weight_names"]):
        by_name[name].assign(read_case_array(BUFFERS, case, f"weight:{index}"))
    return model, x


@pytest.mark.parametrize("case_id", CASES)
def test_exported_case_runs_in_onnxruntime_like_numpy_and_keras(case_id):
    case = CASES[case_id]
    model, x = case_model(case)
    proto = modelio.export_onnx(model, opset=MAX_OPSET)
    onnx.checker.check_model(proto)
    (got,) = run_onnx(proto, {"x": x})
    np.testing.assert_allclose(got, model.predict(x), **TOLERANCE)
    np.testing.assert_allclose(got, read_case_array(BUFFERS, case, "output"), **TOLERANCE)


def test_int8_kernel_stays_int8_in_the_exported_file():
    model, _ = case_model(CASES["dense_int8"])
    proto = modelio.export_onnx(model)
    kinds = {init.data_type for init in proto.graph.initializer if len(init.dims) == 2}
    assert kinds == {onnx.TensorProto.INT8}
    assert "MatMulInteger" in {node.op_type for node in proto.graph.node}


@pytest.mark.parametrize("stem", MODELS)
def test_exported_keras_file_matches_keras(stem):
    with np.load(FOLDER / f"{stem}.npz") as archive:
        x, expected = archive["input"], archive["output"]
    model = modelio.load_model(FOLDER / f"{stem}.keras")
    proto = modelio.export_onnx(model, opset=MAX_OPSET)
    name = proto.graph.input[0].name
    (got,) = run_onnx(proto, {name: x})
    np.testing.assert_allclose(got, expected, **TOLERANCE)


def test_float8_below_opset_19_is_refused_at_export_naming_the_layer():
    model, _ = case_model(CASES["dense_float8"])
    with pytest.raises(UnsupportedError, match="'dense'.*Dense.*float8.*opset 19"):
        modelio.export_onnx(model, opset=17)


@pytest.mark.parametrize("case_id", ["dense_int8_relu_rank3", "einsum_int8_heads",
                                     "einsum_int8_reduce_two", "einsum_int4_per_channel_inputs",
                                     "embedding_int4_grouped", "einsum_lora"])
def test_integer_and_lora_cases_export_at_opset_13(case_id):
    case = CASES[case_id]
    model, x = case_model(case)
    proto = modelio.export_onnx(model, opset=13)
    onnx.checker.check_model(proto)
    (got,) = run_onnx(proto, {"x": x})
    np.testing.assert_allclose(got, read_case_array(BUFFERS, case, "output"), **TOLERANCE)
