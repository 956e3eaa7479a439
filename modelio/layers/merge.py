"""Merge layers: elementwise Add/Subtract/Multiply/Average/Maximum/Minimum, Concatenate, Dot."""

import numpy as np

from .. import ops
from ..errors import ConfigError
from ..graph import Layer, register_layer
from .arguments import check_bool, check_int


class _Merge(Layer):
    """Combines a list of inputs elementwise. Inputs of lower rank get axes inserted after the
    batch axis (as Keras does), then numpy broadcasting applies."""

    supports_masking = True

    def compute_mask(self, inputs, previous_mask):
        """A position is kept when any input keeps it (Keras's OR of the masks)."""
        if previous_mask is None or any(mask is None for mask in previous_mask):
            return None
        output_mask = previous_mask[0]
        for mask in previous_mask[1:]:
            output_mask = ops.logical_or(output_mask, mask)
        return output_mask

    def _check_list(self, input_shape, minimum: int = 1):
        if not isinstance(input_shape, list) or len(input_shape) < minimum or not all(
                isinstance(shape, tuple) for shape in input_shape):
            raise ConfigError(f"layer '{self.name}' ({type(self).__name__}) must be called on a "
                              f"list of at least {minimum} tensors")

    def build(self, input_shape):
        self._check_list(input_shape)

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        rank = max(len(shape) for shape in input_shape)
        output = [None] * (rank - 1)
        for index in range(1, rank):
            sizes = set()
            for shape in input_shape:
                padded = (shape[0],) + (1,) * (rank - len(shape)) + shape[1:]
                sizes.add(padded[index])
            known = sizes - {None, 1}
            if len(known) > 1:
                raise ConfigError(f"layer '{self.name}' ({type(self).__name__}): shapes "
                                  f"{input_shape} cannot be merged elementwise")
            output[index - 1] = known.pop() if known else (None if None in sizes else 1)
        batch = {shape[0] for shape in input_shape} - {None}
        return (batch.pop() if len(batch) == 1 else None, *output)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ConfigError(f"layer '{self.name}' must be called on a list of arrays")
        rank = max(np.ndim(value) for value in inputs)
        aligned = [value.reshape(value.shape[:1] + (1,) * (rank - value.ndim) + value.shape[1:])
                   for value in inputs]
        return self._merge(aligned)

    merge_function = None  # the binary numpy ufunc folded over the inputs

    def _merge(self, inputs: list):
        result = inputs[0]
        for value in inputs[1:]:
            result = self.merge_function(result, value)
        return result


@register_layer()
class Add(_Merge):
    """Sum of the inputs."""

    merge_function = np.add


@register_layer()
class Subtract(_Merge):
    """First input minus the second."""

    merge_function = np.subtract

    def build(self, input_shape):
        self._check_list(input_shape, 2)
        if len(input_shape) != 2:
            raise ConfigError(f"layer '{self.name}' (Subtract) takes exactly 2 inputs, "
                              f"got {len(input_shape)}")


@register_layer()
class Multiply(_Merge):
    """Product of the inputs."""

    merge_function = np.multiply


@register_layer()
class Average(_Merge):
    """Mean of the inputs."""

    merge_function = np.add

    def _merge(self, inputs):
        return super()._merge(inputs) / np.asarray(len(inputs), dtype=inputs[0].dtype)


@register_layer()
class Maximum(_Merge):
    """Elementwise maximum of the inputs."""

    merge_function = np.maximum


@register_layer()
class Minimum(_Merge):
    """Elementwise minimum of the inputs."""

    merge_function = np.minimum


