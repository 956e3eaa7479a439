"""Evidence that `.keras` files modelio writes from imported ONNX models load in real Keras 3.

Runs in the Keras 3 environment (torch backend; modelio is imported from this checkout, and the
environment has onnx):

    KERAS_BACKEND=torch /work/kenv/bin/python tools/check_imported_onnx_in_keras.py

For the PyTorch exports in fixtures/torch_onnx/ (tools/torch_onnx_fixtures.py), every model of
onnx's backend/test/data/pytorch-converted/, and one-node graphs of the spatial ops (random
weights from a fixed seed, outputs computed by onnxruntime) that modelio imports into Keras
layers only:

1. modelio imports the ONNX file and predicts on the recorded input;
2. modelio saves the model as `.keras` in a temporary folder;
3. real Keras loads that file with `keras.saving.load_model` and predicts.

Each difference is max |prediction - output recorded by torch (or computed by onnxruntime)|. Models whose import needs
modelio's own ONNX-semantics layers (Onnx*) are listed as skipped: Keras does not know them.
The table is written to fixtures/evidence/keras3_loads_imported_onnx.txt.
"""

import glob
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import onnx  # noqa: E402
import onnxruntime  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import modelio  # noqa: E402
from modelio.errors import ModelioError  # noqa: E402
from modelio.onnx.importer import import_onnx  # noqa: E402

TORCH_FIXTURES = REPO_ROOT / "fixtures" / "torch_onnx"
PYTORCH_CONVERTED = Path(onnx.__file__).parent / "backend" / "test" / "data" / "pytorch-converted"
EVIDENCE = REPO_ROOT / "fixtures" / "evidence" / "keras3_loads_imported_onnx.txt"


def torch_fixture_cases():
    for path in sorted(TORCH_FIXTURES.glob("*.onnx")):
        arrays = np.load(path.with_suffix(".npz"))
        inputs = [arrays[key] for key in arrays.files if key.startswith("input:")]
        yield f"torch_onnx/{path.name}", onnx.load(str(path)), inputs, arrays["output:0"]


def pytorch_converted_cases():
    for folder in sorted(glob.glob(str(PYTORCH_CONVERTED / "test_*"))):
        data = Path(folder) / "test_data_set_0"
        tensors = []
        for kind in ("input", "output"):
            tensor = onnx.TensorProto()
            tensor.ParseFromString((data / f"{kind}_0.pb").read_bytes())
            tensors.append(numpy_helper.to_array(tensor))
        yield (f"pytorch-converted/{Path(folder).name}", onnx.load(str(Path(folder) / "model.onnx")),
               [tensors[0]], tensors[1])


