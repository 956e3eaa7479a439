"""LayerNormalization: each sample normalized over its `axis`, gamma and beta broadcast as Keras
reshapes them.
"""

import numpy as np

from ...graph import register_layer
from ...kernels.normalization import moments
from ..arguments import check_bool
from ..initializers import get_initializer
from .base import (
    GAMMA_BETA_ARGUMENTS,
    GammaBetaLayer,
    axis_argument,
    check_known_dims,
    in_dtype,
    positive_axes,
    sorted_axes,
    work_dtype,
)

__all__ = ["LayerNormalization"]


def weight_broadcast(weight_value: np.ndarray, axes: list, x_shape: tuple) -> np.ndarray:
    """Keras's `_broadcast` in layer_normalization: the weight (shaped like the sizes of the
    sorted `axes`) is reshaped, not transposed, to the input's rank. For mixed-sign axes such as
    [-1, 1] this reinterprets the weight's memory exactly as Keras does when it trains it."""
    ndim = len(x_shape)
    if weight_value.ndim == ndim or axes == [ndim - 1]:
        return weight_value
    broadcast = [1] * ndim
    for axis in axes:
        broadcast[axis] = x_shape[axis]
    return weight_value.reshape(broadcast)


@register_layer()
class LayerNormalization(GammaBetaLayer):
    """Normalizes each sample over `axis` (an int or list of axes):
    `gamma * (x - mean) / sqrt(var + epsilon) + beta`.

    `rms_scaling=True` (deprecated in Keras 3) computes `x / sqrt(var + epsilon) * gamma`: the
    variance still subtracts the mean, `gamma` exists even with `scale=False`, and there is no
    `beta`. Like Keras, `axis` is written back as a sorted list once the layer is built.

    Non-trailing axes (e.g. `axis=1` of a rank-3 input) follow Keras's generic formula, which
    tf-keras and Keras 3's TensorFlow/JAX/numpy backends compute (Keras 3.15's torch backend
    hands such axes to `F.layer_norm`, which normalizes the trailing axes instead).
    """

    _config_arguments = ("axis", "epsilon", "center", "scale", "rms_scaling",
                         *GAMMA_BETA_ARGUMENTS)

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis_argument(self, axis)
        self._gamma_beta_arguments(epsilon, center, scale, beta_initializer, gamma_initializer,
                                   beta_regularizer, gamma_regularizer, beta_constraint,
                                   gamma_constraint)
        self.rms_scaling = check_bool(rms_scaling, "rms_scaling", type(self), self.name)

    def build(self, input_shape):
        axes = sorted_axes(self.axis)
        positive = positive_axes(self, axes, len(input_shape))
        check_known_dims(self, input_shape, positive)
        shape = tuple(input_shape[axis] for axis in axes)
        self.axis = axes
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight("gamma", shape, get_initializer(self.gamma_initializer))
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight("beta", shape, get_initializer(self.beta_initializer))

    def compute_output_shape(self, input_shape):
        self._check_input_axes(sorted_axes(self.axis), input_shape)
        return input_shape

    def call(self, inputs):
        dtype = work_dtype(inputs)
        x = inputs.astype(dtype, copy=False)
        axes = sorted_axes(self.axis)
        reduce = tuple(positive_axes(self, axes, x.ndim))
        mean, variance = moments(x, reduce)
        inv = 1.0 / np.sqrt(variance + self.epsilon)
        gamma = None if self.gamma is None else weight_broadcast(
            in_dtype(self.gamma.value, dtype), axes, x.shape)
        if self.rms_scaling:
            outputs = x * inv
            if gamma is not None:
                outputs = outputs * gamma
        else:
            if gamma is not None:
                inv = inv * gamma
            outputs = (x - mean) * inv
            if self.beta is not None:
                outputs = outputs + weight_broadcast(in_dtype(self.beta.value, dtype), axes,
                                                      x.shape)
        return outputs.astype(self.compute_dtype, copy=False)

