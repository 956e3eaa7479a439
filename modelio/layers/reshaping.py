"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, and the spatial ones:
ZeroPadding, Cropping and UpSampling in 1D/2D/3D."""

import math

import numpy as np

from ..errors import ConfigError
from ..graph import Layer, register_layer
from .arguments import check_int, check_int_tuple, layer_label, standardize_data_format
from .pooling import check_rank, int_tuple
from .preprocessing import check_interpolation, resize_preserving_dtype


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


_ORDINALS = ("1st", "2nd", "3rd")


def _pairs(layer, value, argument: str, dims: int) -> tuple:
    """Keras's padding/cropping spellings: an int, `dims` ints (symmetric per axis), or `dims`
    (before, after) pairs. Returns `dims` pairs of non-negative ints."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ConfigError(f"{layer_label(layer)}: {argument} cannot be negative, got {value}")
        return ((value, value),) * dims
    if not isinstance(value, (list, tuple)) or len(value) != dims:
        raise ConfigError(f"{layer_label(layer)}: {argument} must be an integer, {dims} integers or "
                          f"{dims} pairs of integers, got {value!r}")
    return tuple(int_tuple(entry, f"{argument} ({_ORDINALS[index]} entry)", layer, 2, 0)
                 for index, entry in enumerate(value))


class _SpatialEdges(Layer):
    """Shared by ZeroPadding and Cropping: per spatial axis (before, after) amounts."""

    _dims = 0
    _argument = ""
    _has_data_format = True

    def __init__(self, amounts, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if self._dims == 1:
            amounts = (int_tuple(amounts, self._argument, self, 2, 0),)
        else:
            amounts = _pairs(self, amounts, self._argument, self._dims)
        setattr(self, self._argument, amounts)
        self.data_format = standardize_data_format(data_format, type(self), self.name)

    def _spatial_axes(self) -> tuple:
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self._dims))

    def _resized_shape(self, input_shape, growth: int) -> tuple:
        """`input_shape` with each known spatial size grown (+1) or shrunk (-1) by its amounts."""
        check_rank(self, input_shape, self._dims + 2)
        output_shape = list(input_shape)
        for axis, (before, after) in zip(self._spatial_axes(), self._amounts()):
            if output_shape[axis] is not None:
                output_shape[axis] += growth * (before + after)
        return tuple(output_shape)

    def _amounts(self):
        return getattr(self, self._argument)

    def _config_amounts(self):
        amounts = self._amounts()
        return [list(pair) for pair in amounts] if self._dims > 1 else list(amounts[0])

    def get_config(self) -> dict:
        config = {**super().get_config(), self._argument: self._config_amounts()}
        if self._has_data_format:
            config["data_format"] = self.data_format
        return config


class _ZeroPadding(_SpatialEdges):
    _argument = "padding"

    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)

    def compute_output_shape(self, input_shape):
        return self._resized_shape(input_shape, growth=1)

    def call(self, inputs):
        widths = [(0, 0)] * inputs.ndim
        for axis, pair in zip(self._spatial_axes(), self.padding):
            widths[axis] = pair
        return np.pad(inputs, widths)


@register_layer()
class ZeroPadding1D(_ZeroPadding):
    """Adds zeros before and after the steps axis: `padding` is an int or (before, after)."""

    _dims = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


@register_layer()
class ZeroPadding2D(_ZeroPadding):
    """Adds rows and columns of zeros: an int, (rows, cols), or ((top, bottom), (left, right))."""

    _dims = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


@register_layer()
class ZeroPadding3D(_ZeroPadding):
    """Adds zeros around the three spatial axes: an int, 3 ints or 3 (before, after) pairs."""

    _dims = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class _Cropping(_SpatialEdges):
    _argument = "cropping"

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)

    def compute_output_shape(self, input_shape):
        output_shape = self._resized_shape(input_shape, growth=-1)
        for axis in self._spatial_axes():
            if output_shape[axis] is not None and output_shape[axis] <= 0:
                raise ConfigError(f"{layer_label(self)}: cropping {self._config_amounts()} "
                                  f"must be smaller than the inputs' spatial size, got "
                                  f"shape {tuple(input_shape)}")
        return output_shape

    def call(self, inputs):
        index = [slice(None)] * inputs.ndim
        for axis, (before, after) in zip(self._spatial_axes(), self.cropping):
            index[axis] = slice(before, inputs.shape[axis] - after)
        return inputs[tuple(index)]


@register_layer()
class Cropping1D(_Cropping):
    """Removes `cropping` = (before, after) steps (an int crops both ends alike)."""

    _dims = 1
    _has_data_format = False

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, None, **kwargs)


@register_layer()
class Cropping2D(_Cropping):
    """Removes rows and columns: an int, (rows, cols) or ((top, bottom), (left, right))."""

    _dims = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


@register_layer()
class Cropping3D(_Cropping):
    """Removes cells at both ends of the three spatial axes: an int, 3 ints or 3 pairs."""

    _dims = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


# ----- UpSampling -----------------------------------------------------------------------------

class _UpSampling(Layer):
    _dims = 0

    def _spatial_axes(self) -> tuple:
        first = 1 if getattr(self, "data_format", "channels_last") == "channels_last" else 2
        return tuple(range(first, first + self._dims))

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, self._dims + 2)
        output_shape = list(input_shape)
        for axis, factor in zip(self._spatial_axes(), self.factors()):
            if output_shape[axis] is not None:
                output_shape[axis] *= factor
        return tuple(output_shape)

    def factors(self) -> tuple:
        """The repeat factor of each spatial axis."""
        return self.size

    def call(self, inputs):
        for axis, factor in zip(self._spatial_axes(), self.factors()):
            if factor != 1:
                inputs = np.repeat(inputs, factor, axis=axis)
        return inputs


@register_layer()
class UpSampling1D(_UpSampling):
    """Repeats each step `size` times."""

    _dims = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = check_int(size, "size", type(self), self.name, minimum=1)

    def factors(self) -> tuple:
        return (self.size,)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


@register_layer()
class UpSampling2D(_UpSampling):
    """Scales height and width by integer `size` factors, repeating rows and columns
    ("nearest") or resizing with another interpolation ("bilinear", "bicubic", "lanczos3",
    "lanczos5", "area": half-pixel centres, as Keras 3's TensorFlow backend resizes; also
    "gaussian" and "mitchellcubic" in layers from tf-keras configs, as tf-keras resizes)."""

    _dims = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = int_tuple(size, "size", self, 2, minimum=1)
        self.data_format = standardize_data_format(data_format, type(self), self.name)
        if not isinstance(interpolation, str):
            raise ConfigError(f"{layer_label(self)}: interpolation must be a string, got "
                              f"{interpolation!r}")
        self.interpolation = check_interpolation(self, interpolation.lower())

    def call(self, inputs):
        if self.interpolation == "nearest":
            return super().call(inputs)
        h_axis, w_axis = self._spatial_axes()
        return resize_preserving_dtype(
            inputs, inputs.shape[h_axis] * self.size[0], inputs.shape[w_axis] * self.size[1],
            self.data_format, self.interpolation)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": list(self.size),
                "data_format": self.data_format, "interpolation": self.interpolation}


@register_layer()
class UpSampling3D(_UpSampling):
    """Repeats cells `size` = (d1, d2, d3) times along the three spatial axes."""

    _dims = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.size = int_tuple(size, "size", self, 3, minimum=1)
        self.data_format = standardize_data_format(data_format, type(self), self.name)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": list(self.size),
                "data_format": self.data_format}
