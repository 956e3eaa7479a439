"""`keras.ops.core`'s scattering operations as Keras 3 graphs record them: `Scatter` (values
added into zeros of a fixed shape), `ScatterUpdate` (values written or combined into a tensor at
index tuples) and `SliceUpdate` (a block written into a tensor at start indices); each a
registered class with Keras's config.

Indices follow Keras's torch backend: an index tuple of k <= rank integers names a position (k =
rank) or a slice of the trailing axes (k < rank); negative indices count from the end; an index
out of range is an error, as are slice updates that would leave the tensor (torch refuses them
too; TensorFlow would clamp the start).
"""

import numpy as np

from ..graph.registry import register_operation
from ..graph.tensor import SymbolicTensor
from .base import REQUIRED, KerasOp, spec_of

__all__ = ["Scatter", "ScatterUpdate", "SliceUpdate", "SCATTER_REDUCTIONS"]

# reduction -> the numpy ufunc combining updates with what the tensor holds (in update order)
SCATTER_REDUCTIONS = {"add": np.add, "max": np.maximum, "min": np.minimum, "mul": np.multiply}


def _index_tuple(op, indices: np.ndarray, shape: tuple) -> tuple:
    """The columns of the (N, k) `indices` as non-negative index arrays into `shape`."""
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        op.fail(f"indices must be integers, got {indices.dtype}")
    sizes = np.asarray(shape[:indices.shape[-1]], dtype=np.int64)
    if indices.size and (np.any(indices < -sizes) or np.any(indices >= sizes)):
        op.fail(f"an index is out of range for shape {tuple(shape)}")
    indices = indices.astype(np.int64)
    return tuple(np.where(indices < 0, indices + sizes, indices).T)


def _check_indices(op, index_shape, rank: int, two_d: bool) -> None:
    if len(index_shape) < 1 or (two_d and len(index_shape) != 2):
        op.fail(f"indices must be a {'(N, k)' if two_d else '(..., k)'} tensor of index tuples, "
                f"got shape {tuple(index_shape)}")
    if index_shape[-1] is None or not 1 <= index_shape[-1] <= rank:
        op.fail(f"index tuples of length {index_shape[-1]} do not index a rank-{rank} tensor")


@register_operation
class Scatter(KerasOp):
    """Zeros of `shape` with `values` added at `indices` ((..., k) index tuples; values
    (..., *shape[k:])); repeated indices add up."""

    _keras_module = "keras.src.ops.core"
    ARGUMENTS = {"shape": REQUIRED}

    def check(self):
        shape = self.arguments["shape"]
        if not isinstance(shape, list) or not shape or not all(
                isinstance(size, int) and not isinstance(size, bool) and size >= 0
                for size in shape):
            self.fail(f"shape must be a non-empty list of sizes, got {shape!r}")
        if int(np.prod(shape)) > 2 ** 28:
            self.fail(f"shape {shape} is too large")

    def call(self, indices, values):
        shape, dtype = self.output_spec(indices, values)
        indices = np.asarray(indices)
        length = indices.shape[-1]
        indices = indices.reshape(-1, length)
        values = np.asarray(values)
        if values.size != indices.shape[0] * int(np.prod(shape[length:])):
            self.fail(f"values of shape {values.shape} for {indices.shape[0]} index tuples of "
                      f"blocks {shape[length:]}")
        values = values.reshape((-1,) + shape[length:])
        result = np.zeros(shape, dtype=dtype)
        np.add.at(result, _index_tuple(self, indices, shape), values)
        return result

    def output_spec(self, indices, values):
        index_shape = spec_of(indices)[0]
        shape = tuple(self.arguments["shape"])
        _check_indices(self, index_shape, len(shape), two_d=False)
        return shape, spec_of(values)[1]


