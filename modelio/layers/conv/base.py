"""BaseConv: what every convolution layer shares (window arguments, data format, padding, bias,
activation, shapes), with Keras 3's arguments, configs and weights; numpy kernels in
`modelio.kernels.convolution`.

Keras 2 (tf-keras) configs load too: they carry `groups: 1` on depthwise, separable and
transposed convolutions (only 1 is accepted), and SeparableConv's unused `kernel_initializer`,
`kernel_regularizer` and `kernel_constraint`, all dropped. Inside `keras2_semantics()`,
SeparableConv1D also takes tf-keras's `padding="causal"`.
"""

from ...errors import ConfigError, UnsupportedError
from ...graph import Layer
from ...kernels import convolution as kernels
from ..activations import activation_output_shape, resolve_activation, serialize_activation
from ..arguments import (
    check_bool,
    check_serialized,
    config_entries,
    standardize_data_format,
)
from ..initializers import get_initializer, serialize_initializer

__all__ = ["BaseConv", "MAX_KERNEL_EXTENT", "standardize_tuple"]

# A (dilated) kernel wider than this is a corrupt or hostile config: no real model has one, and
# "same" padding for it would allocate without bound.
MAX_KERNEL_EXTENT = 2**20


def standardize_tuple(layer, value, argument: str, rank: int, minimum: int = 1) -> tuple:
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


class BaseConv(Layer):
    """What every convolution layer shares: window arguments, data format, bias, activation."""

    rank = 0
    # get_config's keys around the window arguments, in Keras's order (attribute names)
    _config_leading_arguments: tuple = ()
    _config_trailing_arguments: tuple = ()

    @property
    def _label(self) -> str:
        return f"layer '{self.name}' ({type(self).__name__})"

    @classmethod
    def normalize_legacy_config(cls, config: dict) -> dict:
        if "groups" in cls._legacy_keys:  # a layer without groups in Keras 3
            _check_groups_is_one(cls, config)
        return super().normalize_legacy_config(config)

    def _init_window(self, kernel_size, strides, padding, data_format, dilation_rate, activation,
                     use_bias, allow_causal: bool = False) -> None:
        self.kernel_size = standardize_tuple(self, kernel_size, "kernel_size", self.rank)
        self.strides = standardize_tuple(self, strides, "strides", self.rank)
        self.dilation_rate = standardize_tuple(self, dilation_rate, "dilation_rate", self.rank)
        extent = max((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))
        if extent > MAX_KERNEL_EXTENT:
            raise ConfigError(f"{self._label}: kernel_size {list(self.kernel_size)} dilated by "
                              f"{list(self.dilation_rate)} spans {extent} cells, more than the "
                              f"{MAX_KERNEL_EXTENT} modelio computes")
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

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = self._split(input_shape)
        if self.built:
            self._check_built_channels(channels, self._built_channels(), input_shape)
        output_shape = self._join(batch, self._output_spatial(spatial, input_shape),
                                  self._output_channels(channels))
        return activation_output_shape(self, self.activation_name, output_shape)

    def call(self, inputs):
        return self.activation(self._convolve(self._float_input(inputs)))

    # What each convolution defines for compute_output_shape and call:
    def _built_channels(self) -> int:
        """The input channels the built weights expect."""
        raise NotImplementedError

    def _output_spatial(self, spatial, input_shape) -> tuple:
        return self._conv_spatial(spatial, input_shape)

    def _output_channels(self, channels):
        return self.filters

    def _convolve(self, inputs):
        """The convolution of float `inputs`, with the bias, before the activation."""
        raise NotImplementedError

    def _pads(self, spatial) -> list:
        return [kernels.padding_amounts(size, k, s, d, self.padding)
                for size, k, s, d in zip(spatial, self.kernel_size, self.strides,
                                         self.dilation_rate)]

    def _float_input(self, inputs):
        if inputs.dtype.kind != "f":
            inputs = inputs.astype(self.compute_dtype)
        return inputs

    def _add_bias(self, size: int) -> None:
        """The `bias` weight of `size` entries when `use_bias`, else None."""
        self.bias = (self.add_weight("bias", (size,), get_initializer(self.bias_initializer))
                     if self.use_bias else None)

    def _bias_value(self):
        return self.value_of(self.bias) if self.bias is not None else None

    def get_config(self) -> dict:
        """Keras's key order: the layer's own leading arguments, the window arguments, then the
        trailing ones (weights' initializers, regularizers and constraints)."""
        return {**super().get_config(), **config_entries(self, self._config_leading_arguments),
                **self._window_config(),
                **config_entries(self, self._config_trailing_arguments)}

    def _window_config(self) -> dict:
        return {
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": serialize_activation(self.activation_name),
            "use_bias": self.use_bias,
        }

    def _init_kernel_arguments(self, kernel_initializer, bias_initializer, kernel_regularizer,
                               bias_regularizer, kernel_constraint, bias_constraint) -> None:
        """Check and keep the kernel/bias arguments `get_config` writes back."""
        self._keep_weight_arguments(
            kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)

    def _keep_weight_arguments(self, **arguments) -> None:
        """Check and keep, in the order given, the weights' `*_initializer` arguments (as Keras
        serializes them) and their regularizers and constraints (serialized already)."""
        for argument, value in arguments.items():
            if argument.endswith("_initializer"):
                setattr(self, argument, serialize_initializer(value, argument, self))
            else:
                setattr(self, argument, check_serialized(value, argument, type(self), self.name))


def _check_groups_is_one(cls, config: dict) -> None:
    """tf-keras writes `groups: 1` on layers that have no groups in Keras 3; only 1 means that."""
    groups = config.get("groups", 1)
    if groups != 1:
        name = config.get("name", cls.__name__)
        raise UnsupportedError(f"layer '{name}' ({cls.__name__}): groups={groups!r} is not "
                               f"supported (only the Keras 2 default groups=1)")
