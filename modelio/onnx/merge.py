"""ONNX lowerings of the merge family (modelio/layers/merge.py): Add, Subtract, Multiply,
Average, Maximum, Minimum, Concatenate and Dot. (ONNX's elementwise ops import in
numpy/elementwise.py, which builds these merge layers where their semantics match.)"""

from ..errors import UnsupportedError
from ..layers import merge
from .export_support import reduce
from .registry import lowers


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
