"""ONNX ops imported as Keras 3 operations (or short compositions of them) whose semantics match
ONNX's exactly: Einsum, TopK, ArgMax/ArgMin, GatherElements, Trilu, Mod, BitShift, the Bitwise
ops, IsInf, Celu, HardSwish, Det, SpaceToDepth/DepthToSpace (DCR), Compress (constant
condition), CumSum/CumProd (plain or reverse scans), and NonZero/Unique folded on constant
inputs (their output sizes depend on the data: on a run-time input they are refused by name).
Their export is the Keras operations' own lowerings."""

import string

import numpy as np
from onnx import NodeProto

from .. import ops
from ..errors import FormatError, UnsupportedError
from .import_context import ImportContext
from .import_support.constants import fold, is_tensor
from .import_support.layer_calls import extra_name
from .import_support.node_inputs import inputs_of, positive_axis
from .onnx_ops import blocks_crd, cumulative
from .registry import converts


def keras_op(context: ImportContext, node, cls, *operands, suffix: str | None = None,
             **arguments):
    """The Keras operation `cls(**arguments)` called on `operands` (folded on constants)."""
    name = context.layer_name(node) if suffix is None else extra_name(context, node, suffix)
    op = cls(name=name, **arguments)
    if not any(is_tensor(value) for value in operands):
        return fold(context, node, lambda *arrays: op.call(*arrays),
                    *[np.asarray(value) for value in operands])
    return op(*operands)


def _rank(value) -> int:
    return value.ndim if is_tensor(value) else np.ndim(value)


def _dim(value, axis):
    return value.shape[axis] if is_tensor(value) else np.shape(value)[axis]


# ----- Einsum -------------------------------------------------------------------------------------
def einsum_equation(context, node, equation: str, ranks: list) -> str:
    """`equation` without spaces, `...` or an implicit output (Keras's Einsum takes neither)."""
    spec = equation.replace(" ", "")
    lhs, arrow, output = spec.partition("->")
    parts = lhs.split(",")
    if len(parts) != len(ranks):
        raise FormatError(f"{context.where(node)}: equation {equation!r} has {len(parts)} "
                          f"operands, the node {len(ranks)}")
    free = [letter for letter in string.ascii_letters if letter not in spec]
    counts = [rank - (len(part) - 3) for part, rank in zip(parts, ranks) if "..." in part]
    width = max(counts, default=0)
    if min(counts, default=0) < 0 or width > len(free):
        raise FormatError(f"{context.where(node)}: equation {equation!r} does not fit the ranks")
    ellipsis = "".join(free[:width])
    parts = [part.replace("...", ellipsis[width - (rank - (len(part) - 3)):])
             if "..." in part else part for part, rank in zip(parts, ranks)]
    if arrow:
        output = output.replace("...", ellipsis)
    else:
        letters = "".join(parts)
        output = ellipsis + "".join(sorted(c for c in set(letters)
                                           if letters.count(c) == 1 and c not in ellipsis))
    return ",".join(parts) + "->" + output


@converts("Einsum")
def convert_einsum(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1)
    equation = context.attribute(node, "equation")
    if not isinstance(equation, str):
        raise FormatError(f"{context.where(node)}: the equation attribute is required")
    subscripts = einsum_equation(context, node, equation, [_rank(value) for value in values])
    if subscripts == "->":  # one scalar operand: itself
        return [values[0]]
    return [keras_op(context, node, ops.Einsum, *values, subscripts=subscripts)]


# ----- TopK, ArgMax, ArgMin -----------------------------------------------------------------------
def _order_reversed(context, node, x):
    """A tensor whose descending order is `x`'s ascending order, ties kept in index order."""
    dtype = np.dtype(x.dtype)
    if dtype == np.bool_:
        return keras_op(context, node, ops.LogicalNot, x, suffix="reversed")
    if dtype.kind in "iu":  # ~x reverses the order of signed and unsigned integers exactly
        return keras_op(context, node, ops.BitwiseInvert, x, suffix="reversed")
    return keras_op(context, node, ops.Negative, x, suffix="reversed")


