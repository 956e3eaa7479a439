"""DepthwiseConv1D, DepthwiseConv2D: each input channel convolved with its own filters."""

from ...graph import register_layer
from ...kernels import convolution as kernels
from ..arguments import check_int
from ..initializers import get_initializer
from .base import BaseConv

__all__ = ["DepthwiseConv1D", "DepthwiseConv2D"]


class _DepthwiseConv(BaseConv):
    """Each input channel convolved with its own `depth_multiplier` filters; output channel
    `c * depth_multiplier + m`. The kernel weight is `kernel` (Keras 2 named it
    `depthwise_kernel`), shaped `(*kernel_size, channels, depth_multiplier)`."""

    _legacy_keys = {"groups": None}
    _config_leading_arguments = ("depth_multiplier",)
    _config_trailing_arguments = (
        "depthwise_initializer", "bias_initializer", "depthwise_regularizer", "bias_regularizer",
        "activity_regularizer", "depthwise_constraint", "bias_constraint")

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
        self._keep_weight_arguments(
            depthwise_initializer=depthwise_initializer, bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
            depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint)

    def build(self, input_shape):
        channels = self._known_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight("kernel", (*self.kernel_size, channels, self.depth_multiplier),
                                      get_initializer(self.depthwise_initializer))
        self._add_bias(channels * self.depth_multiplier)

    def _built_channels(self) -> int:
        return self.kernel.shape[-2]

    def _output_channels(self, channels):
        return None if channels is None else channels * self.depth_multiplier

    def _convolve(self, inputs):
        spatial = self._split(inputs.shape)[1]
        return kernels.depthwise_conv(inputs, self.value_of(self.kernel), self.strides,
                                      self._pads(spatial), self.dilation_rate, self._bias_value(),
                                      channels_first=self._channels_first)


@register_layer()
class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1D convolution over (batch, steps, channels)."""

    rank = 1


@register_layer()
class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2D convolution over images (MobileNet's building block)."""

    rank = 2
    keras2_weight_names = {"kernel": "depthwise_kernel"}
