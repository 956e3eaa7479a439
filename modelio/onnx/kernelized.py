"""ONNX lowering of the kernelized family (modelio/layers/kernelized.py): RandomFourierFeatures
as Cos(MatMul(x, (1 / kernel_scale) * unscaled_kernel) + bias), the scaling done in the graph
so the stored weights stay as the layer holds them."""

from onnx import TensorProto

from ..layers import kernelized
from .registry import lowers_float32


@lowers_float32(kernelized.RandomFourierFeatures)
def random_fourier_features(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    x = args[0]
    if node.input_tensors[0].dtype != "float32":
        x = graph.node("Cast", [x], hint, to=TensorProto.FLOAT)
    inverse = graph.node("Reciprocal", [graph.weight(layer.kernel_scale)], hint)
    kernel = graph.node("Mul", [inverse, graph.weight(layer.unscaled_kernel)], hint)
    y = graph.node("Add", [graph.node("MatMul", [x, kernel], hint), graph.weight(layer.bias)],
                   hint)
    return graph.node("Cos", [y], hint)
