"""ONNX lowerings of keras.ops.numpy's rearranging operations (modelio/ops/numpy/arrange.py)."""

import numpy as np

from ... import ops
from ..export_support import need_opset
from ..op_support import known_size, refuse, scalar
from ..registry import lowers

_END = np.iinfo(np.int64).max


def _shape(node, index=0):
    return tuple(node.call_args[index].shape)


@lowers(ops.Reshape)
def reshape(graph, node, args, kwargs):
    target = node.outputs[0].shape
    known = [-1 if dim is None else dim for dim in target]
    if known.count(-1) > 1:
        refuse(node, f"reshaping to {tuple(target)} (several unknown sizes)")
    return graph.node("Reshape", [args[0], graph.ints(known, f"{node.layer.name}/shape")],
                      node.layer.name)


def _transpose(graph, node, args, perm):
    return graph.node("Transpose", [args[0]], node.layer.name, perm=list(perm))


@lowers(ops.Transpose, ops.Moveaxis, ops.Swapaxes)
def transpose(graph, node, args, kwargs):
    return _transpose(graph, node, args, node.layer.perm(len(_shape(node))))


@lowers(ops.Split, ops.ArraySplit)
def split(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    shape = _shape(node)
    axis = layer.arguments["axis"] % len(shape)
    sizes = [known_size(node, size, "splitting") for size in layer.sizes(shape)]
    need_opset(graph, layer, 13, "Split with sizes as an input")
    offsets = np.cumsum([0, *sizes])
    return [graph.node("Slice", [args[0], graph.ints([start], f"{hint}/start"),
                                 graph.ints([end], f"{hint}/end"),
                                 graph.ints([axis], f"{hint}/axis")], hint)
            for start, end in zip(offsets, offsets[1:])]


@lowers(ops.Unstack)
def unstack(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    shape = _shape(node)
    axis = layer.arguments["axis"] % len(shape)
    count = len(node.outputs)
    return [graph.node("Gather", [args[0], graph.constant(np.asarray(index, np.int64),
                                                          f"{hint}/index")], hint, axis=axis)
            for index in range(count)]


@lowers(ops.Tile)
def tile(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    rank = len(_shape(node))
    reps = layer.reps(rank)
    x = args[0]
    if len(reps) > rank:
        x = graph.node("Reshape", [x, graph.ints([1] * (len(reps) - rank) + [0] * rank,
                                                 f"{hint}/lift")], hint)
    return graph.node("Tile", [x, graph.ints(reps, f"{hint}/repeats")], hint)


@lowers(ops.Repeat)
def repeat(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    x, axis = args[0], layer.arguments["axis"]
    shape = _shape(node)
    if axis is None:
        x, axis = graph.node("Reshape", [x, graph.ints([-1], f"{hint}/flat")], hint), 0
        size = known_size(node, None if None in shape else int(np.prod(shape)), "repeat")
    else:
        axis %= len(shape)
        size = known_size(node, shape[axis], "repeat along an axis")
    indices = np.repeat(np.arange(size), layer.arguments["repeats"])
    return graph.node("Gather", [x, graph.ints(indices, f"{hint}/indices")], hint, axis=axis)


@lowers(ops.Flip)
def flip(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    axes = ops.numpy.arrange.axis_list(layer, layer.arguments["axis"], len(_shape(node)))
    count = len(axes)
    return graph.node("Slice", [args[0], graph.ints([-1] * count, f"{hint}/starts"),
                                graph.ints([-_END] * count, f"{hint}/ends"),
                                graph.ints(axes, f"{hint}/axes"),
                                graph.ints([-1] * count, f"{hint}/steps")], hint)


@lowers(ops.Roll)
def roll(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    shape = _shape(node)
    shift, axis = layer.arguments["shift"], layer.arguments["axis"]
    x = args[0]
    if axis is None:
        total = known_size(node, None if None in shape else int(np.prod(shape)), "roll")
        flat = graph.node("Reshape", [x, graph.ints([-1], f"{hint}/flat")], hint)
        shifts = shift if isinstance(shift, list) else [shift]
        indices = (np.arange(total) - sum(shifts)) % total
        rolled = graph.node("Gather", [flat, graph.ints(indices, f"{hint}/indices")], hint, axis=0)
        return graph.node("Reshape", [rolled, graph.ints([-1 if d is None else d for d in shape],
                                                         f"{hint}/shape")], hint)
    axes = axis if isinstance(axis, list) else [axis]
    shifts = shift if isinstance(shift, list) else [shift] * len(axes)
    if len(shifts) != len(axes):
        refuse(node, "shift and axis of different lengths")
    for one_axis, one_shift in zip(axes, shifts):
        one_axis %= len(shape)
        size = known_size(node, shape[one_axis], "roll")
        indices = (np.arange(size) - one_shift) % size
        x = graph.node("Gather", [x, graph.ints(indices, f"{hint}/indices")], hint, axis=one_axis)
    return x


@lowers(ops.BroadcastTo)
def broadcast_to(graph, node, args, kwargs):
    return graph.node("Expand", [args[0], graph.ints(node.layer.arguments["shape"],
                                                     f"{node.layer.name}/shape")],
                      node.layer.name)


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "edge", "wrap": "wrap"}


@lowers(ops.Pad)
def pad(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    mode = layer.arguments["mode"]
    if mode not in _PAD_MODES:
        refuse(node, f"pad mode {mode!r} (ONNX pads constant, reflect, edge and wrap)")
    if mode == "wrap":
        need_opset(graph, layer, 19, "Pad mode wrap")
    pairs = layer.pairs(len(_shape(node)))
    pads = [before for before, _ in pairs] + [after for _, after in pairs]
    inputs = [args[0], graph.ints(pads, f"{hint}/pads")]
    if mode == "constant":
        value = kwargs.get("constant_values")
        if value is not None and not isinstance(value, (bool, int, float)):
            refuse(node, "constant_values given as a tensor")
        inputs.append(scalar(graph, 0 if value is None else value, node.outputs[0].dtype, hint))
    return graph.node("Pad", inputs, hint, mode=_PAD_MODES[mode])


@lowers(ops.Ravel)
def ravel(graph, node, args, kwargs):
    return graph.node("Reshape", [args[0], graph.ints([-1], f"{node.layer.name}/flat")],
                      node.layer.name)


@lowers(ops.Hstack, ops.Vstack)
def stacking(graph, node, args, kwargs):
    layer = node.layer
    tensors = node.call_args[0]
    dtype = node.outputs[0].dtype
    if any(tensor.dtype != dtype for tensor in tensors):
        refuse(node, "operands of different dtypes")
    rank = len(tensors[0].shape)
    if rank < 2 and isinstance(layer, ops.Vstack):
        refuse(node, "vstack of vectors")
    return graph.node("Concat", list(args[0]), layer.name, axis=layer.axis(rank))


@lowers(ops.Tril, ops.Triu)
def triangle(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    need_opset(graph, layer, 14, "Trilu")
    return graph.node("Trilu", [args[0], graph.constant(np.asarray(layer.arguments["k"],
                                                                   np.int64), f"{hint}/k")],
                      hint, upper=int(isinstance(layer, ops.Triu)))


@lowers(ops.Diagonal)
def diagonal(graph, node, args, kwargs):
    """The plane moved last and flattened, then a Gather of the diagonal's flat positions."""
    layer, hint = node.layer, node.layer.name
    shape = _shape(node)
    first, second = layer.plane(len(shape))
    rows = known_size(node, shape[first], "diagonal")
    columns = known_size(node, shape[second], "diagonal")
    rest = [axis for axis in range(len(shape)) if axis not in (first, second)]
    moved = graph.node("Transpose", [args[0]], hint, perm=[*rest, first, second])
    flat = graph.node("Reshape", [moved, graph.ints([0] * len(rest) + [rows * columns],
                                                    f"{hint}/flat")], hint)
    offset = layer.arguments["offset"]
    length = layer.length(rows, columns)
    start_row, start_column = max(-offset, 0), max(offset, 0)
    positions = [(start_row + i) * columns + start_column + i for i in range(length)]
    return graph.node("Gather", [flat, graph.ints(positions, f"{hint}/positions")], hint,
                      axis=len(rest))
