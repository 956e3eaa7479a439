"""Core layers: Dense, Identity, Masking, and the layers that only act during training."""

import numpy as np

from .. import ops
from ..errors import ConfigError, UnsupportedError
from ..graph import Layer, register_layer
from .activations import activation_output_shape, resolve_activation, serialize_activation
from .arguments import (
    check_bool,
    check_float,
    check_int,
    check_serialized,
    standardize_data_format,
)
from .initializers import get_initializer, serialize_initializer
from .quantization import LoraSetup, QuantizationSetup
from .quantized_kernel import QuantizedKernelMixin


@register_layer()
class Dense(QuantizedKernelMixin, Layer):
    """`activation(inputs @ kernel + bias)` over the last axis of inputs of any rank; quantized
    (int8, int4, float8) and LoRA-enabled as Keras's `quantize` / `enable_lora` leave it."""

    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 lora_rank=None, lora_alpha=None, quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self)
        self.units = check_int(units, "units", cls, self.name, minimum=1)
        self.activation_name, self.activation = resolve_activation(activation, self.name)
        self.use_bias = check_bool(use_bias, "use_bias", cls, self.name)
        self.kernel_initializer = serialize_initializer(kernel_initializer, "kernel_initializer", self)
        self.bias_initializer = serialize_initializer(bias_initializer, "bias_initializer", self)
        self.kernel_regularizer = check_serialized(kernel_regularizer, "kernel_regularizer", cls, self.name)
        self.bias_regularizer = check_serialized(bias_regularizer, "bias_regularizer", cls, self.name)
        self.kernel_constraint = check_serialized(kernel_constraint, "kernel_constraint", cls, self.name)
        self.bias_constraint = check_serialized(bias_constraint, "bias_constraint", cls, self.name)
        self.lora = LoraSetup(self, lora_rank, lora_alpha)
        self.quantization = QuantizationSetup(self, quantization_config)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ConfigError(f"layer '{self.name}' (Dense) needs a known last input dimension, "
                              f"got {input_shape}")
        self.build_quantized_kernel((input_dim, self.units))
        self.bias = (self.add_weight("bias", (self.units,), get_initializer(self.bias_initializer))
                     if self.use_bias else None)
        self.build_lora()

    def kernel_initializer_fn(self):
        return get_initializer(self.kernel_initializer)

    def scale_layout(self):
        return None  # one int8 scale per unit

    def reduced_kernel_axes(self) -> list:
        return [0]

    @staticmethod
    def contract(x, kernel):
        return np.matmul(x, kernel)

    def compute_output_shape(self, input_shape):
        if self.built and input_shape[-1] not in (None, self.kernel_shape[0]):
            raise ConfigError(f"layer '{self.name}' (Dense) was built for inputs of last "
                              f"dimension {self.kernel_shape[0]}, got {input_shape}")
        return activation_output_shape(self, self.activation_name,
                                       (*input_shape[:-1], self.units))

    def call(self, inputs):
        if inputs.dtype.kind in "iub":  # e.g. a lookup's counts: Keras promotes them to floats
            inputs = inputs.astype(self.compute_dtype)
        if self.quantization.mode is not None or self.lora.enabled:
            outputs = self.kernel_product(inputs)
            if self.bias is not None:
                outputs = outputs + self.bias_for_mode()
            return self.activation(outputs)
        outputs = inputs @ self.value_of(self.kernel)
        if self.bias is not None:
            outputs += self.value_of(self.bias)
        return self.activation(outputs)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": serialize_activation(self.activation_name),
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
            "kernel_regularizer": self.kernel_regularizer,
            "bias_regularizer": self.bias_regularizer,
            "kernel_constraint": self.kernel_constraint,
            "bias_constraint": self.bias_constraint,
            **self.quantization_config_entries(),
        }


@register_layer()
class Identity(Layer):
    """Returns its input unchanged."""

    supports_masking = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True

    def call(self, inputs):
        return inputs


