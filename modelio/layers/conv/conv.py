"""Conv1D, Conv2D, Conv3D: convolutions (cross-correlations), optionally grouped."""

from ...errors import ConfigError, UnsupportedError
from ...graph import register_layer
from ...kernels import convolution as kernels
from ..arguments import KERNEL_BIAS_ARGUMENTS, check_int
from ..initializers import get_initializer
from .base import BaseConv

__all__ = ["Conv1D", "Conv2D", "Conv3D"]


class _Conv(BaseConv):
    """Convolution (cross-correlation) with `filters` outputs, optionally in `groups`."""

    _config_leading_arguments = ("filters",)
    _config_trailing_arguments = ("groups", *KERNEL_BIAS_ARGUMENTS)

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
        self._init_kernel_arguments(kernel_initializer, bias_initializer, kernel_regularizer,
                                    bias_regularizer, kernel_constraint, bias_constraint)
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
        self._add_bias(self.filters)

    def _built_channels(self) -> int:
        return self.kernel.shape[-2] * self.groups

    def _convolve(self, inputs):
        spatial = self._split(inputs.shape)[1]
        return kernels.conv(inputs, self.value_of(self.kernel), self.strides, self._pads(spatial),
                            self.dilation_rate, self.groups, self._bias_value(),
                            channels_first=self._channels_first)


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