@register_layer()
class Concatenate(Layer):
    """Joins the inputs along `axis` (any axis except the batch axis)."""

    supports_masking = True

    def compute_mask(self, inputs, previous_mask):
        """Concatenates the masks (all-true for unmasked inputs), then keeps a step when any of
        its features is kept — the graph of operations Keras 3 records."""
        if previous_mask is None or all(mask is None for mask in previous_mask):
            return None
        masks = []
        for tensor, mask in zip(inputs, previous_mask):
            if mask is None:
                masks.append(ops.ones_like(tensor, dtype="bool"))
            elif mask.ndim < tensor.ndim:
                masks.append(ops.logical_or(ops.expand_dims(mask, axis=-1),
                                            ops.zeros_like(tensor, dtype="bool")))
            else:
                masks.append(mask)
        return ops.any(ops.concatenate(masks, axis=self.axis), axis=-1, keepdims=False)

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = check_int(axis, "axis", type(self), self.name)

    def build(self, input_shape):
        if not isinstance(input_shape, list) or not all(isinstance(s, tuple) for s in input_shape):
            raise ConfigError(f"layer '{self.name}' (Concatenate) must be called on a list of tensors")

    def compute_output_shape(self, input_shape):
        self.build(input_shape)
        rank = len(input_shape[0])
        axis = self.axis % rank if -rank <= self.axis < rank else None
        if axis is None or axis == 0 or any(len(shape) != rank for shape in input_shape):
            raise ConfigError(f"layer '{self.name}' (Concatenate): cannot join shapes {input_shape} "
                              f"on axis {self.axis}")
        output = list(input_shape[0])
        for index in range(1, rank):
            sizes = [shape[index] for shape in input_shape]
            if index == axis:
                output[index] = None if None in sizes else sum(sizes)
            else:
                known = set(sizes) - {None}
                if len(known) > 1:
                    raise ConfigError(f"layer '{self.name}' (Concatenate): shapes {input_shape} "
                                      f"differ outside axis {self.axis}")
                output[index] = known.pop() if known else None
        return tuple(output)

    def call(self, inputs):
        return np.concatenate(inputs, axis=self.axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


@register_layer()
class Dot(Layer):
    """Batchwise dot product of two inputs along `axes` (one int, or one per input);
    `normalize=True` L2-normalizes both along those axes first (cosine similarity)."""

    supports_masking = True

    def compute_mask(self, inputs, previous_mask):
        return None

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2:
                raise ConfigError(f"layer '{self.name}' (Dot): axes must be an int or two ints, "
                                  f"got {axes!r}")
            axes = [check_int(axis, "axes", type(self), self.name) for axis in axes]
        else:
            axes = check_int(axes, "axes", type(self), self.name)
        self.axes = axes
        self.normalize = check_bool(normalize, "normalize", type(self), self.name)

    def resolved_axes(self, ranks) -> list[int]:
        """The contracted axis of each input, counted from 0, for inputs of `ranks`."""
        axes = self.axes if isinstance(self.axes, list) else [self.axes, self.axes]
        resolved = [axis % rank if axis < 0 else axis for axis, rank in zip(axes, ranks)]
        if 0 in resolved or any(axis >= rank for axis, rank in zip(resolved, ranks)):
            raise ConfigError(f"layer '{self.name}' (Dot): axes {self.axes} do not fit inputs "
                              f"of rank {ranks} (the batch axis cannot be contracted)")
        return resolved

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) != 2:
            raise ConfigError(f"layer '{self.name}' (Dot) must be called on a list of 2 tensors")
        first, second = input_shape
        if len(first) < 2 or len(second) < 2:
            raise ConfigError(f"layer '{self.name}' (Dot) needs inputs of rank >= 2, got {input_shape}")
        axis_first, axis_second = self.resolved_axes([len(first), len(second)])
        if None not in (first[axis_first], second[axis_second]) and \
                first[axis_first] != second[axis_second]:
            raise ConfigError(f"layer '{self.name}' (Dot): sizes differ along the dot axes: "
                              f"{input_shape}, axes {self.axes}")
        shape = (first[0],) + tuple(dim for i, dim in enumerate(first) if i not in (0, axis_first))
        shape += tuple(dim for i, dim in enumerate(second) if i not in (0, axis_second))
        return shape if len(shape) > 1 else (shape[0], 1)

    def call(self, inputs):
        first, second = inputs
        axis_first, axis_second = self.resolved_axes([first.ndim, second.ndim])
        if self.normalize:
            first, second = _l2_normalize(first, axis_first), _l2_normalize(second, axis_second)
        first = np.moveaxis(first, axis_first, -1)
        second = np.moveaxis(second, axis_second, 1)
        batch, depth = first.shape[0], first.shape[-1]
        product = first.reshape(batch, -1, depth) @ second.reshape(batch, depth, -1)
        shape = first.shape[:-1] + second.shape[2:]
        return product.reshape(shape if len(shape) > 1 else (batch, 1))

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalize(values, axis):
    square_sum = np.sum(np.square(values), axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        inverse_norm = np.minimum(1.0 / np.sqrt(square_sum), np.asarray(1e7, values.dtype))
    return values * inverse_norm.astype(values.dtype)
