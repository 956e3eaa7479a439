"""Convolution layers: Conv1D/2D/3D, DepthwiseConv1D/2D, SeparableConv1D/2D and
Conv1D/2D/3DTranspose, with Keras 3's arguments, configs and weights; numpy kernels in
`modelio.kernels.convolution`.

Keras 2 (tf-keras) configs load too: they carry `groups: 1` on depthwise, separable and
transposed convolutions (only 1 is accepted), and SeparableConv's unused `kernel_initializer`,
`kernel_regularizer` and `kernel_constraint`, all dropped. Inside `keras2_semantics()`,
SeparableConv1D also takes tf-keras's `padding="causal"`.
"""

import numpy as np

from ..errors import ConfigError, UnsupportedError
from ..graph import Layer, register_layer
from ..graph.dialect import keras2_semantics_active
from ..kernels import convolution as kernels
from .activations import activation_output_shape, resolve_activation, serialize_activation
from .arguments import check_bool, check_int, check_serialized, standardize_data_format
from .initializers import get_initializer, serialize_initializer

__all__ = [
    "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D", "Conv3DTranspose",
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
]


def _int_tuple(layer, value, argument: str, rank: int, minimum: int = 1) -> tuple:
    """Keras's `standardize_tuple`: an int repeated `rank` times, or `rank` ints >= `minimum`."""
    if isinstance(value, int) and not isinstance(value, bool):
        values = (value,) * rank
    elif isinstance(value, (list, tuple)):
        values = tuple(value)
    else:
        raise ConfigError(f"{layer._label}: {argument} must be an integer or a list of {rank} "
                          f"integers, got {value!r}")
    if len(values) != rank or any(isinstance(item, bool) or not isinstance(item, int)
                                  for item in values):
        raise ConfigError(f"{layer._label}: {argument} must be an integer or a list of {rank} "
                          f"integers, got {value!r}")
    if any(item < minimum for item in values):
        raise ConfigError(f"{layer._label}: {argument} must hold integers >= {minimum}, "
                          f"got {value!r}")
    return values


class _BaseConv(Layer):
    """What every convolution layer shares: window arguments, data format, bias, activation."""

    rank = 0

    @property
    def _label(self) -> str:
        return f"layer '{self.name}' ({type(self).__name__})"

    def _init_window(self, kernel_size, strides, padding, data_format, dilation_rate, activation,
                     use_bias, allow_causal: bool = False) -> None:
        self.kernel_size = _int_tuple(self, kernel_size, "kernel_size", self.rank)
        self.strides = _int_tuple(self, strides, "strides", self.rank)
        self.dilation_rate = _int_tuple(self, dilation_rate, "dilation_rate", self.rank)
        allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
        normalized = padding.lower() if isinstance(padding, str) else padding
        if normalized not in allowed:
            raise ConfigError(f"{self._label}: padding must be one of "
                              f"{', '.join(map(repr, allowed))}, got {padding!r}")
        self.padding = normalized
        self.data_format = standardize_data_format(data_format, type(self), self.name)
        self.activation_name, self.activation = resolve_activation(activation, self.name)
        self.use_bias = check_bool(use_bias, "use_bias", type(self), self.name)

    def _refuse_strides_with_dilation(self) -> None:
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ConfigError(f"{self._label}: strides > 1 are not supported together with "
                              f"dilation_rate > 1, got strides={list(self.strides)} and "
                              f"dilation_rate={list(self.dilation_rate)}")

    # ----- shapes -----------------------------------------------------------------------------
    @property
    def _channels_first(self) -> bool:
        return self.data_format == "channels_first"

    def _split(self, input_shape) -> tuple:
        """`(batch, spatial dims, channels)` of an input shape of rank `rank + 2`."""
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ConfigError(f"{self._label} expects inputs of rank {self.rank + 2} (batch, "
                              f"{self.rank} spatial, channels), got shape {input_shape}")
        if self._channels_first:
            return input_shape[0], input_shape[2:], input_shape[1]
        return input_shape[0], input_shape[1:-1], input_shape[-1]

    def _join(self, batch, spatial, channels) -> tuple:
        if self._channels_first:
            return (batch, channels, *spatial)
        return (batch, *spatial, channels)

    def _known_channels(self, input_shape) -> int:
        channels = self._split(input_shape)[2]
        if channels is None:
            raise ConfigError(f"{self._label} needs a known channel dimension, got "
                              f"{tuple(input_shape)}")
        return channels

    def _check_built_channels(self, channels, expected: int, input_shape) -> None:
        if self.built and channels is not None and channels != expected:
            raise ConfigError(f"{self._label} was built for inputs with {expected} channels, "
                              f"got shape {tuple(input_shape)}")

    def _conv_spatial(self, spatial, input_shape) -> tuple:
        """Output spatial dims of a (non-transposed) convolution; valid must stay positive."""
        sizes = tuple(kernels.conv_output_length(size, k, s, d, self.padding)
                      for size, k, s, d in zip(spatial, self.kernel_size, self.strides,
                                               self.dilation_rate))
        if self.padding == "valid" and any(size is not None and size <= 0 for size in sizes):
            raise ConfigError(f"{self._label}: inputs of shape {tuple(input_shape)} are smaller "
                              f"than the dilated kernel {list(self.kernel_size)} (dilation "
                              f"{list(self.dilation_rate)}), so the output would be empty")
        return sizes

    def _pads(self, spatial) -> list:
        return [kernels.padding_amounts(size, k, s, d, self.padding)
                for size, k, s, d in zip(spatial, self.kernel_size, self.strides,
                                         self.dilation_rate)]

    def _float_input(self, inputs):
        if inputs.dtype.kind != "f":
            inputs = inputs.astype(self.compute_dtype)
        return inputs

    def _bias_value(self):
        return self.value_of(self.bias) if self.bias is not None else None

    def _common_config(self) -> dict:
        return {
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": serialize_activation(self.activation_name),
            "use_bias": self.use_bias,
        }

    def _kernel_config(self) -> dict:
        """The kernel/bias initializer, regularizer and constraint arguments, as Keras writes them."""
        return {
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
            "kernel_regularizer": self.kernel_regularizer,
            "bias_regularizer": self.bias_regularizer,
            "activity_regularizer": self.activity_regularizer,
            "kernel_constraint": self.kernel_constraint,
            "bias_constraint": self.bias_constraint,
        }


