"""Indexing: `keras.ops.numpy`'s `GetItem` (`x[key]` on a symbolic tensor), `Take`,
`TakeAlongAxis` and `keras.ops.core.slice` (`Slice`), and the ONNX twins of `keras.ops.numpy.take` (ONNX Gather) and of slicing (ONNX Slice,
with ONNX's clamping of starts and ends).
"""

import numpy as np

from ...errors import ConfigError
from ...graph import register_layer
from ...graph.operation import broadcast_shapes
from ...graph.registry import register_operation
from ..base import REQUIRED, KerasOp, normalize_axis, spec_of
from ..onnx_layer import (
    OnnxLayer,
    int_list,
    positive_axis,
    runtime_ints,
)

__all__ = [
    "GetItem", "OnnxGather", "OnnxSlice", "Slice", "Take", "TakeAlongAxis", "index_items",
    "onnx_slices",
]


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def index_items(op, key, rank: int) -> list:
    """`key` (an int, slice, None, Ellipsis or a list / tuple of them) as one item per output
    position: ("axis", input axis, slice), ("take", input axis, int) or ("new",)."""
    items = list(key) if isinstance(key, (list, tuple)) else [key]
    for item in items:
        if not (item is None or item is Ellipsis or isinstance(item, slice) or _is_int(item)):
            op.fail(f"indexing with {type(item).__name__} keys is not supported (integers, "
                    f"slices, None and ... are)")
        if isinstance(item, slice) and not all(part is None or _is_int(part) for part in (
                item.start, item.stop, item.step)):
            op.fail(f"slice {item} must hold integers or null")
        if isinstance(item, slice) and item.step == 0:
            op.fail("a slice step is 0")
    if sum(item is Ellipsis for item in items) > 1:
        op.fail("an index may hold one ... only")
    used = sum(1 for item in items if item is not None and item is not Ellipsis)
    if used > rank:
        op.fail(f"too many indices ({used}) for a rank-{rank} tensor")
    if Ellipsis in items:
        at = next(index for index, item in enumerate(items) if item is Ellipsis)
        items[at:at + 1] = [slice(None)] * (rank - used)
    else:
        items += [slice(None)] * (rank - used)
    result, axis = [], 0
    for item in items:
        if item is None:
            result.append(("new",))
        elif isinstance(item, slice):
            result.append(("axis", axis, item))
            axis += 1
        else:
            result.append(("take", axis, int(item)))
            axis += 1
    return result


@register_operation
class GetItem(KerasOp):
    """`x[key]` with integers, slices (any step), None (a new axis) and `...`."""

    def _eager_call(self, args, kwargs):
        x, key = args
        return self.call(np.asarray(x), key)

    def call(self, x, key):
        items = index_items(self, key, x.ndim)
        numpy_key = []
        for item in items:
            if item[0] == "new":
                numpy_key.append(None)
            elif item[0] == "axis":
                numpy_key.append(item[2])
            else:
                size = x.shape[item[1]]
                if not -size <= item[2] < size:
                    self.fail(f"index {item[2]} is out of range for an axis of {size}")
                numpy_key.append(item[2])
        return np.array(x[tuple(numpy_key)])

    def output_spec(self, x, key):
        shape, dtype = spec_of(x)
        dims = []
        for item in index_items(self, key, len(shape)):
            if item[0] == "new":
                dims.append(1)
            elif item[0] == "axis":
                size = shape[item[1]]
                dims.append(None if size is None else len(range(*item[2].indices(size))))
            elif shape[item[1]] is not None and not -shape[item[1]] <= item[2] < shape[item[1]]:
                self.fail(f"index {item[2]} is out of range for an axis of {shape[item[1]]}")
        return tuple(dims), dtype


