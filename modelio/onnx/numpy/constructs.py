"""ONNX lowerings of the operations of modelio/ops/numpy/constructs.py: Cross, Diagflat,
Vander, Meshgrid, UnravelIndex, Trapezoid, Corrcoef and Correlate."""

import numpy as np

from ... import ops
from ..export_support import onnx_type, reduce
from ..op_support import known_size, operand, output_dtype, scalar
from ..registry import lowers

_END = np.iinfo(np.int64).max


def _slice(graph, x, start, end, axis, hint):
    return graph.node("Slice", [x, graph.ints([start], f"{hint}/start"),
                                graph.ints([end], f"{hint}/end"),
                                graph.ints([axis], f"{hint}/axis")], hint)


def _to_last(graph, x, axis, rank, hint):
    if axis == rank - 1:
        return x
    perm = [item for item in range(rank) if item != axis] + [axis]
    return graph.node("Transpose", [x], hint, perm=perm)


@lowers(ops.Cross)
def cross(graph, node, args, kwargs):
    layer, hint, dtype = node.layer, node.layer.name, output_dtype(node)
    axisa, axisb, axisc = layer.axes()
    ranks = [len(node.call_args[index].shape) for index in (0, 1)]
    a, b = (_to_last(graph, operand(graph, node, index, args[index], dtype),
                     axis % ranks[index], ranks[index], hint)
            for index, axis in ((0, axisa), (1, axisb)))
    a0, a1, a2 = (_slice(graph, a, index, index + 1, -1, hint) for index in range(3))
    b0, b1, b2 = (_slice(graph, b, index, index + 1, -1, hint) for index in range(3))

    def term(p, q, r, s):
        return graph.node("Sub", [graph.node("Mul", [p, q], hint),
                                  graph.node("Mul", [r, s], hint)], hint)

    result = graph.node("Concat", [term(a1, b2, a2, b1), term(a2, b0, a0, b2),
                                   term(a0, b1, a1, b0)], hint, axis=-1)
    rank = len(node.outputs[0].shape)
    axisc %= rank
    if axisc == rank - 1:
        return result
    perm = list(range(rank - 1))
    perm.insert(axisc, rank - 1)
    return graph.node("Transpose", [result], hint, perm=perm)


@lowers(ops.Diagflat)
def diagflat(graph, node, args, kwargs):
    """The flattened values, padded to the side N, where row + k == column."""
    hint, k = node.layer.name, node.layer.arguments["k"]
    flat = graph.node("Reshape", [args[0], graph.ints([-1], f"{hint}/flat")], hint)
    if k:
        flat = graph.node("Pad", [flat, graph.ints([0, abs(k)], f"{hint}/pads")], hint)
    side = graph.node("Squeeze", [graph.node("Shape", [flat], hint)], hint)
    index = graph.node("Range", [graph.constant(np.asarray(0, np.int64), f"{hint}/zero"), side,
                                 graph.constant(np.asarray(1, np.int64), f"{hint}/one")], hint)
    rows = graph.node("Unsqueeze", [index, graph.ints([1], f"{hint}/axis")], hint)
    columns = graph.node("Unsqueeze", [index, graph.ints([0], f"{hint}/axis")], hint)
    mask = graph.node("Equal", [graph.node("Add", [rows, graph.constant(
        np.asarray(k, np.int64), f"{hint}/k")], hint), columns], hint)
    values = graph.node("Unsqueeze", [flat, graph.ints([1 if k >= 0 else 0], f"{hint}/axis")],
                        hint)
    return graph.node("Where", [mask, values, scalar(graph, 0, output_dtype(node), hint)], hint)


@lowers(ops.Vander)
def vander(graph, node, args, kwargs):
    """The powers as running products (as torch and numpy compute them), joined."""
    layer, hint = node.layer, node.layer.name
    count = node.outputs[0].shape[1]
    count = known_size(node, count, "vander")
    column = graph.node("Unsqueeze", [args[0], graph.ints([1], f"{hint}/axis")], hint)
    powers = [graph.node("Expand", [scalar(graph, 1, output_dtype(node), hint),
                                    graph.node("Shape", [column], hint)], hint)]
    for _ in range(count - 1):
        powers.append(graph.node("Mul", [powers[-1], column], hint))
    powers = powers[:count]
    if not layer.arguments["increasing"]:
        powers = powers[::-1]
    if not powers:
        return graph.node("Slice", [column, graph.ints([0], f"{hint}/s"),
                                    graph.ints([0], f"{hint}/e"), graph.ints([1], f"{hint}/a")],
                          hint)
    return graph.node("Concat", powers, hint, axis=1) if len(powers) > 1 else \
        graph.node("Identity", powers, hint)


