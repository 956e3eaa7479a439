"""SeparableConv1D, SeparableConv2D: a depthwise convolution, then a pointwise one."""

import numpy as np

from ...graph import register_layer
from ...graph.dialect import keras2_semantics_active
from ...kernels import convolution as kernels
from ..arguments import check_int
from ..initializers import get_initializer
from .base import BaseConv

__all__ = ["SeparableConv1D", "SeparableConv2D"]


class _SeparableConv(BaseConv):
    """A depthwise convolution (`depthwise_kernel`, `(*kernel_size, channels, depth_multiplier)`)
    followed by a pointwise one (`pointwise_kernel`, `(1, ..., channels * depth_multiplier,
    filters)`) and `bias`."""

    _legacy_keys = {"groups": None, "kernel_initializer": None, "kernel_regularizer": None,
                    "kernel_constraint": None}
    _config_leading_arguments = ("depth_multiplier", "filters")
    _config_trailing_arguments = (
        "depthwise_initializer", "pointwise_initializer", "bias_initializer",
        "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer",
        "activity_regularizer", "depthwise_constraint", "pointwise_constraint", "bias_constraint")

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
        self._keep_weight_arguments(
            depthwise_initializer=depthwise_initializer,
            pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            pointwise_regularizer=pointwise_regularizer, bias_regularizer=bias_regularizer,
            depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
            bias_constraint=bias_constraint)

    def build(self, input_shape):
        channels = self._known_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", (*self.kernel_size, channels, self.depth_multiplier),
            get_initializer(self.depthwise_initializer))
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (*(1,) * self.rank, channels * self.depth_multiplier, self.filters),
            get_initializer(self.pointwise_initializer))
        self._add_bias(self.filters)

    def _built_channels(self) -> int:
        return self.depthwise_kernel.shape[-2]

    def _convolve(self, inputs):
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
        return outputs


@register_layer("SeparableConvolution1D")
class SeparableConv1D(_SeparableConv):
    """Depthwise-separable 1D convolution."""

    rank = 1


@register_layer("SeparableConvolution2D")
class SeparableConv2D(_SeparableConv):
    """Depthwise-separable 2D convolution (Xception's building block)."""

    rank = 2
