"""tf-keras's `experimental.RandomFourierFeatures` (tf_keras/src/layers/kernelized.py): random
features approximating a shift-invariant kernel, `cos(x @ (unscaled_kernel / kernel_scale) +
bias)` on inputs of rank 2, computed in float32. Keras 3 has no such class.

Weights, in the order tf-keras stores them (its `kernel_scale` is the one trainable weight and
comes first, also when the layer itself is not trainable): `kernel_scale` (1,), trainable, the
kernel width; `unscaled_kernel` (input_dim, output_dim) and `bias` (output_dim,), both
non-trainable, drawn once (Gaussian or Cauchy rows, uniform phases in [0, 2 pi)).
"""

import numpy as np

from ..errors import ConfigError, UnsupportedError
from ..graph import Layer, register_layer
from .arguments import layer_label
from .initializers import serialize_initializer

__all__ = ["RandomFourierFeatures"]

KERNEL_TYPES = ("gaussian", "laplacian")


@register_layer()
class RandomFourierFeatures(Layer):
    """`cos(x @ kernel + bias)` with `kernel = (1 / kernel_scale) * unscaled_kernel`."""

    _keras_module = "keras.layers.experimental"

    def __init__(self, output_dim, kernel_initializer="gaussian", scale=None, trainable=False,
                 name=None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        if isinstance(output_dim, bool) or not isinstance(output_dim, int) or output_dim < 1:
            raise ConfigError(f"{layer_label(self)}: output_dim must be a positive integer, got "
                              f"{output_dim!r}")
        if isinstance(kernel_initializer, str):
            if kernel_initializer.lower() not in KERNEL_TYPES:
                raise ConfigError(f"{layer_label(self)}: kernel_initializer must be "
                                  f"'gaussian', 'laplacian' or an initializer config, got "
                                  f"{kernel_initializer!r}")
        else:
            kernel_initializer = serialize_initializer(kernel_initializer, "kernel_initializer",
                                                       self)
        if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))
                                  or not scale > 0):
            raise ConfigError(f"{layer_label(self)}: scale must be a positive number or null, "
                              f"got {scale!r}")
        if self.compute_dtype != "float32":
            raise UnsupportedError(f"{layer_label(self)}: tf-keras computes RandomFourierFeatures "
                                   f"in float32; a {self.compute_dtype} policy is not supported")
        self.output_dim = output_dim
        self.kernel_initializer = kernel_initializer
        self.scale = scale

    def default_scale(self, input_dim: int) -> float:
        """tf-keras's starting kernel_scale: sqrt(input_dim / 2) for 'gaussian', else 1."""
        if isinstance(self.kernel_initializer, str) and self.kernel_initializer.lower() == "gaussian":
            return float(np.sqrt(input_dim / 2.0))
        return 1.0

    def _check_input(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ConfigError(f"{layer_label(self)} expects inputs of rank 2 with a known last "
                              f"dimension, got shape {tuple(input_shape)}")

    def build(self, input_shape):
        self._check_input(input_shape)
        input_dim = input_shape[-1]
        rng = np.random.default_rng()
        scale = self.scale if self.scale is not None else self.default_scale(input_dim)
        laplacian = (isinstance(self.kernel_initializer, str)
                     and self.kernel_initializer.lower() == "laplacian")

        def draw_kernel(shape, dtype):
            draw = rng.standard_cauchy(shape) if laplacian else rng.standard_normal(shape)
            return draw.astype(dtype)

        self.kernel_scale = self.add_weight("kernel_scale", (1,),
                                            lambda shape, dtype: np.full(shape, scale, dtype))
        self.unscaled_kernel = self.add_weight("unscaled_kernel", (input_dim, self.output_dim),
                                               draw_kernel, trainable=False)
        self.bias = self.add_weight(
            "bias", (self.output_dim,),
            lambda shape, dtype: rng.uniform(0.0, 2 * np.pi, shape).astype(dtype),
            trainable=False)

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        if self.built and input_shape[-1] != self.unscaled_kernel.shape[0]:
            raise ConfigError(f"{layer_label(self)} was built for inputs of last dimension "
                              f"{self.unscaled_kernel.shape[0]}, got {tuple(input_shape)}")
        return (input_shape[0], self.output_dim)

    def kernel_value(self) -> np.ndarray:
        """The kernel the layer multiplies by: (1 / kernel_scale) * unscaled_kernel."""
        scale = self.kernel_scale.value.astype(np.float32)
        return ((np.float32(1.0) / scale) * self.unscaled_kernel.value.astype(np.float32))

    def call(self, inputs):
        outputs = inputs.astype(np.float32, copy=False) @ self.kernel_value()
        return np.cos(outputs + self.bias.value.astype(np.float32))

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim,
                "kernel_initializer": self.kernel_initializer, "scale": self.scale}