def _moved(context, node, x, source, destination, suffix):
    if source == destination:
        return x
    return keras_op(context, node, ops.Moveaxis, x, suffix=suffix, source=source,
                    destination=destination)


@converts("TopK")
def convert_top_k(context: ImportContext, node: NodeProto) -> list:
    if context.opset < 10:
        (x,) = inputs_of(context, node, 1, 1)
        k = context.attribute(node, "k")
    else:
        x, _ = inputs_of(context, node, 2, 2)
        k = np.asarray(context.constant(node, 1)).reshape(-1)[0]
    if not is_tensor(x):
        x = np.asarray(x)
    rank = _rank(x)
    axis = positive_axis(context, node, int(context.attribute(node, "axis", -1)), rank)
    k = int(k)
    size = _dim(x, axis)
    if k < 1 or (size is not None and k > size):
        raise UnsupportedError(f"{context.where(node)}: k={k} on an axis of size {size}")
    largest = int(context.attribute(node, "largest", 1))
    if not is_tensor(x):  # numpy, with ONNX's ties (the lower index first)
        moved = np.moveaxis(x, axis, -1)
        key = moved if largest else (~moved if moved.dtype.kind in "biu" else -moved)
        order = np.argsort(-key if key.dtype.kind == "f" else ~key, axis=-1,
                           kind="stable")[..., :k]
        values = np.take_along_axis(moved, order, axis=-1)
        return [np.moveaxis(values, -1, axis), np.moveaxis(order.astype(np.int64), -1, axis)]
    moved = _moved(context, node, x, axis, rank - 1, "moved")
    key = moved if largest else _order_reversed(context, node, moved)
    _, order = keras_op(context, node, ops.TopK, key, suffix="top_k", k=k, sorted=True)
    values = keras_op(context, node, ops.TakeAlongAxis, moved, order, suffix="values", axis=-1)
    indices = keras_op(context, node, ops.Cast, order, suffix="indices", dtype="int64")
    return [_moved(context, node, values, rank - 1, axis, "values_back"),
            _moved(context, node, indices, rank - 1, axis, "indices_back")]


