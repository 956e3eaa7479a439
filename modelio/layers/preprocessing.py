"""Preprocessing layers: Rescaling, Resizing and CenterCrop for images, and Normalization
(feature-wise standardization, `keras.layers.Normalization`)."""

import numbers

import numpy as np

from ..errors import ConfigError, ModelioError, UnsupportedError
from ..graph import Layer, register_layer
from ..graph.dialect import keras2_semantics_active, writing_keras2_active
from ..kernels import resize as resize_kernels
from ..kernels.normalization import BACKEND_EPSILON
from .arguments import check_bool, check_float, check_int, layer_label, standardize_data_format
from .initializers import get_initializer
from .normalization.base import (
    axis_argument,
    check_built_dims,
    check_known_dims,
    is_int,
    positive_axes,
)

__all__ = ["CenterCrop", "Normalization", "Rescaling", "Resizing"]

# Interpolations modelio computes: "nearest" and "bilinear" as every Keras 3 backend does, the
# others as Keras 3's TensorFlow backend does (tf.image.resize). Keras 3's PyTorch backend computes
# "bicubic" differently (a = -0.75, edge cells repeated) and refuses lanczos and area.
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")
# tf.image.resize knows these too: tf-keras (Keras 2) resizes with them, Keras 3.15.1's backends
# all refuse them. modelio computes them for layers made from Keras 2 configs only.
KERAS2_INTERPOLATIONS = ("gaussian", "mitchellcubic")


def check_interpolation(layer, value) -> str:
    """`value` unchanged when it is an interpolation modelio computes (INTERPOLATIONS, and
    KERAS2_INTERPOLATIONS inside `keras2_semantics()`), else a ConfigError / UnsupportedError
    naming `layer`."""
    if not isinstance(value, str):
        raise ConfigError(f"{layer_label(layer)}: interpolation must be a string, got {value!r}")
    if value in KERAS2_INTERPOLATIONS:
        if keras2_semantics_active():
            return value
        raise UnsupportedError(f"{layer_label(layer)}: interpolation {value!r} is not supported: "
                               f"Keras 3's backends refuse it when resizing (modelio computes "
                               f"it only for tf-keras configs, as tf-keras does; otherwise "
                               f"{', '.join(map(repr, INTERPOLATIONS))})")
    if value not in INTERPOLATIONS:
        raise UnsupportedError(f"{layer_label(layer)}: interpolation {value!r} is not supported "
                               f"(modelio computes {', '.join(map(repr, INTERPOLATIONS))})")
    return value


def _image_axes(data_format: str) -> tuple[int, int]:
    """(height axis, width axis), counted from the end, of a batched or single image."""
    return (-3, -2) if data_format == "channels_last" else (-2, -1)


def resize_preserving_dtype(images: np.ndarray, height: int, width: int, data_format: str,
                             interpolation: str, antialias: bool = False, crop: bool = False,
                             pad: bool = False, fill_value: float = 0.0) -> np.ndarray:
    """`ops.image.resize` as Keras 3's PyTorch backend computes it: non-float32/64 images are
    resized in float32, then rounded and cast back (saturating) to their own dtype."""
    h_axis, w_axis = _image_axes(data_format)
    out_dtype = images.dtype
    work = images if out_dtype in (np.float32, np.float64) else images.astype(np.float32)
    in_height, in_width = work.shape[h_axis], work.shape[w_axis]
    if crop:
        top, left, crop_height, crop_width = resize_kernels.aspect_crop_box(
            in_height, in_width, height, width)
        index = [slice(None)] * work.ndim
        index[h_axis] = slice(top, top + crop_height)
        index[w_axis] = slice(left, left + crop_width)
        work = work[tuple(index)]
    elif pad:
        rows, cols = resize_kernels.aspect_pad_box(in_height, in_width, height, width)
        widths = [(0, 0)] * work.ndim
        widths[h_axis % work.ndim] = (rows, rows)
        widths[w_axis % work.ndim] = (cols, cols)
        work = np.pad(work, widths, constant_values=fill_value)
    resized = resize_kernels.resize_images(work, height, width, h_axis, w_axis, interpolation,
                                           antialias)
    if resized.dtype == out_dtype:
        return resized
    if out_dtype.kind in "iu":
        info = np.iinfo(out_dtype)
        resized = np.clip(np.round(resized), info.min, info.max)
    return resized.astype(out_dtype)


# ----- Rescaling, Resizing, CenterCrop ----------------------------------------------------------

