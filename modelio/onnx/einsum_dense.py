"""ONNX lowering of EinsumDense (modelio/layers/einsum_dense.py): one Einsum node (its equation's
letters renamed to lowercase, which every ONNX runtime reads), the bias as an Add (its shape
broadcasts against the output as in Keras), then the activation."""

from ..layers.einsum_dense import EinsumDense
from .activation_functions import lower_activation
from .quantization import lower_bias, lower_kernel_product
from .registry import lowers


def onnx_equation(equation: str) -> str:
    """`equation` with its letters renamed to distinct lowercase letters (ONNX runtimes accept
    lowercase subscripts only); `...` and the punctuation stay."""
    letters: dict[str, str] = {}
    renamed = []
    for char in equation:
        if char.isalpha():
            if char not in letters:
                letters[char] = chr(ord("a") + len(letters))
            renamed.append(letters[char])
        else:
            renamed.append(char)
    return "".join(renamed)


@lowers(EinsumDense)
def einsum_dense(graph, node, args, kwargs):
    layer = node.layer
    if layer.quantization.mode is not None or layer.lora.enabled:
        equation = onnx_equation(layer.equation)
        y = lower_kernel_product(graph, layer, args[0], lambda a, b: graph.node(
            "Einsum", [a, b], layer.name, equation=equation))
        y = lower_bias(graph, layer, y)
        return lower_activation(graph, layer.activation_name, y, layer.name, layer.name)
    y = graph.node("Einsum", [args[0], graph.weight(layer.kernel)], layer.name,
                   equation=onnx_equation(layer.equation))
    if layer.bias is not None:
        y = graph.node("Add", [y, graph.weight(layer.bias)], layer.name)
    return lower_activation(graph, layer.activation_name, y, layer.name, layer.name)