@converts("ArgMax", "ArgMin")
def convert_arg_reduce(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    axis = positive_axis(context, node, int(context.attribute(node, "axis", 0)), _rank(x))
    keepdims = bool(context.attribute(node, "keepdims", 1))
    last = bool(context.attribute(node, "select_last_index", 0))
    cls = ops.Argmax if node.op_type == "ArgMax" else ops.Argmin
    if not is_tensor(x):
        x = np.asarray(x)
        source = np.flip(x, axis) if last else x
        index = cls.function(source, axis=axis, keepdims=keepdims).astype(np.int64)
        return [x.shape[axis] - 1 - index if last else index]
    size = x.shape[axis]
    if last and size is None:
        raise UnsupportedError(f"{context.where(node)}: select_last_index on an axis of "
                               f"unknown size")
    source = keras_op(context, node, ops.Flip, x, suffix="flipped", axis=axis) if last else x
    index = keras_op(context, node, cls, source, suffix="index", axis=axis, keepdims=keepdims)
    index = keras_op(context, node, ops.Cast, index, suffix="int64", dtype="int64")
    if last:
        index = keras_op(context, node, ops.Subtract, np.asarray(size - 1, np.int64), index)
    return [index]


# ----- indexing -----------------------------------------------------------------------------------
@converts("GatherElements")
def convert_gather_elements(context: ImportContext, node: NodeProto) -> list:
    data, indices = inputs_of(context, node, 2, 2)
    if _rank(data) != _rank(indices) or _rank(data) < 1:
        raise FormatError(f"{context.where(node)}: data and indices must have the same rank")
    axis = positive_axis(context, node, int(context.attribute(node, "axis", 0)), _rank(data))
    return [keras_op(context, node, ops.TakeAlongAxis, data, indices, axis=axis)]


@converts("Compress")
def convert_compress(context: ImportContext, node: NodeProto) -> list:
    x, _ = inputs_of(context, node, 2, 2)
    condition = np.asarray(context.constant(node, 1)).reshape(-1).astype(bool)
    axis = context.attribute(node, "axis")
    if axis is not None:
        axis = positive_axis(context, node, int(axis), _rank(x))
    size = _dim(x, axis) if axis is not None else (
        None if is_tensor(x) and None in x.shape else int(np.prod(
            x.shape if is_tensor(x) else np.shape(x))))
    if size is not None and condition.size > size:
        raise FormatError(f"{context.where(node)}: a condition of {condition.size} values for "
                          f"an axis of size {size}")
    indices = np.nonzero(condition)[0].astype(np.int64)
    return [keras_op(context, node, ops.Take, x, indices, axis=axis)]


@converts("Trilu")
def convert_trilu(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1, 2)
    if _rank(values[0]) < 2:
        raise FormatError(f"{context.where(node)}: the input must have rank >= 2")
    k = context.constant(node, 1, required=False)
    k = 0 if k is None else int(np.asarray(k).reshape(-1)[0])
    cls = ops.Triu if int(context.attribute(node, "upper", 1)) else ops.Tril
    return [keras_op(context, node, cls, values[0], k=k)]


# ----- math, bits, activations --------------------------------------------------------------------
@converts("Mod")
def convert_mod(context: ImportContext, node: NodeProto) -> list:
    a, b = inputs_of(context, node, 2, 2)
    fmod = int(context.attribute(node, "fmod", 0))
    # fmod=0 is floor division's remainder (sign of B), numpy's mod also on floats (Mod-28)
    return [keras_op(context, node, ops.Fmod if fmod else ops.Mod, a, b)]


_BITWISE = {"BitwiseAnd": ops.BitwiseAnd, "BitwiseOr": ops.BitwiseOr,
            "BitwiseXor": ops.BitwiseXor}


@converts(*_BITWISE)
def convert_bitwise(context: ImportContext, node: NodeProto) -> list:
    a, b = inputs_of(context, node, 2, 2)
    return [keras_op(context, node, _BITWISE[node.op_type], a, b)]


@converts("BitwiseNot")
def convert_bitwise_not(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    return [keras_op(context, node, ops.BitwiseInvert, x)]


@converts("BitShift")
def convert_bit_shift(context: ImportContext, node: NodeProto) -> list:
    x, shift = inputs_of(context, node, 2, 2)
    direction = context.attribute(node, "direction")
    if direction not in ("LEFT", "RIGHT"):
        raise FormatError(f"{context.where(node)}: direction must be LEFT or RIGHT, got "
                          f"{direction!r}")
    cls = ops.LeftShift if direction == "LEFT" else ops.RightShift
    return [keras_op(context, node, cls, x, shift)]


@converts("IsInf")
def convert_is_inf(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    positive = int(context.attribute(node, "detect_positive", 1))
    negative = int(context.attribute(node, "detect_negative", 1))
    if not positive and not negative:
        raise UnsupportedError(f"{context.where(node)}: detect_positive=0 with "
                               f"detect_negative=0 (always false) is not supported")
    cls = ops.Isinf if positive and negative else ops.Isposinf if positive else ops.Isneginf
    return [keras_op(context, node, cls, x)]


@converts("Celu")
def convert_celu(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    return [keras_op(context, node, ops.Celu, x,
                     alpha=float(context.attribute(node, "alpha", 1.0)))]


@converts("HardSwish")
def convert_hard_swish(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    return [keras_op(context, node, ops.HardSilu, x)]


@converts("Det")
def convert_det(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    if _rank(x) < 2:
        raise FormatError(f"{context.where(node)}: the input must have rank >= 2")
    return [keras_op(context, node, ops.Det, x)]


def _blocksize(context, node, x) -> int:
    blocksize = context.attribute(node, "blocksize")
    if blocksize is None or int(blocksize) < 1 or _rank(x) != 4:
        raise FormatError(f"{context.where(node)}: needs a positive blocksize and a 4-D input")
    return int(blocksize)


@converts("SpaceToDepth")
def convert_space_to_depth(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    return [_blocks(context, node, x, _blocksize(context, node, x), ops.SpaceToDepth)]


@converts("DepthToSpace")
def convert_depth_to_space(context: ImportContext, node: NodeProto) -> list:
    (x,) = inputs_of(context, node, 1, 1)
    return [_blocks(context, node, x, _blocksize(context, node, x), ops.DepthToSpace)]


def _blocks(context, node, x, size, cls):
    mode = context.attribute(node, "mode", "DCR")
    if mode == "CRD":
        return blocks_crd(context, node, x, size)
    if mode != "DCR":
        raise FormatError(f"{context.where(node)}: unknown mode {mode!r}")
    return keras_op(context, node, cls, x, block_size=size, data_format="channels_first")


@converts("CumSum", "CumProd")
def convert_cumulative(context: ImportContext, node: NodeProto) -> list:
    x, axis = inputs_of(context, node, 2, 2)
    axis_value = np.asarray(context.constant(node, 1))
    if axis_value.size != 1:
        raise FormatError(f"{context.where(node)}: axis must hold one value")
    position = positive_axis(context, node, int(axis_value.reshape(-1)[0]), _rank(x))
    exclusive = int(context.attribute(node, "exclusive", 0))
    reverse = int(context.attribute(node, "reverse", 0))
    if exclusive:
        return [cumulative(context, node, node.op_type, x, axis_value, exclusive, reverse)]
    cls = ops.Cumsum if node.op_type == "CumSum" else ops.Cumprod
    if reverse:  # the scan of the flipped input, flipped back
        flipped = keras_op(context, node, ops.Flip, x, suffix="flipped", axis=position)
        scanned = keras_op(context, node, cls, flipped, suffix="scan", axis=position)
        return [keras_op(context, node, ops.Flip, scanned, axis=position)]
    return [keras_op(context, node, cls, x, axis=position)]


# ----- data-dependent sizes: folded on constants only ---------------------------------------------
def _constant_input(context, node, what: str):
    value = context.value(node.input[0])
    if is_tensor(value):
        raise UnsupportedError(f"{context.where(node)}: {node.op_type} of a run-time tensor "
                               f"({what} depends on the data); only a constant input is folded")
    return np.asarray(value)


@converts("NonZero")
def convert_non_zero(context: ImportContext, node: NodeProto) -> list:
    inputs_of(context, node, 1, 1)
    x = _constant_input(context, node, "the number of nonzero values")
    if x.ndim == 0:
        x = x.reshape(1)
    return [fold(context, node, lambda array: np.array(np.nonzero(array), dtype=np.int64), x)]


@converts("Unique")
def convert_unique(context: ImportContext, node: NodeProto) -> list:
    inputs_of(context, node, 1, 1)
    x = _constant_input(context, node, "the number of unique values")
    axis = context.attribute(node, "axis")
    if axis is not None:
        axis = positive_axis(context, node, int(axis), x.ndim)
    source = x.reshape(-1) if axis is None else x
    values, first, inverse, counts = np.unique(source, return_index=True, return_inverse=True,
                                               return_counts=True, axis=axis or 0)
    inverse = inverse.reshape(-1)
    if not int(context.attribute(node, "sorted", 1)):
        order = np.argsort(first, kind="stable")
        values = np.take(values, order, axis=axis or 0)
        first, counts = first[order], counts[order]
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        inverse = rank[inverse]
    return [values, *(array.astype(np.int64) for array in (first, inverse, counts))]
