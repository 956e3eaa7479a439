"""Run an exported ONNX model in onnxruntime (CPU) with inputs given by name."""

import onnxruntime


def run_onnx(proto, inputs: dict) -> list:
    """The outputs of `proto` for `inputs` (a dict: graph input name -> array; extra keys ignored)."""
    session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, {tensor.name: inputs[tensor.name] for tensor in session.get_inputs()})