@register_operation
class ScatterUpdate(KerasOp):
    """`inputs` with `updates` put at `indices` (N, k): written (reduction None; of repeated
    indices the last wins) or combined with what is there by "add", "max", "min", "mul"."""

    _keras_module = "keras.src.ops.core"
    ARGUMENTS = {"reduction": None}

    def check(self):
        if self.arguments["reduction"] is not None:
            self.check_choice("reduction", list(SCATTER_REDUCTIONS))

    def call(self, inputs, indices, updates):
        shape, dtype = self.output_spec(inputs, indices, updates)
        position = _index_tuple(self, indices, inputs.shape)
        target = (len(position[0]),) + inputs.shape[len(position):]
        try:
            updates = np.broadcast_to(np.asarray(updates).astype(dtype), target)
        except ValueError:
            self.fail(f"updates of shape {np.shape(updates)} do not fit {target}")
        result = np.array(inputs)
        reduction = self.arguments["reduction"]
        if reduction is None:
            result[position] = updates
        else:
            SCATTER_REDUCTIONS[reduction].at(result, position, updates)
        return result

    def output_spec(self, inputs, indices, updates):
        shape, dtype = spec_of(inputs)
        _check_indices(self, spec_of(indices)[0], len(shape), two_d=True)
        return tuple(shape), dtype


@register_operation
class SliceUpdate(KerasOp):
    """`inputs` with the block `updates` written at `start_indices` (one start per axis:
    integers, scalar tensors, or one vector tensor)."""

    _keras_module = "keras.src.ops.core"

    def _eager_call(self, args, kwargs):
        inputs, starts, updates = args
        if isinstance(starts, (list, tuple)):
            starts = [np.asarray(item) for item in starts]
        return self.call(np.asarray(inputs), starts, np.asarray(updates))

    def call(self, inputs, start_indices, updates):
        self.output_spec(inputs, start_indices, updates)
        starts = [int(value) for value in (
            [np.asarray(item).reshape(()) for item in start_indices]
            if isinstance(start_indices, (list, tuple))
            else np.asarray(start_indices).reshape(-1))]
        if len(starts) != inputs.ndim or updates.ndim != inputs.ndim:
            self.fail(f"needs one start index per axis and updates of rank {inputs.ndim}, got "
                      f"{len(starts)} starts and updates of shape {updates.shape}")
        for axis, (start, size, length) in enumerate(zip(starts, updates.shape, inputs.shape)):
            if not 0 <= start <= length - size:
                self.fail(f"a block of {size} from {start} leaves axis {axis} of size {length}")
        result = np.array(inputs)
        result[tuple(slice(start, start + size) for start, size in zip(starts, updates.shape))] \
            = updates
        return result

    def output_spec(self, inputs, start_indices, updates):
        shape, dtype = spec_of(inputs)
        update_shape = spec_of(updates)[0]
        if len(update_shape) != len(shape):
            self.fail(f"updates of rank {len(update_shape)} for a rank-{len(shape)} tensor")
        if isinstance(start_indices, (list, tuple)):
            count = len(start_indices)
            for item in start_indices:
                if isinstance(item, SymbolicTensor) and (
                        tuple(item.shape) != () or np.dtype(item.dtype).kind not in "iu"):
                    self.fail(f"start indices must be integers or integer scalars, got a "
                              f"{item.dtype} tensor of shape {tuple(item.shape)}")
                elif not isinstance(item, SymbolicTensor) and (
                        np.ndim(item) != 0 or np.asarray(item).dtype.kind not in "iu"):
                    self.fail(f"start indices must be integers, got {item!r}")
        else:
            start_shape, start_dtype = spec_of(start_indices)
            if len(start_shape) != 1 or np.dtype(start_dtype).kind not in "iu":
                self.fail(f"start_indices must be a vector of integers, got a {start_dtype} "
                          f"tensor of shape {tuple(start_shape)}")
            count = start_shape[0]
        if count is not None and count != len(shape):
            self.fail(f"{count} start indices for a rank-{len(shape)} tensor")
        for axis, (size, length) in enumerate(zip(update_shape, shape)):
            if None not in (size, length) and size > length:
                self.fail(f"updates of size {size} do not fit axis {axis} of size {length}")
        return tuple(shape), dtype