@lowers(ops.Meshgrid)
def meshgrid(graph, node, args, kwargs):
    hint = node.layer.name
    shape = [known_size(node, size, "meshgrid") for size in node.outputs[0].shape]
    rank = len(shape)
    xy = node.layer.arguments["indexing"] == "xy" and rank > 1
    grids = []
    for index, value in enumerate(args):
        axis = {0: 1, 1: 0}.get(index, index) if xy else index
        placed = [1] * rank
        placed[axis] = -1
        column = graph.node("Reshape", [value, graph.ints(placed, f"{hint}/placed")], hint)
        grids.append(graph.node("Expand", [column, graph.ints(shape, f"{hint}/shape")], hint))
    return grids


@lowers(ops.UnravelIndex)
def unravel_index(graph, node, args, kwargs):
    hint, dtype = node.layer.name, output_dtype(node)
    rest = operand(graph, node, 0, args[0], np.int64)
    coordinates = []
    for size in reversed(node.layer.arguments["shape"]):
        divisor = scalar(graph, size, np.int64, hint)
        remainder = graph.node("Mod", [rest, divisor], hint, fmod=0)
        coordinates.append(graph.node("Cast", [remainder], hint, to=onnx_type(dtype)))
        rest = graph.node("Div", [graph.node("Sub", [rest, remainder], hint), divisor], hint)
    return coordinates[::-1]


@lowers(ops.Trapezoid)
def trapezoid(graph, node, args, kwargs):
    layer, hint, dtype = node.layer, node.layer.name, output_dtype(node)
    rank = len(node.call_args[0].shape)
    axis = layer.arguments["axis"] % rank
    y = operand(graph, node, 0, args[0], dtype)
    pairs = graph.node("Add", [_slice(graph, y, 1, _END, axis, hint),
                               _slice(graph, y, 0, -1, axis, hint)], hint)
    points = layer.arguments["x"]
    if points is None:
        spacing = scalar(graph, layer.arguments["dx"], dtype, hint)
    else:
        shape = [1] * rank
        shape[axis] = len(points) - 1
        spacing = graph.constant(np.diff(np.asarray(points, dtype)).reshape(shape),
                                 f"{hint}/spacing")
    halves = graph.node("Div", [graph.node("Mul", [spacing, pairs], hint),
                                scalar(graph, 2, dtype, hint)], hint)
    return reduce(graph, "ReduceSum", halves, [axis], False, hint)


@lowers(ops.Corrcoef)
def corrcoef(graph, node, args, kwargs):
    """Rows centred and scaled to unit length; their products are the coefficients."""
    hint, dtype = node.layer.name, output_dtype(node)
    x = operand(graph, node, 0, args[0], dtype)
    centred = graph.node("Sub", [x, reduce(graph, "ReduceMean", x, [-1], True, hint)], hint)
    length = graph.node("Sqrt", [reduce(graph, "ReduceSum", graph.node(
        "Mul", [centred, centred], hint), [-1], True, hint)], hint)
    unit = graph.node("Div", [centred, length], hint)
    if len(node.call_args[0].shape) == 1:
        product = reduce(graph, "ReduceSum", graph.node("Mul", [unit, unit], hint), None, False,
                         hint)
    else:
        product = graph.node("MatMul", [unit, graph.node("Transpose", [unit], hint,
                                                         perm=[1, 0])], hint)
    return graph.node("Clip", [product, scalar(graph, -1, dtype, hint),
                               scalar(graph, 1, dtype, hint)], hint)


@lowers(ops.Correlate)
def correlate(graph, node, args, kwargs):
    """The full correlation by Conv (x2 the kernel, padded by its length - 1), then Keras's
    window of it."""
    layer, hint, dtype = node.layer, node.layer.name, output_dtype(node)
    first = known_size(node, node.call_args[0].shape[0], "correlate")
    second = known_size(node, node.call_args[1].shape[0], "correlate")
    signal, kernel = (graph.node("Reshape", [operand(graph, node, index, args[index], dtype),
                                             graph.ints([1, 1, -1], f"{hint}/ncw")], hint)
                      for index in (0, 1))
    full = graph.node("Conv", [signal, kernel], hint, pads=[second - 1, second - 1])
    start, length = layer.window(first, second)
    window = _slice(graph, graph.node("Reshape", [full, graph.ints([-1], f"{hint}/flat")], hint),
                    start, start + length, 0, hint)
    if length == 1:
        return graph.node("Reshape", [window, graph.ints([], f"{hint}/scalar")], hint)
    return window
