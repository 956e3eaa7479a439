"""Time modelio's numpy pooling against onnxruntime on the same inputs.

    python3 tools/bench_pooling.py [--repeats N]

Cases (batch 8, 56x56x64, float32, channels_last as Keras stores images):

* MaxPooling2D(2)                        -> ONNX MaxPool(kernel 2, stride 2)
* AveragePooling2D(3, padding="same")    -> ONNX AveragePool(kernel 3, stride 3, SAME_UPPER,
                                            count_include_pad=0)

ONNX pools NCHW tensors, so its graph is Transpose -> Pool -> Transpose and takes the same NHWC
array modelio takes; the time of the bare NCHW pool (input already transposed) is shown too.
Outputs are checked to agree before timing. Prints the median of N runs and modelio / onnxruntime.
"""

import argparse
import statistics
import time

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper

from modelio import layers

SHAPE = (8, 56, 56, 64)


def onnx_pool(op: str, kernel: int, stride: int, auto_pad: str, transpose: bool, **attributes):
    """An onnxruntime session pooling NHWC (transpose=True) or NCHW float32 inputs."""
    batch, height, width, channels = SHAPE
    in_shape = [batch, height, width, channels] if transpose else [batch, channels, height, width]
    nodes, pool_in, pool_out = [], "x", "y"
    if transpose:
        nodes.append(helper.make_node("Transpose", ["x"], ["x_nchw"], perm=[0, 3, 1, 2]))
        pool_in, pool_out = "x_nchw", "y_nchw"
    nodes.append(helper.make_node(op, [pool_in], [pool_out], kernel_shape=[kernel, kernel],
                                  strides=[stride, stride], auto_pad=auto_pad, **attributes))
    if transpose:
        nodes.append(helper.make_node("Transpose", ["y_nchw"], ["y"], perm=[0, 2, 3, 1]))
    graph = helper.make_graph(
        nodes, f"{op.lower()}_bench",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "d1", "d2", "d3"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model.SerializeToString(), options,
                                        providers=["CPUExecutionProvider"])


def median_ms(function, repeats: int) -> float:
    function()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    x = np.random.default_rng(0).normal(size=SHAPE).astype(np.float32)
    x_nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    cases = [
        ("MaxPooling2D(2)", layers.MaxPooling2D(2), "MaxPool", 2, 2, "VALID", {}),
        ('AveragePooling2D(3, padding="same")', layers.AveragePooling2D(3, padding="same"),
         "AveragePool", 3, 3, "SAME_UPPER", {"count_include_pad": 0}),
    ]
    print(f"input {SHAPE} float32, onnxruntime {onnxruntime.__version__}, "
          f"median of {args.repeats} runs")
    print(f"{'layer':38s} {'modelio':>10s} {'ort NHWC':>10s} {'ort NCHW':>10s} {'ratio':>7s}")
    for label, layer, op, kernel, stride, auto_pad, attributes in cases:
        nhwc = onnx_pool(op, kernel, stride, auto_pad, True, **attributes)
        nchw = onnx_pool(op, kernel, stride, auto_pad, False, **attributes)
        ours = layer(x)
        np.testing.assert_allclose(ours, nhwc.run(None, {"x": x})[0], rtol=1e-5, atol=1e-5)
        ours_ms = median_ms(lambda layer=layer: layer(x), args.repeats)
        nhwc_ms = median_ms(lambda session=nhwc: session.run(None, {"x": x}), args.repeats)
        nchw_ms = median_ms(lambda session=nchw: session.run(None, {"x": x_nchw}), args.repeats)
        print(f"{label:38s} {ours_ms:8.2f}ms {nhwc_ms:8.2f}ms {nchw_ms:8.2f}ms "
              f"{ours_ms / nhwc_ms:6.2f}x")
    print("ratio = modelio time / onnxruntime time on the same NHWC input (lower is better)")


if __name__ == "__main__":
    main()
