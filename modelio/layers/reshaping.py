"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector."""

import math

import numpy as np

from ..errors import ConfigError
from ..graph import Layer, register_layer
from .arguments import check_int, check_int_tuple, standardize_data_format


@register_layer()
class Flatten(Layer):
    """Flattens all but the batch axis; channels_first inputs are flattened channels-last,
    as Keras does, so a following Dense sees the same order either way."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, type(self), self.name)

    def compute_output_shape(self, input_shape):
        dims = input_shape[1:]
        size = None if any(dim is None for dim in dims) else math.prod(dims)
        return (input_shape[0], size)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = np.moveaxis(inputs, 1, -1)
        return inputs.reshape(inputs.shape[0], -1)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


@register_layer()
class Reshape(Layer):
    """Reshapes to `target_shape` (without the batch axis); one entry may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target_shape = check_int_tuple(target_shape, "target_shape", type(self), self.name)
        if sum(dim == -1 for dim in target_shape) > 1 or any(
                dim < -1 or dim == 0 for dim in target_shape):
            raise ConfigError(f"layer '{self.name}' (Reshape): target_shape {list(target_shape)} "
                              f"must hold positive sizes and at most one -1")
        self.target_shape = target_shape
        self.built = True

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self._resolve(input_shape[1:]))

    def _resolve(self, input_dims) -> tuple:
        if -1 not in self.target_shape:
            known = math.prod(self.target_shape)
            if None not in input_dims and math.prod(input_dims) != known:
                raise ConfigError(f"layer '{self.name}' (Reshape): cannot reshape {input_dims} "
                                  f"into {self.target_shape}")
            return self.target_shape
        if None in input_dims:
            return tuple(None if dim == -1 else dim for dim in self.target_shape)
        known = math.prod(dim for dim in self.target_shape if dim != -1)
        total = math.prod(input_dims)
        if total % known:
            raise ConfigError(f"layer '{self.name}' (Reshape): cannot reshape {input_dims} "
                              f"into {self.target_shape}")
        return tuple(total // known if dim == -1 else dim for dim in self.target_shape)

    def call(self, inputs):
        return inputs.reshape(inputs.shape[0], *self._resolve(inputs.shape[1:]))

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


@register_layer()
class Permute(Layer):
    """Permutes the non-batch axes: `dims` is 1-indexed, e.g. (2, 1) swaps the first two."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = check_int_tuple(dims, "dims", type(self), self.name)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ConfigError(f"layer '{self.name}' (Permute): dims must be a permutation of "
                              f"1..{len(dims)}, got {list(dims)}")
        self.dims = dims

    def compute_output_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ConfigError(f"layer '{self.name}' (Permute): expects rank {len(self.dims) + 1} "
                              f"inputs, got {input_shape}")
        return (input_shape[0], *(input_shape[dim] for dim in self.dims))

    def call(self, inputs):
        return np.transpose(inputs, (0, *self.dims))

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": list(self.dims)}


@register_layer()
class RepeatVector(Layer):
    """Repeats a (batch, features) input `n` times: (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = check_int(n, "n", type(self), self.name, minimum=1)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ConfigError(f"layer '{self.name}' (RepeatVector) expects (batch, features) "
                              f"inputs, got {input_shape}")
        return (input_shape[0], self.n, input_shape[1])

    def call(self, inputs):
        return np.repeat(inputs[:, np.newaxis, :], self.n, axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}
