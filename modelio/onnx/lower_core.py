"""ONNX lowerings of the core, activation, merge and reshaping layers."""

import numpy as np
from onnx import TensorProto

from ..errors import UnsupportedError
from ..graph.tensor import SymbolicTensor
from ..layers import activations as activation_layers
from ..layers import core, merge, reshaping
from ..layers.embedding import Embedding
from .activations import lower_activation
from .lower_operations import reduce
from .registry import lowers


@lowers(core.Dense)
def dense(graph, node, args, kwargs):
    layer = node.layer
    y = graph.node("MatMul", [args[0], graph.weight(layer.kernel)], layer.name)
    if layer.bias is not None:
        y = graph.node("Add", [y, graph.weight(layer.bias)], layer.name)
    return lower_activation(graph, layer.activation_name, y, layer.name, layer.name)


@lowers(core.InferenceIdentity, core.Identity)
def identity(graph, node, args, kwargs):
    return graph.node("Identity", [args[0]], node.layer.name)


@lowers(activation_layers.Activation)
def activation(graph, node, args, kwargs):
    layer = node.layer
    return lower_activation(graph, layer.activation_name, args[0], layer.name, layer.name)


@lowers(activation_layers.ReLU)
def relu(graph, node, args, kwargs):
    """Keras 3's ReLU, step by step: threshold, cap, then the negative slope."""
    layer, x, hint = node.layer, args[0], node.layer.name

    def scalar(value, what):
        return graph.constant(value, f"{hint}/{what}", "float32")

    if layer.negative_slope and layer.max_value is None and layer.threshold == 0:
        return graph.node("LeakyRelu", [x], hint, alpha=float(layer.negative_slope))
    negative_part = None
    if layer.negative_slope:
        shifted = graph.node("Neg", [x], hint)
        if layer.threshold:
            shifted = graph.node("Add", [shifted, scalar(layer.threshold, "threshold")], hint)
        negative_part = graph.node("Relu", [shifted], hint)
    if layer.threshold:
        keep = graph.node("Cast", [graph.node("Greater", [x, scalar(layer.threshold, "threshold")], hint)],
                          hint, to=1)
        y = graph.node("Mul", [x, keep], hint)
    else:
        y = graph.node("Relu", [x], hint)
    if layer.max_value is not None:
        y = graph.node("Clip", [y, scalar(0.0, "zero"), scalar(layer.max_value, "max_value")], hint)
    if negative_part is not None:
        y = graph.node("Sub", [y, graph.node("Mul", [negative_part, scalar(layer.negative_slope, "slope")],
                                             hint)], hint)
    return y


@lowers(activation_layers.LeakyReLU)
def leaky_relu(graph, node, args, kwargs):
    return graph.node("LeakyRelu", [args[0]], node.layer.name, alpha=float(node.layer.negative_slope))


@lowers(activation_layers.ELU)
def elu(graph, node, args, kwargs):
    return graph.node("Elu", [args[0]], node.layer.name, alpha=float(node.layer.alpha))


@lowers(activation_layers.PReLU)
def prelu(graph, node, args, kwargs):
    return graph.node("PRelu", [args[0], graph.weight(node.layer.alpha)], node.layer.name)