def _check_groups_is_one(cls, config: dict) -> None:
    """tf-keras writes `groups: 1` on layers that have no groups in Keras 3; only 1 means that."""
    groups = config.get("groups", 1)
    if groups != 1:
        name = config.get("name", cls.__name__)
        raise UnsupportedError(f"layer '{name}' ({cls.__name__}): groups={groups!r} is not "
                               f"supported (only the Keras 2 default groups=1)")


# ----- Conv1D / Conv2D / Conv3D -------------------------------------------------------------------

class _Conv(_BaseConv):
    """Convolution (cross-correlation) with `filters` outputs, optionally in `groups`."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self)
        self.filters = check_int(filters, "filters", cls, self.name, minimum=1)
        self.groups = check_int(groups, "groups", cls, self.name, minimum=1)
        if self.filters % self.groups:
            raise ConfigError(f"{self._label}: filters ({self.filters}) must be divisible by "
                              f"groups ({self.groups})")
        self._init_window(kernel_size, strides, padding, data_format, dilation_rate, activation,
                          use_bias, allow_causal=self.rank == 1)
        self._refuse_strides_with_dilation()
        self.kernel_initializer = serialize_initializer(kernel_initializer, "kernel_initializer", self)
        self.bias_initializer = serialize_initializer(bias_initializer, "bias_initializer", self)
        self.kernel_regularizer = check_serialized(kernel_regularizer, "kernel_regularizer", cls, self.name)
        self.bias_regularizer = check_serialized(bias_regularizer, "bias_regularizer", cls, self.name)
        self.kernel_constraint = check_serialized(kernel_constraint, "kernel_constraint", cls, self.name)
        self.bias_constraint = check_serialized(bias_constraint, "bias_constraint", cls, self.name)
        if lora_rank is not None:
            raise UnsupportedError(f"{self._label}: lora_rank is not supported")
        self.lora_alpha = lora_alpha

    def build(self, input_shape):
        channels = self._known_channels(input_shape)
        if channels % self.groups:
            raise ConfigError(f"{self._label}: the input's {channels} channels must be divisible "
                              f"by groups ({self.groups}), got shape {tuple(input_shape)}")
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight(
            "kernel", (*self.kernel_size, channels // self.groups, self.filters),
            get_initializer(self.kernel_initializer))
        self.bias = (self.add_weight("bias", (self.filters,), get_initializer(self.bias_initializer))
                     if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = self._split(input_shape)
        if self.built:
            self._check_built_channels(channels, self.kernel.shape[-2] * self.groups, input_shape)
        return activation_output_shape(self, self.activation_name,
                                       self._join(batch, self._conv_spatial(spatial, input_shape), self.filters))

    def call(self, inputs):
        inputs = self._float_input(inputs)
        spatial = self._split(inputs.shape)[1]
        outputs = kernels.conv(inputs, self.value_of(self.kernel), self.strides, self._pads(spatial),
                               self.dilation_rate, self.groups, self._bias_value(),
                               channels_first=self._channels_first)
        return self.activation(outputs)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            **self._common_config(),
            "groups": self.groups,
            **self._kernel_config(),
        }


@register_layer("Convolution1D")
class Conv1D(_Conv):
    """1D convolution over (batch, steps, channels); `padding="causal"` pads only the start."""

    rank = 1


@register_layer("Convolution2D")
class Conv2D(_Conv):
    """2D convolution over images."""

    rank = 2


@register_layer("Convolution3D")
class Conv3D(_Conv):
    """3D convolution over volumes."""

    rank = 3


# ----- DepthwiseConv1D / DepthwiseConv2D ----------------------------------------------------------

class _DepthwiseConv(_BaseConv):
    """Each input channel convolved with its own `depth_multiplier` filters; output channel
    `c * depth_multiplier + m`. The kernel weight is `kernel` (Keras 2 named it
    `depthwise_kernel`), shaped `(*kernel_size, channels, depth_multiplier)`."""

    _legacy_keys = {"groups": None}

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self)
        self.depth_multiplier = check_int(depth_multiplier, "depth_multiplier", cls, self.name,
                                          minimum=1)
        self._init_window(kernel_size, strides, padding, data_format, dilation_rate, activation,
                          use_bias)
        self.depthwise_initializer = serialize_initializer(depthwise_initializer,
                                                           "depthwise_initializer", self)
        self.bias_initializer = serialize_initializer(bias_initializer, "bias_initializer", self)
        self.depthwise_regularizer = check_serialized(depthwise_regularizer,
                                                      "depthwise_regularizer", cls, self.name)
        self.bias_regularizer = check_serialized(bias_regularizer, "bias_regularizer", cls, self.name)
        self.depthwise_constraint = check_serialized(depthwise_constraint, "depthwise_constraint",
                                                     cls, self.name)
        self.bias_constraint = check_serialized(bias_constraint, "bias_constraint", cls, self.name)

    @classmethod
    def normalize_legacy_config(cls, config: dict) -> dict:
        _check_groups_is_one(cls, config)
        return super().normalize_legacy_config(config)

    def build(self, input_shape):
        channels = self._known_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight("kernel", (*self.kernel_size, channels, self.depth_multiplier),
                                      get_initializer(self.depthwise_initializer))
        self.bias = (self.add_weight("bias", (channels * self.depth_multiplier,),
                                     get_initializer(self.bias_initializer))
                     if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = self._split(input_shape)
        if self.built:
            self._check_built_channels(channels, self.kernel.shape[-2], input_shape)
        out_channels = None if channels is None else channels * self.depth_multiplier
        return activation_output_shape(self, self.activation_name,
                                       self._join(batch, self._conv_spatial(spatial, input_shape), out_channels))

    def call(self, inputs):
        inputs = self._float_input(inputs)
        spatial = self._split(inputs.shape)[1]
        outputs = kernels.depthwise_conv(inputs, self.value_of(self.kernel), self.strides,
                                         self._pads(spatial), self.dilation_rate,
                                         self._bias_value(), channels_first=self._channels_first)
        return self.activation(outputs)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            **self._common_config(),
            "depthwise_initializer": self.depthwise_initializer,
            "bias_initializer": self.bias_initializer,
            "depthwise_regularizer": self.depthwise_regularizer,
            "bias_regularizer": self.bias_regularizer,
            "activity_regularizer": self.activity_regularizer,
            "depthwise_constraint": self.depthwise_constraint,
            "bias_constraint": self.bias_constraint,
        }


@register_layer()
class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1D convolution over (batch, steps, channels)."""

    rank = 1