# One-node graphs: (name, op, input shape, initializer shapes or arrays, attributes).
SPATIAL_CASES = [
    ("conv2d_same_pads", "Conv", (2, 3, 8, 8), [(4, 3, 3, 3), (4,)], {"pads": [1, 1, 1, 1]}),
    ("conv2d_asymmetric_pads", "Conv", (2, 3, 8, 7), [(4, 3, 3, 2), (4,)],
     {"pads": [0, 2, 1, 0], "strides": [2, 1]}),
    ("conv2d_same_lower", "Conv", (2, 3, 8, 8), [(4, 3, 2, 2)], {"auto_pad": "SAME_LOWER"}),
    ("conv2d_groups", "Conv", (2, 4, 6, 6), [(6, 2, 3, 3), (6,)], {"group": 2}),
    ("conv2d_depthwise_multiplier", "Conv", (2, 3, 6, 6), [(6, 1, 3, 3), (6,)], {"group": 3}),
    ("conv1d_pads", "Conv", (2, 3, 10), [(5, 3, 3), (5,)], {"pads": [2, 1]}),
    ("conv1d_depthwise", "Conv", (2, 4, 10), [(4, 1, 3)], {"group": 4, "strides": [2]}),
    ("conv3d_pads", "Conv", (1, 2, 5, 6, 5), [(3, 2, 3, 3, 3), (3,)], {"pads": [1, 0, 1, 1, 0, 1]}),
    ("conv_transpose2d_pads", "ConvTranspose", (2, 3, 5, 4), [(3, 2, 3, 3), (2,)],
     {"strides": [2, 2], "pads": [1, 0, 1, 1]}),
    ("conv_transpose2d_output_padding", "ConvTranspose", (1, 2, 4, 4), [(2, 3, 3, 3)],
     {"strides": [3, 2], "output_padding": [1, 1]}),
    ("conv_transpose1d", "ConvTranspose", (2, 3, 6), [(3, 2, 3), (2,)], {"strides": [2]}),
    ("max_pool_same_upper", "MaxPool", (2, 3, 7, 7), [], {"kernel_shape": [3, 3],
                                                          "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ("average_pool_same", "AveragePool", (2, 3, 7, 7), [], {"kernel_shape": [3, 3],
                                                            "auto_pad": "SAME_UPPER"}),
    ("max_pool1d", "MaxPool", (2, 3, 9), [], {"kernel_shape": [3], "strides": [2]}),
    ("global_average_pool3d", "GlobalAveragePool", (2, 3, 2, 3, 4), [], {}),
    ("global_max_pool1d", "GlobalMaxPool", (2, 3, 5), [], {}),
    ("batch_normalization_rank3", "BatchNormalization", (2, 4, 5),
     [(4,), (4,), (4,), np.linspace(0.5, 2, 4, dtype=np.float32)], {"epsilon": 1e-3}),
    ("layer_normalization_two_axes", "LayerNormalization", (2, 3, 4, 5), [(4, 5), (4, 5)],
     {"axis": -2}),
    ("instance_normalization", "InstanceNormalization", (2, 3, 5, 4), [(3,), (3,)],
     {"epsilon": 1e-3}),
    ("zero_pad2d", "Pad", (2, 3, 4, 4), [np.asarray([0, 0, 1, 2, 0, 0, 2, 1], np.int64)], {}),
    ("resize_nearest_integer", "Resize", (2, 2, 3, 4),
     [np.zeros(0, np.float32), np.asarray([1, 1, 2, 3], np.float32)], {"mode": "nearest"}),
]


def spatial_cases():
    rng = np.random.default_rng(5)
    for name, op_type, x_shape, initializer_specs, attributes in SPATIAL_CASES:
        arrays = [spec if isinstance(spec, np.ndarray)
                  else rng.standard_normal(spec).astype(np.float32)
                  for spec in initializer_specs]
        names = [f"w{index}" for index in range(len(arrays))]
        node = helper.make_node(op_type, ["x", *names], ["y"], name=name, **attributes)
        graph = helper.make_graph(
            [node], name, [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                          ["N", *x_shape[1:]])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
            [numpy_helper.from_array(array, key) for key, array in zip(names, arrays)])
        opsets = [helper.make_opsetid("", 17)]
        proto = helper.make_model(graph, opset_imports=opsets,
                                  ir_version=helper.find_min_ir_version_for(opsets))
        x = rng.standard_normal(x_shape).astype(np.float32)
        session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                               providers=["CPUExecutionProvider"])
        yield f"spatial/{name}", proto, [x], session.run(None, {"x": x})[0]


QUANTIZED_FIXTURES = REPO_ROOT / "fixtures" / "onnx_quantized"


