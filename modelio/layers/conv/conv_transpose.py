"""Conv1DTranspose, Conv2DTranspose, Conv3DTranspose: transposed convolutions."""

from ...errors import ConfigError
from ...graph import register_layer
from ...kernels import convolution as kernels
from ..arguments import KERNEL_BIAS_ARGUMENTS, check_int
from ..initializers import get_initializer
from .base import BaseConv, standardize_tuple

__all__ = ["Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"]


class _ConvTranspose(BaseConv):
    """Transposed convolution: kernel `(*kernel_size, filters, channels)`, no kernel flip; output
    `(in - 1) * strides + max(kernel, strides)` (valid) or `in * strides` (same) per axis, or as
    fixed by `output_padding` (Keras's `compute_conv_transpose_output_shape`)."""

    _legacy_keys = {"groups": None}
    _config_leading_arguments = ("filters",)
    _config_trailing_arguments = ("output_padding", *KERNEL_BIAS_ARGUMENTS)

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
            self.output_padding = standardize_tuple(self, output_padding, "output_padding", self.rank,
                                             minimum=0)
            if any(pad >= stride for pad, stride in zip(self.output_padding, self.strides)):
                raise ConfigError(f"{self._label}: output_padding must be smaller than strides "
                                  f"on every axis, got output_padding={list(self.output_padding)}"
                                  f" and strides={list(self.strides)}")
        self._refuse_strides_with_dilation()
        self._init_kernel_arguments(kernel_initializer, bias_initializer, kernel_regularizer,
                                    bias_regularizer, kernel_constraint, bias_constraint)

    def output_paddings(self) -> tuple:
        """`output_padding` per spatial axis (None where Keras derives it)."""
        return self.output_padding or (None,) * self.rank

    def build(self, input_shape):
        channels = self._known_channels(input_shape)
        self.kernel = self.add_weight("kernel", (*self.kernel_size, self.filters, channels),
                                      get_initializer(self.kernel_initializer))
        self._add_bias(self.filters)

    def _built_channels(self) -> int:
        return self.kernel.shape[-1]

    def _output_spatial(self, spatial, input_shape) -> tuple:
        if 0 in spatial:
            raise ConfigError(f"{self._label} cannot take inputs with an empty spatial "
                              f"dimension, got shape {tuple(input_shape)}")
        return tuple(
            kernels.conv_transpose_output_length(size, k, s, d, self.padding, pad)
            for size, k, s, d, pad in zip(spatial, self.kernel_size, self.strides,
                                          self.dilation_rate, self.output_paddings()))

    def _convolve(self, inputs):
        crops = [kernels.conv_transpose_crops(k, s, d, self.padding, pad)
                 for k, s, d, pad in zip(self.kernel_size, self.strides, self.dilation_rate,
                                         self.output_paddings())]
        return kernels.conv_transpose(inputs, self.value_of(self.kernel), self.strides,
                                      self.dilation_rate, crops, self._bias_value(),
                                      channels_first=self._channels_first)


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
