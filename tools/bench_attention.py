"""Time modelio's MultiHeadAttention against onnxruntime running the same attention graph.

    python3 tools/bench_attention.py [--repeats 50] [--threads N]

Self-attention on a (batch 8, 128 tokens, d_model 128) float32 input with 4 heads of key_dim 32
(no masks, the scores not returned). The ONNX graph is the same computation written with
MatMul / Add / Reshape / Transpose / Softmax nodes (onnx.helper), given the modelio layer's
weights; the two outputs are checked to agree before timing. The calls are interleaved and
onnxruntime's threads do not spin between runs, so neither steals CPU from the other. Prints
each one's median and minimum time per call and the ratio modelio / onnxruntime.
`--threads` sets onnxruntime's intra-op threads (numpy's BLAS threads follow OMP_NUM_THREADS /
OPENBLAS_NUM_THREADS; set them before starting Python).
"""

import argparse
import statistics
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from modelio import layers

BATCH, TOKENS, D_MODEL, HEADS, KEY_DIM = 8, 128, 128, 4, 32


def onnx_attention_model(weights: list) -> bytes:
    """The MHA forward pass as an ONNX graph with the layer's weights as initializers."""
    wq, bq, wk, bk, wv, bv, wo, bo = weights
    inner = HEADS * KEY_DIM
    initializers = [
        numpy_helper.from_array(wq.reshape(D_MODEL, inner), "wq"),
        numpy_helper.from_array(bq.reshape(inner), "bq"),
        numpy_helper.from_array(wk.reshape(D_MODEL, inner), "wk"),
        numpy_helper.from_array(bk.reshape(inner), "bk"),
        numpy_helper.from_array(wv.reshape(D_MODEL, inner), "wv"),
        numpy_helper.from_array(bv.reshape(inner), "bv"),
        numpy_helper.from_array(wo.reshape(inner, D_MODEL), "wo"),
        numpy_helper.from_array(bo, "bo"),
        numpy_helper.from_array(np.array([0, 0, HEADS, KEY_DIM], np.int64), "split_heads"),
        numpy_helper.from_array(np.array([0, 0, inner], np.int64), "merge_heads"),
        numpy_helper.from_array(np.array(1.0 / np.sqrt(KEY_DIM), np.float32), "scale"),
    ]
    nodes = []
    for name in ("q", "k", "v"):
        nodes += [
            helper.make_node("MatMul", ["x", f"w{name}"], [f"{name}_mm"]),
            helper.make_node("Add", [f"{name}_mm", f"b{name}"], [f"{name}_proj"]),
            helper.make_node("Reshape", [f"{name}_proj", "split_heads"], [f"{name}_heads"]),
        ]
    nodes += [
        helper.make_node("Transpose", ["q_heads"], ["q_t"], perm=[0, 2, 1, 3]),   # B,H,T,c
        helper.make_node("Transpose", ["k_heads"], ["k_t"], perm=[0, 2, 3, 1]),   # B,H,c,S
        helper.make_node("Transpose", ["v_heads"], ["v_t"], perm=[0, 2, 1, 3]),   # B,H,S,c
        helper.make_node("Mul", ["q_t", "scale"], ["q_scaled"]),
        helper.make_node("MatMul", ["q_scaled", "k_t"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["weights"], axis=-1),
        helper.make_node("MatMul", ["weights", "v_t"], ["context"]),
        helper.make_node("Transpose", ["context"], ["context_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["context_t", "merge_heads"], ["merged"]),
        helper.make_node("MatMul", ["merged", "wo"], ["out_mm"]),
        helper.make_node("Add", ["out_mm", "bo"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "mha",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [BATCH, TOKENS, D_MODEL])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [BATCH, TOKENS, D_MODEL])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              ir_version=8)  # readable by older onnxruntime releases too
    onnx.checker.check_model(model)
    return model.SerializeToString()


def interleaved_times(functions: list, repeats: int) -> list:
    """Per function, the seconds of each of `repeats` calls, the functions called in turn (so a
    busy machine slows both alike)."""
    for function in functions:
        function()  # warm up
    times = [[] for _ in functions]
    for _ in range(repeats):
        for function, record in zip(functions, times):
            start = time.perf_counter()
            function()
            record.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads "
                        "(0: onnxruntime's default)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, TOKENS, D_MODEL)).astype(np.float32)
    layer = layers.MultiHeadAttention(num_heads=HEADS, key_dim=KEY_DIM)
    layer(x, x)
    layer.set_weights([rng.normal(0, 0.1, w.shape).astype(np.float32) for w in layer.weights])

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(onnx_attention_model(layer.get_weights()), options,
                                   providers=["CPUExecutionProvider"])
    expected = session.run(None, {"x": x})[0]
    error = float(np.max(np.abs(layer(x, x) - expected)))
    assert error < 1e-4, f"modelio and onnxruntime disagree by {error}"

    modelio_times, onnx_times = interleaved_times(
        [lambda: layer(x, x), lambda: session.run(None, {"x": x})], args.repeats)
    print(f"MultiHeadAttention batch {BATCH}, {TOKENS} tokens, d_model {D_MODEL}, {HEADS} heads "
          f"x key_dim {KEY_DIM} (max |difference| {error:.1e}), {args.repeats} calls each")
    print(f"{'':14}{'median':>10}{'min':>10}")
    for label, times in (("modelio", modelio_times), ("onnxruntime", onnx_times)):
        print(f"  {label:12}{statistics.median(times) * 1e3:8.2f}ms{min(times) * 1e3:8.2f}ms")
    print(f"  ratio modelio / onnxruntime: "
          f"{statistics.median(modelio_times) / statistics.median(onnx_times):.2f} (median), "
          f"{min(modelio_times) / min(onnx_times):.2f} (min)")


if __name__ == "__main__":
    main()