@lowers(activation_layers.Softmax)
def softmax(graph, node, args, kwargs):
    """Softmax over the layer's axes; with a mask, masked inputs become Keras's large negative
    value before and masked outputs zero after (a float mask counts as kept above 0.5)."""
    layer, x = node.layer, args[0]
    mask = kwargs.get("mask")
    dtype = np.dtype(node.input_tensors[0].dtype)
    if mask is not None:
        mask = _bool_mask(graph, mask, node.call_kwargs["mask"], layer.name)
        large_negative = graph.constant(-3e4 if dtype == np.float16 else -1e9,
                                        f"{layer.name}/large_negative", dtype)
        x = graph.node("Where", [mask, x, large_negative], layer.name)
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    if len(axes) == 1:
        y = graph.node("Softmax", [x], layer.name, axis=int(axes[0]))
    else:
        axes_name = graph.ints(axes, f"{layer.name}/axes")
        peak = graph.node("ReduceMax", [x], layer.name, axes=list(axes), keepdims=1) \
            if graph.opset < 18 else graph.node("ReduceMax", [x, axes_name], layer.name, keepdims=1)
        exp = graph.node("Exp", [graph.node("Sub", [x, peak], layer.name)], layer.name)
        total = graph.node("ReduceSum", [exp, axes_name], layer.name, keepdims=1)
        y = graph.node("Div", [exp, total], layer.name)
    if mask is not None:
        y = graph.node("Where", [mask, y, graph.constant(0.0, f"{layer.name}/zero", dtype)],
                       layer.name)
    return y


def _bool_mask(graph, mask, symbolic, hint: str) -> str:
    """A mask (ONNX name, or a constant array) as bool: Keras reads a non-bool mask as
    `mask > 0.5`."""
    if not isinstance(symbolic, SymbolicTensor):
        mask = graph.constant(np.asarray(symbolic), f"{hint}/mask")
    dtype = np.asarray(symbolic).dtype if not isinstance(symbolic, SymbolicTensor) else symbolic.dtype
    if np.dtype(dtype) == np.bool_:
        return mask
    return graph.node("Greater", [mask, graph.constant(0.5, f"{hint}/half", dtype)], hint)


@lowers(core.Masking)
def masking(graph, node, args, kwargs):
    """Zeroes the steps whose features all equal `mask_value` (the mask itself is a separate
    Any(NotEqual) node of the graph)."""
    layer, x = node.layer, args[0]
    dtype = np.dtype(node.input_tensors[0].dtype)
    differs = graph.node("Not", [graph.node("Equal", [x, graph.constant(
        layer.mask_value, f"{layer.name}/mask_value", dtype)], layer.name)], layer.name)
    kept = graph.node("Cast", [differs], layer.name, to=TensorProto.INT32)
    keep = graph.node("Cast", [reduce(graph, "ReduceMax", kept, [-1], True, layer.name)], layer.name,
                      to=TensorProto.BOOL)
    return graph.node("Where", [keep, x, graph.constant(0.0, f"{layer.name}/zero", dtype)],
                      layer.name)


def _aligned(graph, node, names):
    """Keras merge layers insert axes after the batch axis for lower-rank inputs."""
    ranks = [len(tensor.shape) for tensor in node.input_tensors]
    top = max(ranks)
    aligned = []
    for name, rank in zip(names, ranks):
        if rank < top:
            axes = graph.ints(list(range(1, 1 + top - rank)), f"{node.layer.name}/axes")
            name = graph.node("Unsqueeze", [name, axes], node.layer.name)
        aligned.append(name)
    return aligned


@lowers(merge.Add, merge.Maximum, merge.Minimum, merge.Average, merge.Multiply)
def elementwise_merge(graph, node, args, kwargs):
    op = {merge.Add: "Sum", merge.Maximum: "Max", merge.Minimum: "Min", merge.Average: "Mean",
          merge.Multiply: "Mul"}[type(node.layer)]
    inputs = _aligned(graph, node, list(args[0]))
    if op == "Sum" and len(inputs) == 2:
        op = "Add"  # onnxruntime fuses Conv + Add (+ Relu) into one kernel, not Conv + Sum
    if op == "Mul":
        result = inputs[0]
        for other in inputs[1:]:
            result = graph.node("Mul", [result, other], node.layer.name)
        return result
    return graph.node(op, inputs, node.layer.name)


@lowers(merge.Subtract)
def subtract(graph, node, args, kwargs):
    return graph.node("Sub", _aligned(graph, node, list(args[0])), node.layer.name)


@lowers(merge.Concatenate)
def concatenate(graph, node, args, kwargs):
    return graph.node("Concat", list(args[0]), node.layer.name, axis=int(node.layer.axis))


