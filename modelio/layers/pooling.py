"""Pooling layers: Max/AveragePooling1D/2D/3D, Global{Max,Average}Pooling1D/2D/3D and
Adaptive{Average,Max}Pooling1D/2D/3D."""

import numpy as np

from ..errors import ConfigError
from ..graph import Layer, register_layer
from ..kernels import pooling as kernels
from .arguments import check_bool, check_int, layer_label, standardize_data_format

__all__ = [
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
]


def int_tuple(value, argument: str, layer, length: int, minimum: int) -> tuple:
    """An int (repeated `length` times) or a list of `length` ints, each >= `minimum`."""
    cls = type(layer)
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,) * length
    if not isinstance(value, (list, tuple)) or len(value) != length:
        raise ConfigError(f"{layer_label(layer)}: {argument} must be an integer or a list of "
                          f"{length} integers, got {value!r}")
    return tuple(check_int(item, argument, cls, layer.name, minimum=minimum) for item in value)


def check_rank(layer, input_shape, rank: int) -> None:
    if len(input_shape) != rank:
        raise ConfigError(f"{layer_label(layer)} expects inputs of rank {rank}, got shape "
                          f"{tuple(input_shape)}")


def spatial_axes(data_format: str, dims: int) -> tuple:
    return tuple(range(1, dims + 1)) if data_format == "channels_last" else tuple(
        range(2, dims + 2))


def as_float(layer, inputs: np.ndarray) -> np.ndarray:
    """Float inputs are already in the compute dtype; others (ints, bools) are cast to it."""
    if inputs.dtype.kind == "f":
        return inputs
    return inputs.astype(layer.compute_dtype)


class _Pooling(Layer):
    """Shared by Max/AveragePooling: TF-style "valid"/"same" windows over the spatial axes."""

    pool_dimensions = 0  # spatial axes pooled over
    pool_mode = ""  # "max" or "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_size = int_tuple(pool_size, "pool_size", self, self.pool_dimensions, minimum=1)
        self.strides = self.pool_size if strides is None else int_tuple(
            strides, "strides", self, self.pool_dimensions, minimum=1)
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ConfigError(f"{layer_label(self)}: padding must be 'valid' or 'same', "
                              f"got {padding!r}")
        self.padding = padding  # kept as written (Keras does too); computed lower-cased
        self.data_format = standardize_data_format(data_format, type(self), self.name)
        self.built = True

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, self.pool_dimensions + 2)
        padding = self.padding.lower()
        axes = spatial_axes(self.data_format, self.pool_dimensions)
        output_shape = list(input_shape)
        for axis, pool, stride in zip(axes, self.pool_size, self.strides):
            size = kernels.pool_output_size(input_shape[axis], pool, stride, padding)
            if size is not None and size <= 0:
                raise ConfigError(f"{layer_label(self)}: pool_size {list(self.pool_size)} with "
                                  f"strides {list(self.strides)} and padding '{padding}' "
                                  f"leaves no output for inputs of shape {tuple(input_shape)}")
            output_shape[axis] = size
        return tuple(output_shape)

    def call(self, inputs):
        inputs = as_float(self, inputs)
        pool = kernels.max_pool if self.pool_mode == "max" else kernels.average_pool
        return pool(inputs, self.pool_size, self.strides, self.padding.lower(),
                    spatial_axes(self.data_format, self.pool_dimensions))

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "padding": self.padding, "strides": list(self.strides),
                "data_format": self.data_format}


@register_layer("MaxPool1D")
class MaxPooling1D(_Pooling):
    """Max over windows of `pool_size` steps moved by `strides` (default: `pool_size`)."""

    pool_dimensions, pool_mode = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


@register_layer("MaxPool2D")
class MaxPooling2D(_Pooling):
    """Max over `pool_size` windows of the height and width axes."""

    pool_dimensions, pool_mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


@register_layer("MaxPool3D")
class MaxPooling3D(_Pooling):
    """Max over `pool_size` windows of the three spatial axes."""

    pool_dimensions, pool_mode = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


@register_layer("AvgPool1D")
class AveragePooling1D(_Pooling):
    """Mean over windows of steps; "same" padding cells are left out of the mean."""

    pool_dimensions, pool_mode = 1, "average"


@register_layer("AvgPool2D")
class AveragePooling2D(_Pooling):
    """Mean over height-width windows; "same" padding cells are left out of the mean."""

    pool_dimensions, pool_mode = 2, "average"


@register_layer("AvgPool3D")
class AveragePooling3D(_Pooling):
    """Mean over 3D windows; "same" padding cells are left out of the mean."""

    pool_dimensions, pool_mode = 3, "average"