def quantized_cases():
    """onnxruntime.quantization's models (tools/onnx_quantized_fixtures.py) and QDQ / QLinear
    graphs built here, compared with onnxruntime."""
    arrays = np.load(QUANTIZED_FIXTURES / "data.npz")
    for name in ("static_qdq", "dynamic_integer"):
        yield (f"onnx_quantized/{name}.onnx", onnx.load(str(QUANTIZED_FIXTURES / f"{name}.onnx")),
               [arrays["input"]], arrays[f"output:{name}"])
    rng = np.random.default_rng(6)
    qdq = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
           helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xf"]),
           helper.make_node("DequantizeLinear", ["w", "ws"], ["wf"], axis=1),
           helper.make_node("MatMul", ["xf", "wf"], ["y"])]
    qdq_init = {"xs": np.float32(0.03), "xz": np.uint8(128),
                "w": rng.integers(-128, 128, (6, 3)).astype(np.int8),
                "ws": np.array([0.01, 0.02, 0.005], np.float32)}
    conv = [helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"],
                             ["y"], pads=[1, 1, 1, 1])]
    conv_init = {"xs": np.float32(0.02), "xz": np.uint8(120),
                 "w": rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8),
                 "ws": rng.uniform(0.001, 0.01, 4).astype(np.float32), "wz": np.zeros(4, np.int8),
                 "ys": np.float32(0.05), "yz": np.uint8(100),
                 "b": rng.integers(-2000, 2000, 4).astype(np.int32)}
    for name, nodes, initializers, x_type, x in (
            ("qdq_matmul", qdq, qdq_init, TensorProto.FLOAT,
             rng.standard_normal((4, 6)).astype(np.float32)),
            ("qlinear_conv", conv, conv_init, TensorProto.UINT8,
             rng.integers(0, 256, (2, 3, 5, 5)).astype(np.uint8))):
        graph = helper.make_graph(
            nodes, name, [helper.make_tensor_value_info("x", x_type, ["N", *x.shape[1:]])],
            [helper.make_tensor_value_info("y", x_type, None)],
            [numpy_helper.from_array(np.asarray(array), key)
             for key, array in initializers.items()])
        opsets = [helper.make_opsetid("", 21)]
        proto = helper.make_model(graph, opset_imports=opsets,
                                  ir_version=helper.find_min_ir_version_for(opsets))
        session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                               providers=["CPUExecutionProvider"])
        yield f"quantized/{name}", proto, [x], session.run(None, {"x": x})[0]


def only_output(outputs) -> np.ndarray:
    if isinstance(outputs, (list, tuple)):
        return np.asarray(outputs[0])
    return np.asarray(outputs)


def check(name, proto, inputs, expected, folder) -> str:
    try:
        model = import_onnx(proto, source=name)
    except ModelioError as exc:
        return f"{name:58s} skipped: modelio refuses it ({str(exc)[:80]})"
    own = sorted({type(layer).__name__ for layer in model.layers
                  if not type(layer)._keras_module.startswith("keras")})
    if own:
        return f"{name:58s} skipped: uses modelio layers {', '.join(own)}"
    x = inputs[0]
    expected = np.asarray(expected, dtype=np.float64)  # (integer outputs must not wrap)
    modelio_diff = float(np.max(np.abs(only_output(model(x)) - expected)))
    path = Path(folder) / (name.replace("/", "__") + ".keras")
    modelio.save_model(model, path)
    keras_model = keras.saving.load_model(path)
    keras_output = only_output(keras_model.predict(x, verbose=0))
    keras_diff = float(np.max(np.abs(keras_output - expected)))
    status = "ok" if keras_diff <= 1e-4 else "MISMATCH"
    classes = ",".join(type(layer).__name__ for layer in keras_model.layers[1:])
    return (f"{name:58s} {status:8s} modelio {modelio_diff:.2e}  keras {keras_diff:.2e}  "
            f"[{classes}]")


def main() -> int:
    lines = [f"Keras {keras.__version__} (backend {keras.backend.backend()}), onnx {onnx.__version__}, "
             f"onnxruntime {onnxruntime.__version__}",
             "ONNX models imported by modelio, saved as .keras by modelio, loaded by real Keras;",
             "differences are max |prediction - output torch recorded (spatial/: onnxruntime's)|.",
             ""]
    failures = 0
    with tempfile.TemporaryDirectory() as folder:
        for case in (*torch_fixture_cases(), *pytorch_converted_cases(), *spatial_cases(),
                     *quantized_cases()):
            line = check(*case, folder)
            failures += "MISMATCH" in line
            lines.append(line)
            print(line)
    loaded = sum(" ok " in line for line in lines)
    lines += ["", f"{loaded} loaded in Keras and matched, {failures} mismatched"]
    EVIDENCE.parent.mkdir(parents=True, exist_ok=True)
    EVIDENCE.write_text("\n".join(lines) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