class InferenceIdentity(Layer):
    """Base for layers that change nothing at inference time (dropout, noise, regularization)."""

    supports_masking = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True

    def call(self, inputs, training=None):
        return inputs


def _check_rate(layer, rate):
    return check_float(rate, "rate", type(layer), layer.name, 0.0, 1.0)


def _check_seed(layer, seed):
    if seed is not None:
        check_int(seed, "seed", type(layer), layer.name)
    return seed


@register_layer()
class Dropout(InferenceIdentity):
    """Drops `rate` of the inputs during training; the identity at inference."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(self, rate)
        if noise_shape is not None and (not isinstance(noise_shape, (list, tuple)) or not all(
                dim is None or (isinstance(dim, int) and not isinstance(dim, bool) and dim > 0)
                for dim in noise_shape)):
            raise ConfigError(f"layer '{self.name}' ({type(self).__name__}): noise_shape must be "
                              f"a list of positive integers or nulls, got {noise_shape!r}")
        self.noise_shape = None if noise_shape is None else list(noise_shape)
        self.seed = _check_seed(self, seed)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": self.noise_shape}


@register_layer()
class AlphaDropout(Dropout):
    """Dropout that keeps SELU's self-normalization during training; the identity at inference."""


class _SpatialDropout(InferenceIdentity):
    _has_data_format = False
    _legacy_keys = {"noise_shape": None, "trainable": None}  # Keras 2 wrote Dropout's keys

    def __init__(self, rate, seed=None, name=None, dtype=None, data_format=None, trainable=True,
                 **kwargs):
        super().__init__(name=name, dtype=dtype, trainable=trainable, **kwargs)
        self.rate = _check_rate(self, rate)
        self.seed = _check_seed(self, seed)
        if data_format is not None and not self._has_data_format:
            raise UnsupportedError(f"layer '{self.name}' ({type(self).__name__}): "
                                   f"unsupported argument data_format")
        self.data_format = standardize_data_format(data_format, type(self), self.name)

    def get_config(self) -> dict:
        config = {"rate": self.rate, "seed": self.seed, "name": self.name,
                  "dtype": self.dtype_policy.variable_dtype}
        if self._has_data_format:
            config["data_format"] = self.data_format
        return config


@register_layer()
class SpatialDropout1D(_SpatialDropout):
    """Drops whole feature maps of (batch, steps, channels) inputs during training."""


@register_layer()
class SpatialDropout2D(_SpatialDropout):
    """Drops whole 2D feature maps during training."""

    _has_data_format = True


@register_layer()
class SpatialDropout3D(_SpatialDropout):
    """Drops whole 3D feature maps during training."""

    _has_data_format = True


@register_layer()
class GaussianNoise(InferenceIdentity):
    """Adds N(0, stddev) noise during training; the identity at inference."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = check_float(stddev, "stddev", type(self), self.name, 0.0, 1.0)
        self.seed = _check_seed(self, seed)

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


@register_layer()
class GaussianDropout(InferenceIdentity):
    """Multiplies by N(1, rate/(1-rate)) noise during training; the identity at inference."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(self, rate)
        self.seed = _check_seed(self, seed)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@register_layer()
class ActivityRegularization(InferenceIdentity):
    """Adds an L1/L2 activity penalty to the training loss; the identity at inference."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        super().__init__(**kwargs)
        self.l1 = check_float(l1, "l1", type(self), self.name, 0.0)
        self.l2 = check_float(l2, "l2", type(self), self.name, 0.0)

    def get_config(self) -> dict:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}



@register_layer()
class Masking(Layer):
    """Masks time steps whose features all equal `mask_value`: their outputs become 0 and later
    layers (RNNs, pooling, attention) skip them."""

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = check_float(mask_value, "mask_value", type(self), self.name)
        self.built = True

    def call(self, inputs):
        keep = np.any(inputs != self.mask_value, axis=-1, keepdims=True)
        return np.where(keep, inputs, np.zeros((), inputs.dtype))

    def compute_mask(self, inputs, previous_mask):
        return ops.any(ops.not_equal(inputs, self.mask_value), axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}
