"""Small ONNX graphs for the import tests: build one from helper-made nodes, run it in
onnxruntime."""

import numpy as np
import onnxruntime
from onnx import helper, numpy_helper


def make_model(nodes, inputs, outputs, initializers=(), opset=17, ir_version=8):
    """An ONNX model from helper-made nodes; inputs/outputs are (name, elem_type, shape)."""
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(name, kind, shape) for name, kind, shape in inputs],
        [helper.make_tensor_value_info(name, kind, shape) for name, kind, shape in outputs],
        initializer=[numpy_helper.from_array(np.asarray(array), name)
                     for name, array in initializers])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    return model


def ort_outputs(model, feeds: dict) -> list:
    """onnxruntime's outputs of `model` on `feeds` (input name -> array)."""
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, feeds)