@lowers(reshaping.Flatten)
def flatten(graph, node, args, kwargs):
    x, layer = args[0], node.layer
    rank = len(node.input_tensors[0].shape)
    if layer.data_format == "channels_first" and rank > 2:
        x = graph.node("Transpose", [x], layer.name, perm=[0, *range(2, rank), 1])
    return graph.node("Reshape", [x, graph.ints([0, -1], f"{layer.name}/shape")], layer.name)


@lowers(reshaping.Reshape)
def reshape(graph, node, args, kwargs):
    shape = graph.ints([0, *node.layer.target_shape], f"{node.layer.name}/shape")
    return graph.node("Reshape", [args[0], shape], node.layer.name)


@lowers(reshaping.Permute)
def permute(graph, node, args, kwargs):
    return graph.node("Transpose", [args[0]], node.layer.name, perm=[0, *node.layer.dims])


@lowers(reshaping.RepeatVector)
def repeat_vector(graph, node, args, kwargs):
    layer = node.layer
    expanded = graph.node("Unsqueeze", [args[0], graph.ints([1], f"{layer.name}/axis")], layer.name)
    return graph.node("Tile", [expanded, graph.ints([1, layer.n, 1], f"{layer.name}/repeats")],
                      layer.name)


@lowers(Embedding)
def embedding(graph, node, args, kwargs):
    """A Gather of the table rows. With `mask_zero` the mask is a separate NotEqual node of the
    graph (as Keras 3 records it), lowered on its own."""
    layer = node.layer
    indices = graph.node("Cast", [args[0]], layer.name, to=7)  # int64
    return graph.node("Gather", [graph.weight(layer.embeddings), indices], layer.name, axis=0)



def _l2_normalized(graph, x, axis, hint):
    """Keras's `x * min(1/sqrt(sum(x**2)), 1/epsilon)` along `axis`."""
    inverse = graph.node("Reciprocal", [graph.node("Sqrt", [reduce(graph, "ReduceSumSquare", x, [axis], True, hint)], hint)], hint)
    capped = graph.node("Min", [inverse, graph.constant(1e7, f"{hint}/cap", "float32")], hint)
    return graph.node("Mul", [x, capped], hint)


@lowers(merge.Dot)
def dot(graph, node, args, kwargs):
    """Batchwise dot: contracted axis moved last in x and first (after batch) in y, one MatMul."""
    layer = node.layer
    first_tensor, second_tensor = node.input_tensors
    first, second = args[0]
    ranks = [len(first_tensor.shape), len(second_tensor.shape)]
    axis_first, axis_second = layer.resolved_axes(ranks)
    out_shape = node.outputs[0].shape
    if any(dim is None for dim in (*first_tensor.shape[1:], *second_tensor.shape[1:])):
        raise UnsupportedError(f"layer '{layer.name}': Dot export needs known non-batch sizes")
    if layer.normalize:
        first = _l2_normalized(graph, first, axis_first, layer.name)
        second = _l2_normalized(graph, second, axis_second, layer.name)
    order_first = [0, *[a for a in range(1, ranks[0]) if a != axis_first], axis_first]
    order_second = [0, axis_second, *[a for a in range(1, ranks[1]) if a != axis_second]]
    depth = first_tensor.shape[axis_first]
    first = graph.node("Reshape", [graph.node("Transpose", [first], layer.name, perm=order_first),
                                   graph.ints([0, -1, depth], f"{layer.name}/shape")], layer.name)
    second = graph.node("Reshape", [graph.node("Transpose", [second], layer.name, perm=order_second),
                                    graph.ints([0, depth, -1], f"{layer.name}/shape")], layer.name)
    product = graph.node("MatMul", [first, second], layer.name)
    return graph.node("Reshape", [product, graph.ints([0, *out_shape[1:]], f"{layer.name}/shape")],
                      layer.name)
