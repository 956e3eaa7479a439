"""Per-kernel speed: modelio's numpy kernels beside onnxruntime running the same operation and
numpy's own matmul on a problem of the same FLOP count (the ceiling for a numpy kernel here).
Imported by tools/bench.py; every figure comes from one run on this machine."""

import time

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

import modelio
from modelio import layers

RNG = np.random.default_rng(0)


def best_time(function, repeats: int = 5) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_ceiling(flops: float) -> float:
    """Seconds numpy takes for a square-ish float32 matmul doing `flops` multiply-adds * 2."""
    size = round((flops / 2) ** (1 / 3))
    a = RNG.standard_normal((size, size), dtype=np.float32)
    b = RNG.standard_normal((size, size), dtype=np.float32)
    measured = best_time(lambda: a @ b)
    return measured * flops / (2 * size**3)


def onnxruntime_time(nodes, inputs: dict, initializers: dict, outputs: list[str]) -> float:
    graph = helper.make_graph(
        nodes, "bench",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, value.shape)
         for name, value in inputs.items()],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs],
        [numpy_helper.from_array(value, name) for name, value in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])
    return best_time(lambda: session.run(None, inputs))


def modelio_time(layer, *arrays) -> float:
    layer(*arrays)  # builds the weights
    return best_time(lambda: layer(*arrays))


def conv2d_case():
    x = RNG.standard_normal((8, 56, 56, 64), dtype=np.float32)
    layer = layers.Conv2D(64, 3, padding="same")
    seconds = modelio_time(layer, x)
    kernel, bias = layer.get_weights()
    onnx_seconds = onnxruntime_time(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
        {"x": np.ascontiguousarray(x.transpose(0, 3, 1, 2))},
        {"w": np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)), "b": bias}, ["y"])
    return "Conv2D 3x3, 8x56x56x64 -> 64", seconds, onnx_seconds, 2 * 8 * 56 * 56 * 64 * 64 * 9


def depthwise_case():
    x = RNG.standard_normal((8, 56, 56, 64), dtype=np.float32)
    layer = layers.DepthwiseConv2D(3, padding="same")
    seconds = modelio_time(layer, x)
    kernel, bias = layer.get_weights()
    onnx_seconds = onnxruntime_time(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1], group=64)],
        {"x": np.ascontiguousarray(x.transpose(0, 3, 1, 2))},
        {"w": np.ascontiguousarray(kernel.transpose(2, 3, 0, 1).reshape(64, 1, 3, 3)), "b": bias},
        ["y"])
    return "DepthwiseConv2D 3x3, 8x56x56x64", seconds, onnx_seconds, 2 * 8 * 56 * 56 * 64 * 9