@register_layer()
class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2D convolution over images (MobileNet's building block)."""

    rank = 2


# ----- SeparableConv1D / SeparableConv2D ----------------------------------------------------------

class _SeparableConv(_BaseConv):
    """A depthwise convolution (`depthwise_kernel`, `(*kernel_size, channels, depth_multiplier)`)
    followed by a pointwise one (`pointwise_kernel`, `(1, ..., channels * depth_multiplier,
    filters)`) and `bias`."""

    _legacy_keys = {"groups": None, "kernel_initializer": None, "kernel_regularizer": None,
                    "kernel_constraint": None}

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self)
        self.depth_multiplier = check_int(depth_multiplier, "depth_multiplier", cls, self.name,
                                          minimum=1)
        self.filters = check_int(filters, "filters", cls, self.name, minimum=1)
        # tf-keras's SeparableConv1D also took causal padding; Keras 3 refuses it.
        self._init_window(kernel_size, strides, padding, data_format, dilation_rate, activation,
                          use_bias, allow_causal=self.rank == 1 and keras2_semantics_active())
        self.depthwise_initializer = serialize_initializer(depthwise_initializer,
                                                           "depthwise_initializer", self)
        self.pointwise_initializer = serialize_initializer(pointwise_initializer,
                                                           "pointwise_initializer", self)
        self.bias_initializer = serialize_initializer(bias_initializer, "bias_initializer", self)
        self.depthwise_regularizer = check_serialized(depthwise_regularizer,
                                                      "depthwise_regularizer", cls, self.name)
        self.pointwise_regularizer = check_serialized(pointwise_regularizer,
                                                      "pointwise_regularizer", cls, self.name)
        self.bias_regularizer = check_serialized(bias_regularizer, "bias_regularizer", cls, self.name)
        self.depthwise_constraint = check_serialized(depthwise_constraint, "depthwise_constraint",
                                                     cls, self.name)
        self.pointwise_constraint = check_serialized(pointwise_constraint, "pointwise_constraint",
                                                     cls, self.name)
        self.bias_constraint = check_serialized(bias_constraint, "bias_constraint", cls, self.name)

    @classmethod
    def normalize_legacy_config(cls, config: dict) -> dict:
        _check_groups_is_one(cls, config)
        return super().normalize_legacy_config(config)

    def build(self, input_shape):
        channels = self._known_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", (*self.kernel_size, channels, self.depth_multiplier),
            get_initializer(self.depthwise_initializer))
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (*(1,) * self.rank, channels * self.depth_multiplier, self.filters),
            get_initializer(self.pointwise_initializer))
        self.bias = (self.add_weight("bias", (self.filters,), get_initializer(self.bias_initializer))
                     if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = self._split(input_shape)
        if self.built:
            self._check_built_channels(channels, self.depthwise_kernel.shape[-2], input_shape)
        return activation_output_shape(self, self.activation_name,
                                       self._join(batch, self._conv_spatial(spatial, input_shape), self.filters))

    def call(self, inputs):
        inputs = self._float_input(inputs)
        spatial = self._split(inputs.shape)[1]
        if self._channels_first:  # both steps in channels-last, one transpose each way
            inputs = np.moveaxis(inputs, 1, -1)
        hidden = kernels.depthwise_conv(inputs, self.value_of(self.depthwise_kernel), self.strides,
                                        self._pads(spatial), self.dilation_rate)
        ones = (1,) * self.rank
        outputs = kernels.conv(hidden, self.value_of(self.pointwise_kernel), ones,
                               [(0, 0)] * self.rank, ones, bias=self._bias_value())
        if self._channels_first:
            outputs = np.ascontiguousarray(np.moveaxis(outputs, -1, 1))
        return self.activation(outputs)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "filters": self.filters,
            **self._common_config(),
            "depthwise_initializer": self.depthwise_initializer,
            "pointwise_initializer": self.pointwise_initializer,
            "bias_initializer": self.bias_initializer,
            "depthwise_regularizer": self.depthwise_regularizer,
            "pointwise_regularizer": self.pointwise_regularizer,
            "bias_regularizer": self.bias_regularizer,
            "activity_regularizer": self.activity_regularizer,
            "depthwise_constraint": self.depthwise_constraint,
            "pointwise_constraint": self.pointwise_constraint,
            "bias_constraint": self.bias_constraint,
        }


