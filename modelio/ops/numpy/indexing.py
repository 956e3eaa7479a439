"""Indexing: the ONNX twins of `keras.ops.numpy.take` (ONNX Gather) and of slicing (ONNX Slice,
with ONNX's clamping of starts and ends).
"""

import numpy as np

from ...errors import ConfigError
from ...graph import register_layer
from ..onnx_layer import (
    OnnxLayer,
    int_list,
    positive_axis,
    runtime_ints,
)

__all__ = [
    "OnnxGather", "OnnxSlice", "onnx_slices",
]


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