def _constant(layer, value, argument: str):
    """(array, serialized form) of Rescaling's scale/offset: a number, a nested list of numbers,
    a numpy array, or Keras's serialized numpy array `{"class_name": "__numpy__", ...}`."""
    def bad():
        return ConfigError(f"{layer_label(layer)}: {argument} must be a number, a list of numbers or "
                           f"a serialized numpy array, got {value!r}")

    if isinstance(value, dict):
        config = value.get("config")
        if value.get("class_name") != "__numpy__" or not isinstance(config, dict):
            raise bad()
        try:
            array = np.array(config.get("value"), dtype=config.get("dtype"))
        except (TypeError, ValueError) as exc:
            raise bad() from exc
        serialized = {"class_name": "__numpy__",
                      "config": {"value": array.tolist(), "dtype": str(array.dtype)}}
    elif isinstance(value, np.ndarray):
        array = value
        serialized = {"class_name": "__numpy__",
                      "config": {"value": value.tolist(), "dtype": str(value.dtype)}}
    elif isinstance(value, np.generic):
        array, serialized = np.asarray(value), value.item()
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        array, serialized = np.asarray(value), value
    elif isinstance(value, (list, tuple)):
        try:
            array = np.array(value)
        except (TypeError, ValueError) as exc:
            raise bad() from exc
        serialized = value if isinstance(value, list) else list(value)
    else:
        raise bad()
    if array.dtype.kind not in "iuf" or array.dtype == object:
        raise bad()
    return array, serialized