@register_operation
class Take(KerasOp):
    """Elements of `x` at `indices` along `axis` (None: of the flattened x); negative indices
    count from the end."""

    ARGUMENTS = {"axis": None}

    def check(self):
        self.check_int("axis", allow_none=True)

    def call(self, x, indices):
        indices = np.asarray(indices).astype(np.int64)
        axis = self.arguments["axis"]
        if axis is None:
            x, axis = x.reshape(-1), 0
        size = x.shape[normalize_axis(self, axis, x.ndim)]
        if indices.size and (indices.min() < -size or indices.max() >= size):
            self.fail(f"an index is out of range [{-size}, {size})")
        return np.take(x, np.where(indices < 0, indices + size, indices), axis=axis)

    def output_spec(self, x, indices):
        shape, dtype = spec_of(x)
        index_shape = spec_of(indices)[0]
        if self.arguments["axis"] is None:
            return tuple(index_shape), dtype
        axis = normalize_axis(self, self.arguments["axis"], len(shape))
        return tuple(shape[:axis]) + tuple(index_shape) + tuple(shape[axis + 1:]), dtype


@register_operation
class TakeAlongAxis(KerasOp):
    """Elements of `x` at `indices` along `axis` (the other axes broadcast)."""

    ARGUMENTS = {"axis": None}

    def check(self):
        self.check_int("axis", allow_none=True)

    def call(self, x, indices):
        indices = np.asarray(indices).astype(np.int64)
        axis = self.arguments["axis"]
        if axis is None:
            x, axis = x.reshape(-1), 0
        axis = normalize_axis(self, axis, x.ndim)
        size = x.shape[axis]
        if indices.size and (indices.min() < -size or indices.max() >= size):
            self.fail(f"an index is out of range [{-size}, {size}) for axis {axis}")
        indices = np.where(indices < 0, indices + size, indices)
        x_shape, index_shape = list(x.shape), list(indices.shape)
        x_shape[axis] = index_shape[axis] = 1
        common = np.broadcast_shapes(tuple(x_shape), tuple(index_shape))
        x = np.broadcast_to(x, common[:axis] + (size,) + common[axis + 1:])
        indices = np.broadcast_to(indices, common[:axis] + (indices.shape[axis],)
                                  + common[axis + 1:])
        return np.take_along_axis(x, indices, axis=axis)

    def output_spec(self, x, indices):
        shape, dtype = spec_of(x)
        index_shape = spec_of(indices)[0]
        if self.arguments["axis"] is None:
            return tuple(index_shape), dtype
        axis = normalize_axis(self, self.arguments["axis"], len(shape))
        x_rest = tuple(shape[:axis]) + (1,) + tuple(shape[axis + 1:])
        i_rest = tuple(index_shape[:axis]) + (1,) + tuple(index_shape[axis + 1:])
        common = list(broadcast_shapes(x_rest, i_rest, where=f"{self.label}: "))
        common[axis] = index_shape[axis]
        return tuple(common), dtype


@register_operation
class Slice(KerasOp):
    """`keras.ops.slice`: the block of `shape` starting at `start_indices` (a call argument)."""

    _keras_module = "keras.src.ops.core"
    ARGUMENTS = {"shape": REQUIRED}

    def check(self):
        shape = self.arguments["shape"]
        if not isinstance(shape, list) or not all(
                isinstance(dim, int) and not isinstance(dim, bool) and dim >= -1
                for dim in shape):
            self.fail(f"shape must be a list of sizes (-1: to the end), got {shape!r}")

    def call(self, inputs, start_indices):
        starts = [int(value) for value in np.asarray(start_indices).reshape(-1)]
        if len(starts) != inputs.ndim or len(self.arguments["shape"]) != inputs.ndim:
            self.fail(f"start_indices and shape need one entry per axis of {inputs.shape}")
        key = tuple(slice(start, None if size == -1 else start + size)
                    for start, size in zip(starts, self.arguments["shape"]))
        return np.array(inputs[key])

    def output_spec(self, inputs, start_indices):
        shape, dtype = spec_of(inputs)
        return tuple(None if size == -1 else size for size in self.arguments["shape"]), dtype


