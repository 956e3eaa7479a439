"""What the normalization layers share: checks of their `axis` arguments and of input shapes, the
dtype their statistics are computed in, and the base of the layers with `gamma` / `beta` weights.

Each normalization layer computes what Keras 3.15 computes at inference. Like Keras, the
statistics are computed in at least float32 (float16 inputs are upcast, float64 stays float64) and
the output is cast to the layer's compute dtype. Keras 2 (tf-keras) configs load too:
BatchNormalization's `axis: [3]`, `fused`, and its multi-axis form; LayerNormalization's
`axis: [2]`.
"""

import numpy as np

from ...errors import ConfigError
from ...graph import Layer
from ..arguments import (
    check_bool,
    check_float,
    check_serialized,
    config_entries,
    layer_label,
)
from ..initializers import serialize_initializer

__all__ = [
    "GammaBetaLayer", "axis_argument", "check_axes_in_range", "check_built_dims",
    "check_known_dims", "in_dtype", "is_int", "positive_axes", "sorted_axes", "work_dtype",
]


def is_int(value) -> bool:
    """Whether `value` is an integer (numpy's included), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def axis_argument(layer, axis, allow_list: bool = True, allow_empty: bool = False):
    """An int, or (when `allow_list`) a list of ints; tuples become lists, numpy ints ints."""
    if is_int(axis):
        return int(axis)
    if allow_list and isinstance(axis, (list, tuple)) and (axis or allow_empty) and all(
            is_int(item) for item in axis):
        return [int(item) for item in axis]
    expected = "an integer or a list of integers" if allow_list else "an integer"
    raise ConfigError(f"{layer_label(layer)}: axis must be {expected}, got {axis!r}")


def positive_axes(layer, axes, rank: int) -> list:
    """`axes` as non-negative indices into a rank-`rank` input; out of range -> ConfigError."""
    positive = []
    for axis in axes:
        if not -rank <= axis < rank:
            raise ConfigError(f"{layer_label(layer)}: axis {axis} is out of bounds for inputs of "
                              f"rank {rank}")
        positive.append(axis % rank)
    if len(set(positive)) != len(positive):
        raise ConfigError(f"{layer_label(layer)}: axis {axes} names the same axis twice")
    return positive


def check_known_dims(layer, input_shape, axes: list, what: str = "normalized") -> None:
    """A ConfigError naming `layer` unless `input_shape` has a known size on each of `axes`."""
    for axis in axes:
        if input_shape[axis] is None:
            raise ConfigError(f"{layer_label(layer)} needs a known size on the {what} axis {axis}, "
                              f"got inputs of shape {input_shape}")


def check_built_dims(layer, input_shape, axes: list, sizes: list) -> None:
    """A built layer refuses inputs whose size on a normalized axis differs from its weights."""
    for axis, size in zip(axes, sizes):
        if input_shape[axis] not in (None, size):
            raise ConfigError(f"{layer_label(layer)} was built for size {size} on axis {axis}, got "
                              f"inputs of shape {input_shape}")


def work_dtype(inputs: np.ndarray) -> np.dtype:
    """Keras's `result_type(inputs.dtype, "float32")`: statistics in at least float32."""
    if inputs.dtype.kind == "f":
        return np.promote_types(inputs.dtype, np.float32)
    return np.dtype(np.float32)


def in_dtype(array: np.ndarray, dtype) -> np.ndarray:
    """`array` (a weight's value) in `dtype`, not copied when it already is."""
    return np.asarray(array).astype(dtype, copy=False)


def check_axes_in_range(layer, axes: list, input_shape) -> None:
    """A ConfigError naming `layer` unless every one of `axes` exists in `input_shape`."""
    rank = len(input_shape)
    for axis in axes:
        if not -rank <= axis < rank:
            raise ConfigError(f"{layer_label(layer)}: axis {axis} is out of bounds for input shape "
                              f"{input_shape}")


GAMMA_BETA_ARGUMENTS = ("beta_initializer", "gamma_initializer", "beta_regularizer",
                        "gamma_regularizer", "beta_constraint", "gamma_constraint")
"""The gamma/beta initializer, regularizer and constraint arguments, in Keras's config order."""


class GammaBetaLayer(Layer):
    """Shared arguments of the layers with optional `gamma` (scale) and `beta` (center) weights."""

    _config_arguments: tuple = ()  # get_config's keys (attribute names), in Keras's order

    def _gamma_beta_arguments(self, epsilon, center, scale, beta_initializer, gamma_initializer,
                              beta_regularizer, gamma_regularizer, beta_constraint,
                              gamma_constraint):
        cls = type(self)
        self.epsilon = check_float(epsilon, "epsilon", cls, self.name, 0.0)
        self.center = check_bool(center, "center", cls, self.name)
        self.scale = check_bool(scale, "scale", cls, self.name)
        self.beta_initializer = serialize_initializer(beta_initializer, "beta_initializer", self)
        self.gamma_initializer = serialize_initializer(gamma_initializer, "gamma_initializer", self)
        self.beta_regularizer = check_serialized(beta_regularizer, "beta_regularizer", cls,
                                                 self.name)
        self.gamma_regularizer = check_serialized(gamma_regularizer, "gamma_regularizer", cls,
                                                  self.name)
        self.beta_constraint = check_serialized(beta_constraint, "beta_constraint", cls, self.name)
        self.gamma_constraint = check_serialized(gamma_constraint, "gamma_constraint", cls,
                                                 self.name)
        self.gamma = None
        self.beta = None

    def _check_input_axes(self, axes: list, input_shape) -> None:
        """`axes` exist in `input_shape` and, once built, have the sizes of the gamma (or beta)
        weight."""
        check_axes_in_range(self, axes, input_shape)
        weight = self.gamma if self.gamma is not None else self.beta
        if self.built and weight is not None:
            check_built_dims(self, input_shape, positive_axes(self, axes, len(input_shape)),
                              list(weight.shape))

    def _standardize(self, centered: np.ndarray, variance: np.ndarray, broadcast: list,
                     dtype) -> np.ndarray:
        """`centered / sqrt(variance + epsilon)`, scaled by gamma and shifted by beta where the
        layer has them, each weight reshaped to `broadcast` in `dtype`."""
        inverse = 1.0 / np.sqrt(variance + self.epsilon)
        if self.gamma is not None:
            inverse = inverse * in_dtype(self.gamma.value, dtype).reshape(broadcast)
        outputs = centered * inverse
        if self.beta is not None:
            outputs = outputs + in_dtype(self.beta.value, dtype).reshape(broadcast)
        return outputs

    def get_config(self) -> dict:
        return {**super().get_config(), **config_entries(self, self._config_arguments)}


def sorted_axes(axis) -> list:
    """`axis` (an int or a list) as the sorted list Keras's LayerNormalization and
    RMSNormalization rewrite it to at build."""
    return sorted(axis) if isinstance(axis, list) else [axis]
