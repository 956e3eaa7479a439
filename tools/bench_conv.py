"""Time modelio's numpy Conv2D kernel against a plain matmul of the same FLOP count and against
onnxruntime running the same convolution (numbers are printed, never asserted).

    python3 tools/bench_conv.py              # batch 8, 56x56x64 -> 64, 3x3, same padding
    python3 tools/bench_conv.py --repeats 30

The matmul baseline is the im2col product itself: (batch*56*56, 3*3*64) @ (3*3*64, 64) on arrays
that already exist, so ``matmul / conv`` is the fraction of pure-BLAS speed the convolution keeps
(1.0 would mean gathering the columns and padding cost nothing). Each timing is the median of
interleaved runs (the minimum is printed too: on a shared machine it is the least disturbed run).
"""

import argparse
import statistics
import time

import numpy as np

from modelio.kernels import convolution


def onnx_conv_session(kernel: np.ndarray, input_shape: tuple):
    """An onnxruntime session running Conv (NCHW, same padding) with `kernel` (kh, kw, in, out)."""
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)), "W")
    node = helper.make_node("Conv", ["X", "W"], ["Y"], auto_pad="SAME_UPPER",
                            kernel_shape=list(kernel.shape[:2]))
    graph = helper.make_graph(
        [node], "conv",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT,
                                       [input_shape[0], kernel.shape[3], *input_shape[2:]])],
        initializer=[weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    # Idle onnxruntime threads would otherwise spin and steal the cores numpy's BLAS needs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(model.SerializeToString(), options,
                                        providers=["CPUExecutionProvider"])


def interleaved_samples(functions: dict, repeats: int) -> dict:
    for function in functions.values():
        function()  # warm up
    samples = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            samples[name].append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=56)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--block-kib", type=int, default=None,
                        help="im2col block size (default: convolution.IM2COL_BLOCK_BYTES)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    n, size, c, f, k = args.batch, args.size, args.channels, args.filters, args.kernel
    x = rng.standard_normal((n, size, size, c), dtype=np.float32)
    kernel = (rng.standard_normal((k, k, c, f)) / (k * np.sqrt(c))).astype(np.float32)
    pads = [convolution.padding_amounts(size, k, 1, 1, "same")] * 2
    columns = rng.standard_normal((n * size * size, k * k * c), dtype=np.float32)
    flat_kernel = kernel.reshape(-1, f)

    block = (args.block_kib << 10) if args.block_kib else convolution.IM2COL_BLOCK_BYTES
    functions = {
        "numpy matmul (same FLOPs)": lambda: columns @ flat_kernel,
        "modelio conv": lambda: convolution.conv(x, kernel, (1, 1), pads, (1, 1),
                                                 block_bytes=block),
    }
    x_nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    try:
        session = onnx_conv_session(kernel, x_nchw.shape)
    except ImportError as exc:
        print(f"onnxruntime not available ({exc}); skipping it")
        session = None
    if session is not None:
        expected = convolution.conv(x, kernel, (1, 1), pads, (1, 1)).transpose(0, 3, 1, 2)
        got = session.run(None, {"X": x_nchw})[0]
        print(f"max |modelio - onnxruntime| = {np.abs(got - expected).max():.2e}")
        functions["onnxruntime Conv (NCHW)"] = lambda: session.run(None, {"X": x_nchw})

    samples = interleaved_samples(functions, args.repeats)
    flops = 2 * n * size * size * k * k * c * f
    print(f"Conv2D {k}x{k}, batch {n}, {size}x{size}x{c} -> {f}, same padding "
          f"({flops / 1e9:.2f} GFLOP), {args.repeats} interleaved runs:")
    for statistic in (statistics.median, min):
        times = {name: statistic(values) for name, values in samples.items()}
        print(f"{statistic.__name__}:")
        for name, seconds in times.items():
            print(f"  {name:28s} {seconds * 1e3:8.2f} ms  {flops / seconds / 1e9:6.1f} GFLOP/s")
        conv_time = times["modelio conv"]
        print(f"  matmul time / conv time = {times['numpy matmul (same FLOPs)'] / conv_time:.2f}")
        if session is not None:
            print(f"  onnxruntime time / conv time = "
                  f"{times['onnxruntime Conv (NCHW)'] / conv_time:.2f}")

if __name__ == "__main__":
    main()