@register_layer()
class OnnxGather(OnnxLayer):
    """ONNX Gather: `take(data, indices, axis)` with negative indices counted from the end."""

    def __init__(self, axis=0, constants=None, **kwargs):
        super().__init__(constants=constants, **kwargs)
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        data, indices = self.operand_shapes(input_shape)
        axis = positive_axis(self.axis, len(data), self.name)
        return (*data[:axis], *indices, *data[axis + 1:])

    def compute(self, operands):
        data, indices = operands
        axis = self.axis % data.ndim
        size = data.shape[axis]
        indices = np.asarray(indices).astype(np.int64)
        if indices.size and (indices.min() < -size or indices.max() >= size):
            raise ConfigError(f"layer '{self.name}' (OnnxGather): an index is out of range "
                              f"[{-size}, {size})")
        return np.take(data, np.where(indices < 0, indices + size, indices), axis=axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


@register_layer()
class OnnxSlice(OnnxLayer):
    """ONNX Slice with fixed `starts`, `ends`, `axes` and `steps` (ONNX's clamping rules)."""

    def __init__(self, starts=None, ends=None, axes=None, steps=None, **kwargs):
        super().__init__(**kwargs)
        if starts is None:  # starts, ends, axes and steps are run-time operands 1 to 4
            self.starts = self.ends = self.axes = self.steps = None
            return
        self.starts = int_list(starts, "starts", self.name)
        self.ends = int_list(ends, "ends", self.name)
        self.axes = int_list(axes, "axes", self.name, allow_none=True)
        self.steps = int_list(steps, "steps", self.name, allow_none=True)
        if len(self.ends) != len(self.starts) or any(
                values is not None and len(values) != len(self.starts)
                for values in (self.axes, self.steps)):
            raise ConfigError(f"layer '{self.name}' (OnnxSlice): starts, ends, axes and steps "
                              f"must have the same length")
        if self.steps is not None and 0 in self.steps:
            raise ConfigError(f"layer '{self.name}' (OnnxSlice): a step is 0")

    def slices(self, shape) -> tuple:
        return onnx_slices(shape, self.starts, self.ends, self.axes, self.steps, self.name)

    def compute_output_shape(self, input_shape):
        if self.starts is None:
            shapes = self.operand_shapes(input_shape)
            if len(shapes) != 5:
                raise ConfigError(f"layer '{self.name}': a run-time Slice takes x, starts, ends, "
                                  f"axes and steps, got {len(shapes)} operands")
            return (None,) * len(shapes[0])
        dims = list(input_shape)
        for axis, item in enumerate(self.slices(input_shape)):
            if item != slice(None) and dims[axis] is not None:
                dims[axis] = len(range(*item.indices(dims[axis])))
            elif item != slice(None):
                dims[axis] = None
        return tuple(dims)

    def compute(self, operands):
        x = operands[0]
        if self.starts is None:
            starts, ends, axes, steps = (runtime_ints(value) for value in operands[1:5])
            if 0 in steps:
                raise ConfigError(f"layer '{self.name}' (OnnxSlice): a step is 0")
            return x[onnx_slices(x.shape, starts, ends, axes, steps, self.name)]
        return x[self.slices(x.shape)]

    def get_config(self) -> dict:
        return {**super().get_config(), "starts": self.starts, "ends": self.ends,
                "axes": self.axes, "steps": self.steps}


def onnx_slices(shape, starts, ends, axes, steps, name: str = "") -> tuple:
    """Python slices for ONNX Slice (python slicing already clamps starts and ends)."""
    rank = len(shape)
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    items = [slice(None)] * rank
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis = positive_axis(int(axis), rank, name)
        start, end, step = int(start), int(end), int(step)
        # INT64 min/max mean "to the end": Python slicing treats huge values the same way,
        # except a negative end below -dim with a negative step, which must run past index 0.
        if step < 0 and end < -(2**31):
            end = None
        items[axis] = slice(start, end, step)
    return tuple(items)
