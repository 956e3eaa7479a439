"""Run an exported ONNX model in onnxruntime without graph optimizations (the tiny operation
graphs of tests/ops need none; a session then builds in about a millisecond)."""

import onnxruntime


def run_plain(proto, feeds: dict) -> list:
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(proto.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])
    return session.run(None, {tensor.name: feeds[tensor.name] for tensor in session.get_inputs()})