class _GlobalPooling(Layer):
    """Max or mean over all spatial axes; `keepdims` keeps them with length 1."""

    pool_dimensions = 0  # spatial axes pooled over
    pool_mode = ""  # "max" or "average"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, type(self), self.name)
        self.keepdims = check_bool(keepdims, "keepdims", type(self), self.name)
        self.built = True

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, self.pool_dimensions + 2)
        channels_axis = -1 if self.data_format == "channels_last" else 1
        channels = input_shape[channels_axis]
        if not self.keepdims:
            return (input_shape[0], channels)
        ones = (1,) * self.pool_dimensions
        if self.data_format == "channels_last":
            return (input_shape[0], *ones, channels)
        return (input_shape[0], channels, *ones)

    def _reduce(self, inputs):
        inputs = as_float(self, inputs)
        axes = spatial_axes(self.data_format, self.pool_dimensions)
        reduce = np.max if self.pool_mode == "max" else np.mean
        return reduce(inputs, axis=axes, keepdims=self.keepdims)

    def call(self, inputs):
        return self._reduce(inputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


@register_layer("GlobalMaxPool1D")
class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps axis. Like Keras 3 (and 2), it takes no mask: masked steps count.

    Its `call` has no `mask` parameter, as in Keras, so a mask reaching it is dropped rather than
    recorded as a call argument that Keras could not pass back when loading the model.
    """

    pool_dimensions, pool_mode = 1, "max"


@register_layer("GlobalAvgPool1D")
class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps axis; with a (batch, steps) mask, the mean of the unmasked steps
    (a fully masked sample gives NaN, as in Keras). The mask stops here."""

    pool_dimensions, pool_mode = 1, "average"
    supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return self._reduce(inputs)
        inputs = as_float(self, inputs)
        mask = np.asarray(mask).astype(bool)
        steps_axis = 1 if self.data_format == "channels_last" else 2
        mask = np.expand_dims(mask, 2 if self.data_format == "channels_last" else 1)
        total = np.where(mask, inputs, np.zeros((), inputs.dtype)).sum(
            axis=steps_axis, keepdims=self.keepdims)
        count = mask.astype(inputs.dtype).sum(axis=steps_axis, keepdims=self.keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            return total / count

    def compute_mask(self, inputs, previous_mask=None):
        return None


@register_layer("GlobalMaxPool2D")
class GlobalMaxPooling2D(_GlobalPooling):
    """Max over the height and width axes."""

    pool_dimensions, pool_mode = 2, "max"


@register_layer("GlobalAvgPool2D")
class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over the height and width axes."""

    pool_dimensions, pool_mode = 2, "average"


@register_layer("GlobalMaxPool3D")
class GlobalMaxPooling3D(_GlobalPooling):
    """Max over the three spatial axes."""

    pool_dimensions, pool_mode = 3, "max"


@register_layer("GlobalAvgPool3D")
class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over the three spatial axes."""

    pool_dimensions, pool_mode = 3, "average"


# ----- adaptive pooling -------------------------------------------------------------------------------

class _AdaptivePooling(Layer):
    """Pools each spatial axis into exactly `output_size` bins, whatever its length."""

    pool_dimensions = 0
    pool_mode = ""

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.output_size = int_tuple(output_size, "output_size", self, self.pool_dimensions,
                                     minimum=1)
        self.data_format = standardize_data_format(data_format, type(self), self.name)

    def _spatial(self, input_shape) -> tuple:
        check_rank(self, input_shape, self.pool_dimensions + 2)
        return tuple(input_shape[axis] for axis in spatial_axes(self.data_format,
                                                                self.pool_dimensions))

    def compute_output_shape(self, input_shape):
        self._spatial(input_shape)
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def call(self, inputs):
        x = as_float(self, np.asarray(inputs))
        axes = spatial_axes(self.data_format, self.pool_dimensions)
        for axis in axes:
            if x.shape[axis] == 0:
                raise ConfigError(f"{layer_label(self)}: cannot pool an empty axis {axis} of "
                                  f"inputs of shape {x.shape}")
        return kernels.adaptive_pool(x, self.output_size, axes, self.pool_mode)

    def get_config(self) -> dict:
        return {**super().get_config(), "output_size": self.output_size,
                "data_format": self.data_format}


@register_layer()
class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Averages (batch, steps, channels) into `output_size` bins of steps."""

    pool_dimensions, pool_mode = 1, "average"


@register_layer()
class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Averages each image into an `output_size` grid of bins."""

    pool_dimensions, pool_mode = 2, "average"


@register_layer()
class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Averages each volume into an `output_size` grid of bins."""

    pool_dimensions, pool_mode = 3, "average"


@register_layer()
class AdaptiveMaxPooling1D(_AdaptivePooling):
    """The maximum of each of `output_size` bins of steps."""

    pool_dimensions, pool_mode = 1, "max"


@register_layer()
class AdaptiveMaxPooling2D(_AdaptivePooling):
    """The maximum of each bin of an `output_size` grid over each image."""

    pool_dimensions, pool_mode = 2, "max"


@register_layer()
class AdaptiveMaxPooling3D(_AdaptivePooling):
    """The maximum of each bin of an `output_size` grid over each volume."""

    pool_dimensions, pool_mode = 3, "max"