@register_layer()
class Rescaling(Layer):
    """`inputs * scale + offset` in the compute dtype; scale/offset may be per-channel lists
    (broadcast on the last axis)."""

    supports_masking = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        # scale_value / offset_value: the arrays computed with; scale / offset: as configured
        self.scale_value, self.scale = _constant(self, scale, "scale")
        self.offset_value, self.offset = _constant(self, offset, "offset")

    def compute_output_shape(self, input_shape):
        for argument, array in (("scale", self.scale_value), ("offset", self.offset_value)):
            dims = list(input_shape)[::-1]
            if array.ndim > len(dims) or any(
                    size != 1 and dim is not None and dim != size
                    for size, dim in zip(array.shape[::-1], dims)):
                raise ConfigError(f"{layer_label(self)}: {argument} of shape {array.shape} does not "
                                  f"broadcast to inputs of shape {tuple(input_shape)}")
        return input_shape

    def call(self, inputs):
        dtype = self.compute_dtype
        inputs = inputs.astype(dtype, copy=False)
        return inputs * self.scale_value.astype(dtype) + self.offset_value.astype(dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class _ImageLayer(Layer):
    """Shared by Resizing and CenterCrop: (height, width) targets on rank 3 or 4 images."""

    def _check_target(self, height, width):
        cls = type(self)
        self.height = check_int(height, "height", cls, self.name, minimum=1)
        self.width = check_int(width, "width", cls, self.name, minimum=1)

    def compute_output_shape(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise ConfigError(f"{layer_label(self)} expects images of rank 4 (batch, ...) or 3, got "
                              f"shape {tuple(input_shape)}")
        output_shape = list(input_shape)
        h_axis, w_axis = _image_axes(self.data_format)
        output_shape[h_axis] = self.height
        output_shape[w_axis] = self.width
        return tuple(output_shape)


@register_layer()
class Resizing(_ImageLayer):
    """Resizes images to (height, width), optionally cropping or padding to the target aspect
    ratio first. "nearest" and "bilinear" as every Keras 3 backend computes them; "bicubic",
    "lanczos3", "lanczos5" and "area" (and their `antialias`) as Keras 3's TensorFlow backend
    does (its PyTorch backend differs on bicubic and refuses the others); "gaussian" and
    "mitchellcubic" (which Keras 3 refuses) only in layers from tf-keras configs, as tf-keras.

    Integer images stay integers (rounded), as in Keras 3. A layer made from a Keras 2 config
    (inside `keras2_semantics()`) outputs floats in the compute dtype instead, as tf-keras did.
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self)
        self._check_target(height, width)
        self.interpolation = check_interpolation(self, interpolation)
        self.crop_to_aspect_ratio = check_bool(crop_to_aspect_ratio, "crop_to_aspect_ratio",
                                               cls, self.name)
        self.pad_to_aspect_ratio = check_bool(pad_to_aspect_ratio, "pad_to_aspect_ratio", cls,
                                              self.name)
        if self.crop_to_aspect_ratio and self.pad_to_aspect_ratio:
            raise ConfigError(f"{layer_label(self)}: only one of crop_to_aspect_ratio and "
                              f"pad_to_aspect_ratio can be true")
        if fill_mode != "constant":
            raise UnsupportedError(f"{layer_label(self)}: fill_mode {fill_mode!r} is not supported "
                                   f"(Keras 3 resizes with fill_mode 'constant' only)")
        self.fill_mode = fill_mode
        self.fill_value = check_float(fill_value, "fill_value", cls, self.name)
        self.antialias = check_bool(antialias, "antialias", cls, self.name)
        self.data_format = standardize_data_format(data_format, cls, self.name)
        # Created from a Keras 2 config: integer images come out as float32 (tf-keras), not
        # rounded back to their own dtype (Keras 3).
        self.float_outputs = keras2_semantics_active()

    def call(self, inputs):
        if self.float_outputs and inputs.dtype != self.compute_dtype:
            # tf-keras: bilinear resizes in float32, nearest in the compute dtype, and the
            # result is cast to the compute dtype.
            work_dtype = self.compute_dtype if self.interpolation == "nearest" else np.float32
            return self._resize(inputs.astype(work_dtype)).astype(self.compute_dtype)
        return self._resize(inputs)

    def _resize(self, inputs):
        return resize_preserving_dtype(
            inputs, self.height, self.width, self.data_format, self.interpolation,
            antialias=self.antialias, crop=self.crop_to_aspect_ratio,
            pad=self.pad_to_aspect_ratio, fill_value=self.fill_value)

    def get_config(self) -> dict:
        if self.float_outputs and not writing_keras2_active() and any(
                not str(tensor.dtype).startswith(("float", "bfloat"))
                for node in self._inbound_nodes for tensor in node.input_tensors):
            # Keras 3's Resizing rounds integer images back to their dtype: the file would
            # compute something else than this layer (and tf-keras's Resizing) does
            raise UnsupportedError(f"{layer_label(self)}: resizes integer images to floats as "
                                   f"tf-keras does; Keras 3's Resizing would round them back to "
                                   f"integers, so modelio does not write it as a Keras 3 layer")
        return {**super().get_config(), "data_format": self.data_format, "height": self.height,
                "width": self.width, "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


@register_layer()
class CenterCrop(_ImageLayer):
    """Crops the central (height, width) window. Like Keras, an image smaller than the target
    along either axis is instead cropped to the target aspect ratio and resized bilinearly."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._check_target(height, width)
        self.data_format = standardize_data_format(data_format, type(self), self.name)

    def call(self, inputs):
        inputs = inputs.astype(self.compute_dtype, copy=False)
        h_axis, w_axis = _image_axes(self.data_format)
        in_height, in_width = inputs.shape[h_axis], inputs.shape[w_axis]
        if in_height >= self.height and in_width >= self.width:
            top, left = (in_height - self.height) // 2, (in_width - self.width) // 2
            index = [slice(None)] * inputs.ndim
            index[h_axis] = slice(top, top + self.height)
            index[w_axis] = slice(left, left + self.width)
            return inputs[tuple(index)]
        return resize_preserving_dtype(inputs, self.height, self.width, self.data_format,
                                        "bilinear", crop=True)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "height": self.height,
                "width": self.width}


# ----- Normalization ---------------------------------------------------------------------------


@register_layer()
class Normalization(Layer):
    """`(x - mean) / max(sqrt(variance), 1e-7)`, or with `invert=True` the reverse
    `mean + x * max(sqrt(variance), 1e-7)`; one mean/variance per position of the kept `axis`
    (`axis=None` keeps none: one scalar mean and variance).

    The statistics come either from the `mean`/`variance` arguments (kept in the config, no
    weights) or from the weights `mean`, `variance`, `count` that Keras's `adapt()` fills. A layer
    whose weights were never adapted or assigned refuses to compute rather than returning its
    placeholder statistics (mean 0, variance 1).
    """

    supports_masking = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = []
        elif is_int(axis):
            axis = [axis]
        self.axis = axis_argument(self, axis, allow_empty=True)
        self.invert = check_bool(invert, "invert", type(self), self.name)
        if (mean is None) != (variance is None):
            raise ConfigError(f"{layer_label(self)}: mean and variance must be given together, got "
                              f"mean={mean!r} and variance={variance!r}")
        self.input_mean = mean
        self.input_variance = variance
        self._given = None
        if mean is not None:
            given = [self._statistic(value, name) for value, name in ((mean, "mean"),
                                                                       (variance, "variance"))]
            if given[0].shape != given[1].shape:
                raise ConfigError(f"{layer_label(self)}: mean and variance must have the same shape, "
                                  f"got {given[0].shape} and {given[1].shape}")
            if given[0].ndim > len(self.axis):
                raise ConfigError(f"{layer_label(self)}: mean of shape {given[0].shape} has more "
                                  f"dimensions than the {len(self.axis)} kept axis/axes "
                                  f"{self.axis}")
            self._given = given
        self.adapt_mean = self.adapt_variance = self.count = None
        self._placeholders = ()
        self._broadcast_shape = None

    def _statistic(self, value, name: str) -> np.ndarray:
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{layer_label(self)}: {name} must be a number or a (nested) list of "
                              f"numbers, got {value!r}") from exc
        if isinstance(value, (bool, str)) or array.dtype == object:
            raise ConfigError(f"{layer_label(self)}: {name} must be numeric, got {value!r}")
        return array

    def _kept_axes(self, input_shape) -> list:
        return sorted(positive_axes(self, self.axis, len(input_shape)))

    def build(self, input_shape):
        keep = self._kept_axes(input_shape)
        check_known_dims(self, input_shape, keep, "kept")
        rank = len(input_shape)
        self._broadcast_shape = tuple(input_shape[i] if i in keep else 1 for i in range(rank))
        shape = tuple(input_shape[i] for i in keep)
        if self._given is None:
            self.adapt_mean = self.add_weight("mean", shape, get_initializer("zeros"),
                                              trainable=False)
            self.adapt_variance = self.add_weight("variance", shape, get_initializer("ones"),
                                                  trainable=False)
            self.count = self.add_weight("count", (), get_initializer("zeros"), dtype="int32",
                                         trainable=False)
            # Weight.assign replaces the array: while these are still the arrays, nothing was set.
            self._placeholders = (self.adapt_mean.value, self.adapt_variance.value)
            return
        expanded = [1] * rank
        for index in range(1, self._given[0].ndim + 1):
            expanded[keep[-index]] = self._given[0].shape[-index]
        try:
            self._given_broadcast = [np.broadcast_to(value.reshape(expanded),
                                                     self._broadcast_shape)
                                     for value in self._given]
        except ValueError as exc:
            raise ConfigError(f"{layer_label(self)}: mean/variance of shape {self._given[0].shape} do "
                              f"not fit the kept axes {self.axis} of inputs of shape "
                              f"{input_shape}") from exc

    def compute_output_shape(self, input_shape):
        keep = self._kept_axes(input_shape)
        if self.built and self._broadcast_shape is not None:
            if len(input_shape) != len(self._broadcast_shape):
                raise ConfigError(f"{layer_label(self)} was built for inputs of rank "
                                  f"{len(self._broadcast_shape)}, got {input_shape}")
            check_built_dims(self, input_shape, keep,
                              [self._broadcast_shape[axis] for axis in keep])
        return input_shape

    def adapt(self, data) -> None:
        """Set the mean and variance from a numpy array of samples, as Keras's `adapt()` does."""
        data = np.asarray(data)
        if data.dtype.kind not in "fiu" or data.ndim == 0:
            raise ConfigError(f"{layer_label(self)}: adapt() needs a numeric array with a batch axis, "
                              f"got {data.dtype} of shape {data.shape}")
        if self._given is not None:
            raise ConfigError(f"{layer_label(self)}: adapt() cannot change a mean and variance given "
                              f"as arguments")
        self._maybe_build(data.shape)
        self._checked_output_shape(data.shape)
        keep = self._kept_axes(data.shape)
        reduce = tuple(i for i in range(data.ndim) if i not in keep)
        values = data.astype(np.float64)
        self.adapt_mean.assign(np.mean(values, axis=reduce))
        self.adapt_variance.assign(np.var(values, axis=reduce))

    def statistics(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        """(mean, variance) in `dtype`, broadcast to the built input shape: the given ones, or
        the adapted (or loaded) weights; refused while neither was set."""
        if self._given is not None:
            mean, variance = self._given_broadcast
        else:
            if (self.adapt_mean.value is self._placeholders[0]
                    and self.adapt_variance.value is self._placeholders[1]):
                raise ModelioError(f"{layer_label(self)} has no statistics: it was never adapted and "
                                   f"was given no mean/variance; call adapt(data) or load its "
                                   f"weights first")
            mean = self.adapt_mean.value.reshape(self._broadcast_shape)
            variance = self.adapt_variance.value.reshape(self._broadcast_shape)
        return mean.astype(dtype), variance.astype(dtype)

    def call(self, inputs):
        x = inputs.astype(self.compute_dtype, copy=False)
        mean, variance = self.statistics(x.dtype)
        std = np.maximum(np.sqrt(variance), BACKEND_EPSILON)
        if self.invert:
            return mean + x * std
        return (x - mean) / std

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": list(self.axis),
            "invert": self.invert,
            "mean": np.array(self.input_mean).tolist(),
            "variance": np.array(self.input_variance).tolist(),
        }
