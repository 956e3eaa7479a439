"""Write fixtures/onnx_quantized/: a tiny float ONNX model (Conv + Relu + Reshape + MatMul + Add,
built with onnx.helper) quantized by onnxruntime's own tools, and what onnxruntime computes on
them. Tests import the files with modelio and compare (tests/onnx_import/test_quantized_onnx.py).

- static_qdq.onnx: `quantize_static` in QDQ format (uint8 activations, int8 weights per
  channel), calibrated on a few random batches;
- dynamic_integer.onnx: `quantize_dynamic` (integer ops: DynamicQuantizeLinear, ConvInteger,
  MatMulInteger, uint8 activations, int8 weights);
- data.npz: `input` (a batch of 3) and `output:static_qdq`, `output:dynamic_integer`,
  `output:float` (onnxruntime's outputs of each model).

Run from the repository root in any environment with onnx and onnxruntime (make_fixtures.py
`all` runs it in the Keras 3 one):

    ../kenv/bin/python tools/onnx_quantized_fixtures.py
"""

import os
import tempfile

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO_ROOT, "fixtures", "onnx_quantized")
CHANNELS, SIZE, FILTERS, UNITS = 2, 6, 3, 4


def float_model() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    weights = {
        "conv_w": rng.normal(0, 0.5, (FILTERS, CHANNELS, 3, 3)).astype(np.float32),
        "conv_b": rng.normal(0, 0.1, (FILTERS,)).astype(np.float32),
        "shape": np.array([-1, FILTERS * SIZE * SIZE], np.int64),
        "dense_w": rng.normal(0, 0.2, (FILTERS * SIZE * SIZE, UNITS)).astype(np.float32),
        "dense_b": rng.normal(0, 0.1, (UNITS,)).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["input", "conv_w", "conv_b"], ["conv"], name="conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("Reshape", ["relu", "shape"], ["flat"], name="flatten"),
        helper.make_node("MatMul", ["flat", "dense_w"], ["product"], name="dense"),
        helper.make_node("Add", ["product", "dense_b"], ["output"], name="bias"),
    ]
    graph = helper.make_graph(
        nodes, "tiny_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", CHANNELS, SIZE, SIZE])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", UNITS])],
        [numpy_helper.from_array(array, name) for name, array in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="modelio tools/onnx_quantized_fixtures.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


class Batches(CalibrationDataReader):
    """A few random batches for calibration."""

    def __init__(self):
        rng = np.random.default_rng(1)
        self.batches = iter([{"input": rng.normal(0, 1, (4, CHANNELS, SIZE, SIZE))
                              .astype(np.float32)} for _ in range(4)])

    def get_next(self):
        return next(self.batches, None)


def run(path: str, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def main():
    os.makedirs(OUT, exist_ok=True)
    x = np.random.default_rng(2).normal(0, 1, (3, CHANNELS, SIZE, SIZE)).astype(np.float32)
    arrays = {"input": x}
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "float.onnx")
        onnx.save(float_model(), source)
        arrays["output:float"] = run(source, x)
        static = os.path.join(OUT, "static_qdq.onnx")
        quantize_static(source, static, Batches(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        per_channel=True)
        dynamic = os.path.join(OUT, "dynamic_integer.onnx")
        quantize_dynamic(source, dynamic, weight_type=QuantType.QInt8)
    for name, path in (("static_qdq", static), ("dynamic_integer", dynamic)):
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        arrays[f"output:{name}"] = run(path, x)
        ops = sorted({node.op_type for node in model.graph.node})
        print(f"{path}: {os.path.getsize(path)} bytes, ops {', '.join(ops)}")
    np.savez(os.path.join(OUT, "data.npz"), **arrays)


if __name__ == "__main__":
    main()