def pooling_case():
    x = RNG.standard_normal((8, 56, 56, 64), dtype=np.float32)
    seconds = modelio_time(layers.MaxPooling2D(2), x)
    onnx_seconds = onnxruntime_time(
        [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
        {"x": np.ascontiguousarray(x.transpose(0, 3, 1, 2))}, {}, ["y"])
    return "MaxPooling2D 2x2, 8x56x56x64", seconds, onnx_seconds, 8 * 28 * 28 * 64 * 4


def dense_case():
    x = RNG.standard_normal((4096, 512), dtype=np.float32)
    layer = layers.Dense(512)
    seconds = modelio_time(layer, x)
    kernel, bias = layer.get_weights()
    onnx_seconds = onnxruntime_time([helper.make_node("Gemm", ["x", "w", "b"], ["y"])], {"x": x},
                                    {"w": kernel, "b": bias}, ["y"])
    return "Dense 4096x512 -> 512", seconds, onnx_seconds, 2 * 4096 * 512 * 512


def lstm_case():
    batch, steps, units = 32, 100, 128
    x = RNG.standard_normal((batch, steps, units), dtype=np.float32)
    layer = layers.LSTM(units)
    seconds = modelio_time(layer, x)
    kernel, recurrent, bias = layer.get_weights()

    def onnx_gates(matrix):  # Keras gates i,f,c,o -> ONNX i,o,f,c; (in, 4u) -> (4u, in)
        i, f, c, o = np.split(matrix, 4, axis=-1)
        return np.concatenate([i, o, f, c], axis=-1).T

    onnx_seconds = onnxruntime_time(
        [helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
         helper.make_node("LSTM", ["xt", "W", "R", "B"], ["", "h"], hidden_size=units)],
        {"x": x},
        {"W": onnx_gates(kernel)[None], "R": onnx_gates(recurrent)[None],
         "B": np.concatenate([onnx_gates(bias[None]).T[0], np.zeros(4 * units, np.float32)])[None]},
        ["h"])
    flops = 2 * batch * steps * (units * 4 * units) * 2
    return f"LSTM {batch}x{steps} steps, {units} units", seconds, onnx_seconds, flops


def attention_case():
    batch, tokens, heads, key_dim = 8, 128, 4, 32
    model_dim = heads * key_dim
    x = RNG.standard_normal((batch, tokens, model_dim), dtype=np.float32)
    layer = layers.MultiHeadAttention(num_heads=heads, key_dim=key_dim)
    seconds = modelio_time(layer, x, x)
    weights = layer.get_weights()
    (query_kernel, query_bias, key_kernel, key_bias, value_kernel, value_bias,
     output_kernel, output_bias) = weights
    initializers = {
        "wq": query_kernel.reshape(model_dim, -1), "bq": query_bias.reshape(-1),
        "wk": key_kernel.reshape(model_dim, -1), "bk": key_bias.reshape(-1),
        "wv": value_kernel.reshape(model_dim, -1), "bv": value_bias.reshape(-1),
        "wo": output_kernel.reshape(-1, model_dim), "bo": output_bias,
        "heads_shape": np.array([batch, tokens, heads, key_dim], np.int64),
        "merged_shape": np.array([batch, tokens, model_dim], np.int64),
        "scale": np.array(1 / np.sqrt(key_dim), np.float32),
    }
    nodes = []
    for name in ("q", "k", "v"):
        nodes += [helper.make_node("MatMul", ["x", f"w{name}"], [f"{name}0"]),
                  helper.make_node("Add", [f"{name}0", f"b{name}"], [f"{name}1"]),
                  helper.make_node("Reshape", [f"{name}1", "heads_shape"], [f"{name}2"]),
                  helper.make_node("Transpose", [f"{name}2"], [f"{name}3"],
                                   perm=[0, 2, 3, 1] if name == "k" else [0, 2, 1, 3])]
    nodes += [helper.make_node("Mul", ["q3", "scale"], ["qs"]),
              helper.make_node("MatMul", ["qs", "k3"], ["scores"]),
              helper.make_node("Softmax", ["scores"], ["probs"], axis=-1),
              helper.make_node("MatMul", ["probs", "v3"], ["context"]),
              helper.make_node("Transpose", ["context"], ["context_t"], perm=[0, 2, 1, 3]),
              helper.make_node("Reshape", ["context_t", "merged_shape"], ["merged"]),
              helper.make_node("MatMul", ["merged", "wo"], ["out0"]),
              helper.make_node("Add", ["out0", "bo"], ["y"])]
    onnx_seconds = onnxruntime_time(nodes, {"x": x}, initializers, ["y"])
    flops = 2 * batch * tokens * model_dim * model_dim * 4 + 2 * 2 * batch * heads * tokens * tokens * key_dim
    return f"MultiHeadAttention {batch}x{tokens} tokens, {heads} heads", seconds, onnx_seconds, flops


CASES = [conv2d_case, depthwise_case, pooling_case, dense_case, lstm_case, attention_case]


def kernel_report() -> list[str]:
    lines = [f"{'kernel':<44}{'modelio':>10}{'onnxrt':>10}{'matmul':>10}  "
             f"{'vs onnxrt':>10}{'of ceiling':>11}"]
    for case in CASES:
        modelio.clear_session()
        try:
            label, seconds, onnx_seconds, flops = case()
        except (AttributeError, modelio.ModelioError, onnx.onnx_cpp2py_export.checker.ValidationError) as exc:
            lines.append(f"{case.__name__:<44}skipped: {exc}")
            continue
        ceiling = matmul_ceiling(flops)
        lines.append(f"{label:<44}{seconds * 1e3:>8.1f}ms{onnx_seconds * 1e3:>8.1f}ms"
                     f"{ceiling * 1e3:>8.1f}ms  {seconds / onnx_seconds:>9.2f}x"
                     f"{100 * ceiling / seconds:>10.0f}%")
    return lines