@register_layer("SeparableConvolution1D")
class SeparableConv1D(_SeparableConv):
    """Depthwise-separable 1D convolution."""

    rank = 1


@register_layer("SeparableConvolution2D")
class SeparableConv2D(_SeparableConv):
    """Depthwise-separable 2D convolution (Xception's building block)."""

    rank = 2


# ----- Conv1DTranspose / Conv2DTranspose / Conv3DTranspose ----------------------------------------

class _ConvTranspose(_BaseConv):
    """Transposed convolution: kernel `(*kernel_size, filters, channels)`, no kernel flip; output
    `(in - 1) * strides + max(kernel, strides)` (valid) or `in * strides` (same) per axis, or as
    fixed by `output_padding` (Keras's `compute_conv_transpose_output_shape`)."""

    _legacy_keys = {"groups": None}

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self)
        self.filters = check_int(filters, "filters", cls, self.name, minimum=1)
        self._init_window(kernel_size, strides, padding, data_format, dilation_rate, activation,
                          use_bias)
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = _int_tuple(self, output_padding, "output_padding", self.rank,
                                             minimum=0)
            if any(pad >= stride for pad, stride in zip(self.output_padding, self.strides)):
                raise ConfigError(f"{self._label}: output_padding must be smaller than strides "
                                  f"on every axis, got output_padding={list(self.output_padding)}"
                                  f" and strides={list(self.strides)}")
        self._refuse_strides_with_dilation()
        self.kernel_initializer = serialize_initializer(kernel_initializer, "kernel_initializer", self)
        self.bias_initializer = serialize_initializer(bias_initializer, "bias_initializer", self)
        self.kernel_regularizer = check_serialized(kernel_regularizer, "kernel_regularizer", cls, self.name)
        self.bias_regularizer = check_serialized(bias_regularizer, "bias_regularizer", cls, self.name)
        self.kernel_constraint = check_serialized(kernel_constraint, "kernel_constraint", cls, self.name)
        self.bias_constraint = check_serialized(bias_constraint, "bias_constraint", cls, self.name)

    @classmethod
    def normalize_legacy_config(cls, config: dict) -> dict:
        _check_groups_is_one(cls, config)
        return super().normalize_legacy_config(config)

    def _output_paddings(self) -> tuple:
        return self.output_padding or (None,) * self.rank

    def build(self, input_shape):
        channels = self._known_channels(input_shape)
        self.kernel = self.add_weight("kernel", (*self.kernel_size, self.filters, channels),
                                      get_initializer(self.kernel_initializer))
        self.bias = (self.add_weight("bias", (self.filters,), get_initializer(self.bias_initializer))
                     if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = self._split(input_shape)
        if self.built:
            self._check_built_channels(channels, self.kernel.shape[-1], input_shape)
        if 0 in spatial:
            raise ConfigError(f"{self._label} cannot take inputs with an empty spatial "
                              f"dimension, got shape {tuple(input_shape)}")
        sizes = tuple(
            kernels.conv_transpose_output_length(size, k, s, d, self.padding, pad)
            for size, k, s, d, pad in zip(spatial, self.kernel_size, self.strides,
                                          self.dilation_rate, self._output_paddings()))
        return activation_output_shape(self, self.activation_name,
                                       self._join(batch, sizes, self.filters))

    def call(self, inputs):
        inputs = self._float_input(inputs)
        crops = [kernels.conv_transpose_crops(k, s, d, self.padding, pad)
                 for k, s, d, pad in zip(self.kernel_size, self.strides, self.dilation_rate,
                                         self._output_paddings())]
        outputs = kernels.conv_transpose(inputs, self.value_of(self.kernel), self.strides,
                                         self.dilation_rate, crops, self._bias_value(),
                                         channels_first=self._channels_first)
        return self.activation(outputs)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            **self._common_config(),
            "output_padding": self.output_padding,
            **self._kernel_config(),
        }


@register_layer("Convolution1DTranspose")
class Conv1DTranspose(_ConvTranspose):
    """Transposed 1D convolution."""

    rank = 1


@register_layer("Convolution2DTranspose")
class Conv2DTranspose(_ConvTranspose):
    """Transposed 2D convolution (upsampling by a learned kernel)."""

    rank = 2


@register_layer("Convolution3DTranspose")
class Conv3DTranspose(_ConvTranspose):
    """Transposed 3D convolution. (Keras puts `data_format` before `output_padding` here.)"""

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid",
                 data_format=None, output_padding=None, dilation_rate=(1, 1, 1),
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters=filters, kernel_size=kernel_size, strides=strides,
                         padding=padding, output_padding=output_padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)
