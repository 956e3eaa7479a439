"""Time modelio's LSTM against onnxruntime's LSTM operator on the same weights.

    python3 tools/bench_recurrent.py [--batch 32] [--steps 100] [--units 128] [--features 128]

Builds a Keras-style LSTM in modelio with random weights, converts the weights to an ONNX `LSTM`
node (ONNX gate order i, o, f, c; Keras i, f, c, o), checks that both compute the same sequence
output, then reports the median wall time of each and their ratio (modelio / onnxruntime).

On a small machine shared with other work, OpenBLAS's threads make the loop's small per-step
matmuls several times slower; compare like with like:

    OPENBLAS_NUM_THREADS=1 python3 tools/bench_recurrent.py --ort-threads 1
"""

import argparse
import statistics
import time

import numpy as np


def keras_to_onnx_gates(matrix: np.ndarray, units: int) -> np.ndarray:
    """Reorder the gate blocks of the last axis from Keras's i, f, c, o to ONNX's i, o, f, c."""
    blocks = [matrix[..., index * units:(index + 1) * units] for index in range(4)]
    return np.concatenate([blocks[0], blocks[3], blocks[1], blocks[2]], axis=-1)


def onnx_lstm_session(kernel, recurrent_kernel, bias, threads: int | None):
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    units = recurrent_kernel.shape[0]
    w = keras_to_onnx_gates(kernel, units).T[None]             # (1, 4u, input)
    r = keras_to_onnx_gates(recurrent_kernel, units).T[None]   # (1, 4u, u)
    b = np.concatenate([keras_to_onnx_gates(bias, units), np.zeros(4 * units, bias.dtype)])[None]
    node = helper.make_node("LSTM", ["X", "W", "R", "B"], ["Y", "Y_h", "Y_c"], hidden_size=units)
    graph = helper.make_graph(
        [node], "lstm",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, None, kernel.shape[0]])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1, None, units]),
         helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, None, units]),
         helper.make_tensor_value_info("Y_c", TensorProto.FLOAT, [1, None, units])],
        initializer=[numpy_helper.from_array(w.astype(np.float32), "W"),
                     numpy_helper.from_array(r.astype(np.float32), "R"),
                     numpy_helper.from_array(b.astype(np.float32), "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=8)
    onnx.checker.check_model(model)
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(model.SerializeToString(), options,
                                        providers=["CPUExecutionProvider"])


def median_seconds(function, repeats: int) -> float:
    function()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--features", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--ort-threads", type=int, default=0,
                        help="onnxruntime intra-op threads (0: its default)")
    args = parser.parse_args()

    from modelio import layers

    rng = np.random.default_rng(0)
    lstm = layers.LSTM(args.units, return_sequences=True)
    x = rng.normal(size=(args.batch, args.steps, args.features)).astype(np.float32)
    lstm(x[:1, :1])
    lstm.set_weights([rng.normal(0, 0.1, weight.shape).astype(np.float32)
                      for weight in lstm.weights])
    kernel, recurrent_kernel, bias = lstm.get_weights()
    session = onnx_lstm_session(kernel, recurrent_kernel, bias, args.ort_threads or None)
    time_major = np.ascontiguousarray(x.transpose(1, 0, 2))

    ours = lstm(x)
    theirs = session.run(["Y"], {"X": time_major})[0][:, 0].transpose(1, 0, 2)
    difference = float(np.max(np.abs(ours - theirs)))
    assert difference < 1e-4, difference

    modelio_time = median_seconds(lambda: lstm(x), args.repeats)
    onnx_time = median_seconds(lambda: session.run(["Y"], {"X": time_major}), args.repeats)
    print(f"LSTM batch {args.batch}, {args.steps} steps, {args.units} units, "
          f"{args.features} input features (max abs difference {difference:.1e})")
    print(f"  modelio      {modelio_time * 1e3:8.2f} ms")
    print(f"  onnxruntime  {onnx_time * 1e3:8.2f} ms")
    print(f"  ratio modelio / onnxruntime: {modelio_time / onnx_time:.2f}")


if __name__ == "__main__":
    main()
