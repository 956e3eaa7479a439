"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
UnitNormalization, RMSNormalization, and the Normalization preprocessing layer.

Each computes what Keras 3.15 computes at inference. Like Keras, the statistics are computed in at
least float32 (float16 inputs are upcast, float64 stays float64) and the output is cast to the
layer's compute dtype. Keras 2 (tf-keras) configs load too: BatchNormalization's `axis: [3]`,
`fused`, and its multi-axis form; LayerNormalization's `axis: [2]`.
"""

import numpy as np

from ..errors import ConfigError, GraphError, ModelioError, UnsupportedError
from ..graph import Layer, register_layer
from ..graph.dialect import keras2_semantics_active
from .arguments import check_bool, check_float, check_serialized, layer_label
from .initializers import get_initializer, serialize_initializer

__all__ = [
    "BatchNormalization", "GroupNormalization", "LayerNormalization", "Normalization",
    "RMSNormalization", "UnitNormalization",
]

# keras.backend.epsilon(): the floor Normalization puts under the standard deviation, and the
# guard Keras adds to the masked-moment denominators.
_BACKEND_EPSILON = 1e-7


# ----- shared helpers ---------------------------------------------------------------------------

def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _axis_argument(layer, axis, allow_list: bool = True, allow_empty: bool = False):
    """An int, or (when `allow_list`) a list of ints; tuples become lists, numpy ints ints."""
    if _is_int(axis):
        return int(axis)
    if allow_list and isinstance(axis, (list, tuple)) and (axis or allow_empty) and all(
            _is_int(item) for item in axis):
        return [int(item) for item in axis]
    expected = "an integer or a list of integers" if allow_list else "an integer"
    raise ConfigError(f"{layer_label(layer)}: axis must be {expected}, got {axis!r}")


def _positive_axes(layer, axes, rank: int) -> list:
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


def _known_dims(layer, input_shape, axes: list, what: str = "normalized") -> None:
    for axis in axes:
        if input_shape[axis] is None:
            raise ConfigError(f"{layer_label(layer)} needs a known size on the {what} axis {axis}, "
                              f"got inputs of shape {input_shape}")


def _check_built_dims(layer, input_shape, axes: list, sizes: list) -> None:
    """A built layer refuses inputs whose size on a normalized axis differs from its weights."""
    for axis, size in zip(axes, sizes):
        if input_shape[axis] not in (None, size):
            raise ConfigError(f"{layer_label(layer)} was built for size {size} on axis {axis}, got "
                              f"inputs of shape {input_shape}")


def _work_dtype(inputs: np.ndarray) -> np.dtype:
    """Keras's `result_type(inputs.dtype, "float32")`: statistics in at least float32."""
    if inputs.dtype.kind == "f":
        return np.promote_types(inputs.dtype, np.float32)
    return np.dtype(np.float32)


def _as_float(array: np.ndarray, dtype) -> np.ndarray:
    return np.asarray(array).astype(dtype, copy=False)


def _moments(x: np.ndarray, axes: tuple, weights: np.ndarray | None = None,
             guard: float = 0.0):
    """Mean and (biased) variance over `axes`, kept as size-1 axes. With `weights`, each element
    counts with its weight and the denominators are `sum(weights) + guard`."""
    if weights is None:
        mean = np.mean(x, axis=axes, keepdims=True)
        variance = np.mean(np.square(x - mean), axis=axes, keepdims=True)
        return mean, variance
    total = np.sum(weights, axis=axes, keepdims=True) + guard
    mean = np.sum(x * weights, axis=axes, keepdims=True) / total
    variance = np.sum(np.square(x - mean) * weights, axis=axes, keepdims=True) / total
    return mean, variance


def _check_axes_in_range(layer, axes: list, input_shape) -> None:
    rank = len(input_shape)
    for axis in axes:
        if not -rank <= axis < rank:
            raise ConfigError(f"{layer_label(layer)}: axis {axis} is out of bounds for input shape "
                              f"{input_shape}")


class _GammaBetaLayer(Layer):
    """Shared arguments of the layers with optional `gamma` (scale) and `beta` (center) weights."""

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

    def _gamma_beta_config(self) -> dict:
        return {
            "beta_initializer": self.beta_initializer,
            "gamma_initializer": self.gamma_initializer,
            "beta_regularizer": self.beta_regularizer,
            "gamma_regularizer": self.gamma_regularizer,
            "beta_constraint": self.beta_constraint,
            "gamma_constraint": self.gamma_constraint,
        }


# ----- BatchNormalization -----------------------------------------------------------------------

_RENORM_CLIPPING_KEYS = ("rmax", "rmin", "dmax")


@register_layer()
class BatchNormalization(_GammaBetaLayer):
    """`gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta` along `axis`.

    Called with `training=True` (as a graph may record), the statistics are those of the batch
    (over the unmasked positions when a mask is given), as Keras computes them; the moving
    statistics are not updated, since modelio does not train.

    `axis` may also be a list of several axes, as Keras 2 allowed: the weights then have the
    input's rank with size 1 on the other axes, as tf-keras creates them. Keras 2's `fused` is
    accepted and dropped (it picks a kernel, not a result); `virtual_batch_size` and
    `adjustment` are refused.
    """

    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None, renorm_momentum=0.99,
                 synchronized=False, **kwargs):
        legacy = {key: kwargs.pop(key) for key in ("fused", "virtual_batch_size", "adjustment")
                  if key in kwargs}
        super().__init__(**kwargs)
        cls = type(self)
        self._keras2_arguments(legacy)
        axis = _axis_argument(self, axis)
        if isinstance(axis, list) and len(axis) == 1:
            axis = axis[0]  # Keras 2 writes the built axis as a list: [3]
        self.axis = axis
        self.momentum = float(check_float(momentum, "momentum", cls, self.name))
        self.epsilon = float(check_float(epsilon, "epsilon", cls, self.name, 0.0))
        self._gamma_beta_arguments(self.epsilon, center, scale, beta_initializer,
                                   gamma_initializer, beta_regularizer, gamma_regularizer,
                                   beta_constraint, gamma_constraint)
        self.moving_mean_initializer = serialize_initializer(
            moving_mean_initializer, "moving_mean_initializer", self)
        self.moving_variance_initializer = serialize_initializer(
            moving_variance_initializer, "moving_variance_initializer", self)
        self.synchronized = check_bool(synchronized, "synchronized", cls, self.name)
        self.renorm = check_bool(renorm, "renorm", cls, self.name)
        self.renorm_clipping = self._renorm_clipping_argument(renorm_clipping)
        self.renorm_momentum = check_float(renorm_momentum, "renorm_momentum", cls, self.name)
        self.moving_mean = None
        self.moving_variance = None

    def _keras2_arguments(self, legacy: dict) -> None:
        fused = legacy.get("fused")
        if fused is not None and not isinstance(fused, bool):
            raise ConfigError(f"{layer_label(self)}: fused must be true, false or null, got {fused!r}")
        for argument in ("virtual_batch_size", "adjustment"):
            if legacy.get(argument) is not None:
                raise UnsupportedError(f"{layer_label(self)}: {argument}={legacy[argument]!r} (a Keras 2 "
                                       f"argument) is not supported; only its default null is")

    def _renorm_clipping_argument(self, clipping):
        if clipping is None:
            return {} if self.renorm else None
        if not isinstance(clipping, dict):
            raise ConfigError(f"{layer_label(self)}: renorm_clipping must be null or a mapping, got "
                              f"{clipping!r}")
        if not self.renorm:
            return clipping  # unused, written back as given (as Keras does)
        unknown = sorted(set(clipping) - set(_RENORM_CLIPPING_KEYS))
        if unknown:
            raise ConfigError(f"{layer_label(self)}: renorm_clipping has unknown key(s) {unknown}; "
                              f"allowed: {list(_RENORM_CLIPPING_KEYS)}")
        for key, value in clipping.items():
            check_float(value, f"renorm_clipping[{key!r}]", type(self), self.name, allow_none=True)
        rmax, rmin, dmax = (clipping.get(key) for key in _RENORM_CLIPPING_KEYS)
        if rmax is not None and rmin is not None and rmax < rmin:
            raise ConfigError(f"{layer_label(self)}: renorm_clipping needs rmax >= rmin, got {clipping}")
        if dmax is not None and dmax < 0:
            raise ConfigError(f"{layer_label(self)}: renorm_clipping needs dmax >= 0, got {clipping}")
        return clipping

    @property
    def _axes(self) -> list:
        return self.axis if isinstance(self.axis, list) else [self.axis]

    def _param_shape(self, input_shape) -> tuple:
        axes = _positive_axes(self, self._axes, len(input_shape))
        if isinstance(self.axis, int):
            return (input_shape[axes[0]],)
        return tuple(input_shape[i] if i in axes else 1 for i in range(len(input_shape)))

    def build(self, input_shape):
        axes = _positive_axes(self, self._axes, len(input_shape))
        if 0 in axes and len(input_shape) > 1:
            raise ConfigError(f"{layer_label(self)}: axis {self.axis} includes the batch axis")
        _known_dims(self, input_shape, axes)
        shape = self._param_shape(input_shape)
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, get_initializer(self.gamma_initializer))
        if self.center:
            self.beta = self.add_weight("beta", shape, get_initializer(self.beta_initializer))
        self.moving_mean = self.add_weight(
            "moving_mean", shape, get_initializer(self.moving_mean_initializer), trainable=False)
        self.moving_variance = self.add_weight(
            "moving_variance", shape, get_initializer(self.moving_variance_initializer),
            trainable=False)
        if self.renorm:
            variance_init = get_initializer(self.moving_variance_initializer)

            def stddev_init(shape, dtype):
                return np.sqrt(variance_init(shape, dtype))

            # Training-only state of batch renormalization; inference reads the moving statistics.
            self.add_weight("moving_stddev", shape, stddev_init, trainable=False)
            self.add_weight("renorm_mean", shape, get_initializer(self.moving_mean_initializer),
                            trainable=False)
            self.add_weight("renorm_stddev", shape, stddev_init, trainable=False)

    def compute_output_shape(self, input_shape):
        _check_axes_in_range(self, self._axes, input_shape)
        if self.built:
            axes = _positive_axes(self, self._axes, len(input_shape))
            if len(self.moving_mean.shape) not in (1, len(input_shape)):
                raise ConfigError(f"{layer_label(self)} was built for inputs of rank "
                                  f"{len(self.moving_mean.shape)}, got {input_shape}")
            sizes = [self.moving_mean.shape[0]] if isinstance(self.axis, int) else [
                self.moving_mean.shape[axis] for axis in axes]
            _check_built_dims(self, input_shape, axes, sizes)
        return input_shape

    def call(self, inputs, training=None, mask=None):
        if mask is not None and np.ndim(mask) != inputs.ndim - 1:
            raise GraphError(f"{layer_label(self)}: the mask must have one dimension less than the "
                             f"inputs, got mask shape {np.shape(mask)} for inputs of shape "
                             f"{inputs.shape}")
        dtype = _work_dtype(inputs)
        x = inputs.astype(dtype, copy=False)
        axes = _positive_axes(self, self._axes, x.ndim)
        broadcast = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
        if training and self.trainable:
            reduction = tuple(i for i in range(x.ndim) if i not in axes)
            weights = None
            if mask is not None:  # Keras expands the mask on the last axis (channels last)
                try:
                    weights = np.broadcast_to(np.expand_dims(np.asarray(mask).astype(bool), -1),
                                              x.shape).astype(dtype)
                except ValueError as exc:
                    raise GraphError(f"{layer_label(self)}: a mask of shape {np.shape(mask)} does "
                                     f"not fit inputs of shape {x.shape}") from exc
            mean, variance = _moments(x, reduction, weights, guard=_BACKEND_EPSILON)
        else:
            mean = _as_float(self.moving_mean.value, dtype).reshape(broadcast)
            variance = _as_float(self.moving_variance.value, dtype).reshape(broadcast)
        inv = 1.0 / np.sqrt(variance + self.epsilon)
        if self.gamma is not None:
            inv = inv * _as_float(self.gamma.value, dtype).reshape(broadcast)
        outputs = (x - mean) * inv
        if self.beta is not None:
            outputs = outputs + _as_float(self.beta.value, dtype).reshape(broadcast)
        return outputs.astype(self.compute_dtype, copy=False)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": self.beta_initializer,
            "gamma_initializer": self.gamma_initializer,
            "moving_mean_initializer": self.moving_mean_initializer,
            "moving_variance_initializer": self.moving_variance_initializer,
            "beta_regularizer": self.beta_regularizer,
            "gamma_regularizer": self.gamma_regularizer,
            "beta_constraint": self.beta_constraint,
            "gamma_constraint": self.gamma_constraint,
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }


# ----- LayerNormalization -----------------------------------------------------------------------

def _sorted_axes_after_build(axis) -> list:
    """Keras's LayerNormalization/RMSNormalization rewrite `axis` at build: a sorted list."""
    return sorted(axis) if isinstance(axis, list) else [axis]


def _weight_broadcast(weight_value: np.ndarray, axes: list, x_shape: tuple) -> np.ndarray:
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
class LayerNormalization(_GammaBetaLayer):
    """Normalizes each sample over `axis` (an int or list of axes):
    `gamma * (x - mean) / sqrt(var + epsilon) + beta`.

    `rms_scaling=True` (deprecated in Keras 3) computes `x / sqrt(var + epsilon) * gamma`: the
    variance still subtracts the mean, `gamma` exists even with `scale=False`, and there is no
    `beta`. Like Keras, `axis` is written back as a sorted list once the layer is built.

    Non-trailing axes (e.g. `axis=1` of a rank-3 input) follow Keras's generic formula, which
    tf-keras and Keras 3's TensorFlow/JAX/numpy backends compute (Keras 3.15's torch backend
    hands such axes to `F.layer_norm`, which normalizes the trailing axes instead).
    """

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_argument(self, axis)
        self._gamma_beta_arguments(epsilon, center, scale, beta_initializer, gamma_initializer,
                                   beta_regularizer, gamma_regularizer, beta_constraint,
                                   gamma_constraint)
        self.rms_scaling = check_bool(rms_scaling, "rms_scaling", type(self), self.name)

    def build(self, input_shape):
        axes = _sorted_axes_after_build(self.axis)
        positive = _positive_axes(self, axes, len(input_shape))
        _known_dims(self, input_shape, positive)
        shape = tuple(input_shape[axis] for axis in axes)
        self.axis = axes
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight("gamma", shape, get_initializer(self.gamma_initializer))
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight("beta", shape, get_initializer(self.beta_initializer))

    def compute_output_shape(self, input_shape):
        axes = _sorted_axes_after_build(self.axis)
        _check_axes_in_range(self, axes, input_shape)
        weight = self.gamma if self.gamma is not None else self.beta
        if self.built and weight is not None:
            _check_built_dims(self, input_shape, _positive_axes(self, axes, len(input_shape)),
                              list(weight.shape))
        return input_shape

    def call(self, inputs):
        dtype = _work_dtype(inputs)
        x = inputs.astype(dtype, copy=False)
        axes = _sorted_axes_after_build(self.axis)
        reduce = tuple(_positive_axes(self, axes, x.ndim))
        mean, variance = _moments(x, reduce)
        inv = 1.0 / np.sqrt(variance + self.epsilon)
        gamma = None if self.gamma is None else _weight_broadcast(
            _as_float(self.gamma.value, dtype), axes, x.shape)
        if self.rms_scaling:
            outputs = x * inv
            if gamma is not None:
                outputs = outputs * gamma
        else:
            if gamma is not None:
                inv = inv * gamma
            outputs = (x - mean) * inv
            if self.beta is not None:
                outputs = outputs + _weight_broadcast(_as_float(self.beta.value, dtype), axes,
                                                      x.shape)
        return outputs.astype(self.compute_dtype, copy=False)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            **self._gamma_beta_config(),
        }


# ----- GroupNormalization -----------------------------------------------------------------------

@register_layer()
class GroupNormalization(_GammaBetaLayer):
    """Splits the `axis` channels into `groups` and normalizes each group of each sample over the
    group's channels and all other non-batch axes. `groups=-1` means one group per channel
    (instance normalization); like Keras, the built layer writes the channel count instead.

    Keras 3 ignores masks here. A layer created from a Keras 2 config (inside
    `keras2_semantics()`) computes its statistics over the unmasked positions only, as tf-keras
    does, when it is called with a mask.
    """

    supports_masking = True

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not _is_int(groups) or (groups <= 0 and groups != -1):
            raise ConfigError(f"{layer_label(self)}: groups must be a positive integer or -1, got "
                              f"{groups!r}")
        self.groups = int(groups)
        self.axis = _axis_argument(self, axis, allow_list=False)
        self._gamma_beta_arguments(epsilon, center, scale, beta_initializer, gamma_initializer,
                                   beta_regularizer, gamma_regularizer, beta_constraint,
                                   gamma_constraint)
        self._masked_statistics = keras2_semantics_active()

    def build(self, input_shape):
        (axis,) = _positive_axes(self, [self.axis], len(input_shape))
        if axis == 0:
            raise ConfigError(f"{layer_label(self)}: axis {self.axis} is the batch axis")
        _known_dims(self, input_shape, [axis], "channel")
        channels = input_shape[axis]
        groups = channels if self.groups == -1 else self.groups
        if channels < groups:
            raise ConfigError(f"{layer_label(self)}: groups ({groups}) cannot be more than the number "
                              f"of channels ({channels})")
        if channels % groups:
            raise ConfigError(f"{layer_label(self)}: the number of channels ({channels}) must be a "
                              f"multiple of groups ({groups})")
        self.groups = groups
        if self.scale:
            self.gamma = self.add_weight("gamma", (channels,),
                                         get_initializer(self.gamma_initializer))
        if self.center:
            self.beta = self.add_weight("beta", (channels,), get_initializer(self.beta_initializer))

    def compute_output_shape(self, input_shape):
        _check_axes_in_range(self, [self.axis], input_shape)
        weight = self.gamma if self.gamma is not None else self.beta
        if self.built and weight is not None:
            _check_built_dims(self, input_shape, _positive_axes(self, [self.axis], len(input_shape)),
                              list(weight.shape))
        return input_shape

    def call(self, inputs, mask=None):
        dtype = _work_dtype(inputs)
        x = inputs.astype(dtype, copy=False)
        (axis,) = _positive_axes(self, [self.axis], x.ndim)
        channels = x.shape[axis]
        if channels % self.groups:
            raise GraphError(f"{layer_label(self)}: {channels} channels cannot be split into "
                             f"{self.groups} groups")
        # (..., channels, ...) -> (..., groups, channels // groups, ...)
        grouped_shape = (*x.shape[:axis], self.groups, channels // self.groups, *x.shape[axis + 1:])
        grouped = x.reshape(grouped_shape)
        reduce = tuple(i for i in range(1, grouped.ndim) if i != axis)
        weights = None
        if mask is not None and self._masked_statistics:
            try:
                full_mask = np.broadcast_to(np.asarray(mask), x.shape)
            except ValueError as exc:
                raise GraphError(f"{layer_label(self)}: a mask of shape {np.shape(mask)} does not "
                                 f"broadcast to inputs of shape {x.shape}") from exc
            weights = full_mask.astype(dtype).reshape(grouped_shape)
        if weights is None:
            mean, variance = _moments(grouped, reduce)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                total = np.sum(weights, axis=reduce, keepdims=True)
                safe = np.where(total > 0, total, 1)
                mean = np.where(total > 0, np.sum(grouped * weights, axis=reduce, keepdims=True)
                                / safe, 0)
                variance = np.where(total > 0, np.sum(np.square(grouped - mean) * weights,
                                                      axis=reduce, keepdims=True) / safe, 0)
        broadcast = [1] * grouped.ndim
        broadcast[axis], broadcast[axis + 1] = self.groups, channels // self.groups
        inv = 1.0 / np.sqrt(variance + self.epsilon)
        if self.gamma is not None:
            inv = inv * _as_float(self.gamma.value, dtype).reshape(broadcast)
        outputs = (grouped - mean) * inv
        if self.beta is not None:
            outputs = outputs + _as_float(self.beta.value, dtype).reshape(broadcast)
        return outputs.reshape(x.shape).astype(self.compute_dtype, copy=False)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            **self._gamma_beta_config(),
        }


# ----- UnitNormalization ------------------------------------------------------------------------

@register_layer()
class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over `axis`: `x * min(1/||x||, 1e12)` (Keras 3).

    A layer created from a Keras 2 config (inside `keras2_semantics()`) computes tf-keras's
    `x / sqrt(max(sum(x**2), 1e-12))`, which differs for norms below 1e-6.
    """

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_argument(self, axis)
        self._keras2_epsilon = keras2_semantics_active()
        self.built = True

    def compute_output_shape(self, input_shape):
        _check_axes_in_range(self, self.axis if isinstance(self.axis, list) else [self.axis],
                             input_shape)
        return input_shape

    def call(self, inputs):
        x = inputs if inputs.dtype.kind == "f" else inputs.astype(self.compute_dtype)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        reduce = tuple(_positive_axes(self, axes, x.ndim))
        square_sum = np.sum(np.square(x), axis=reduce, keepdims=True)
        with np.errstate(divide="ignore"):
            if self._keras2_epsilon:
                inv_norm = 1.0 / np.sqrt(np.maximum(square_sum, 1e-12))
            else:
                inv_norm = np.minimum(1.0 / np.sqrt(square_sum), 1e12)
        return (x * inv_norm).astype(self.compute_dtype, copy=False)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


# ----- RMSNormalization -------------------------------------------------------------------------

@register_layer()
class RMSNormalization(Layer):
    """`x / sqrt(mean(x**2 over axis) + epsilon) * scale`.

    Keras multiplies by `scale` with plain broadcasting, which only lines up when the normalized
    axes are the trailing axes of the input; other axes are refused at build time.
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_argument(self, axis)
        self.epsilon = check_float(epsilon, "epsilon", type(self), self.name, 0.0)
        self.scale = None

    def build(self, input_shape):
        axes = _sorted_axes_after_build(self.axis)
        rank = len(input_shape)
        positive = _positive_axes(self, axes, rank)
        if positive != list(range(rank - len(axes), rank)):
            raise UnsupportedError(f"{layer_label(self)}: axis {self.axis} is not supported for inputs "
                                   f"of rank {rank}: only the trailing axes, in order, scale as "
                                   f"Keras intends")
        _known_dims(self, input_shape, positive)
        self.axis = axes
        shape = tuple(input_shape[axis] for axis in axes)
        self.scale = self.add_weight("scale", shape, get_initializer("ones"))

    def compute_output_shape(self, input_shape):
        axes = _sorted_axes_after_build(self.axis)
        _check_axes_in_range(self, axes, input_shape)
        if self.built:
            _check_built_dims(self, input_shape, _positive_axes(self, axes, len(input_shape)),
                              list(self.scale.shape))
        return input_shape

    def call(self, inputs):
        dtype = _work_dtype(inputs)
        x = inputs.astype(dtype, copy=False)
        reduce = tuple(_positive_axes(self, _sorted_axes_after_build(self.axis), x.ndim))
        inv = 1.0 / np.sqrt(np.mean(np.square(x), axis=reduce, keepdims=True) + self.epsilon)
        outputs = x * inv * self.value_of(self.scale).astype(dtype, copy=False)
        return outputs.astype(self.compute_dtype, copy=False)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


# ----- Normalization (preprocessing) ------------------------------------------------------------

@register_layer()
class Normalization(Layer):
    """`(x - mean) / max(sqrt(variance), 1e-7)`, or with `invert=True` the reverse
    `mean + x * max(sqrt(variance), 1e-7)`; one mean/variance per position of the kept `axis`
    (`axis=None` keeps none: one scalar mean and variance).

    The statistics come either from the `mean`/`variance` arguments (kept in the config, no
    weights) or from the weights `mean`, `variance`, `count` that Keras's `adapt()` fills. A layer
    whose weights were never adapted or assigned refuses to compute rather than returning its
    placeholder statistics (mean 0, variance 1).
    """

    supports_masking = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = []
        elif _is_int(axis):
            axis = [axis]
        self.axis = _axis_argument(self, axis, allow_empty=True)
        self.invert = check_bool(invert, "invert", type(self), self.name)
        if (mean is None) != (variance is None):
            raise ConfigError(f"{layer_label(self)}: mean and variance must be given together, got "
                              f"mean={mean!r} and variance={variance!r}")
        self.input_mean = mean
        self.input_variance = variance
        self._given = None
        if mean is not None:
            given = [self._statistic(value, name) for value, name in ((mean, "mean"),
                                                                       (variance, "variance"))]
            if given[0].shape != given[1].shape:
                raise ConfigError(f"{layer_label(self)}: mean and variance must have the same shape, "
                                  f"got {given[0].shape} and {given[1].shape}")
            if given[0].ndim > len(self.axis):
                raise ConfigError(f"{layer_label(self)}: mean of shape {given[0].shape} has more "
                                  f"dimensions than the {len(self.axis)} kept axis/axes "
                                  f"{self.axis}")
            self._given = given
        self.adapt_mean = self.adapt_variance = self.count = None
        self._placeholders = ()
        self._broadcast_shape = None

    def _statistic(self, value, name: str) -> np.ndarray:
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{layer_label(self)}: {name} must be a number or a (nested) list of "
                              f"numbers, got {value!r}") from exc
        if isinstance(value, (bool, str)) or array.dtype == object:
            raise ConfigError(f"{layer_label(self)}: {name} must be numeric, got {value!r}")
        return array

    def _kept_axes(self, input_shape) -> list:
        return sorted(_positive_axes(self, self.axis, len(input_shape)))

    def build(self, input_shape):
        keep = self._kept_axes(input_shape)
        _known_dims(self, input_shape, keep, "kept")
        rank = len(input_shape)
        self._broadcast_shape = tuple(input_shape[i] if i in keep else 1 for i in range(rank))
        shape = tuple(input_shape[i] for i in keep)
        if self._given is None:
            self.adapt_mean = self.add_weight("mean", shape, get_initializer("zeros"),
                                              trainable=False)
            self.adapt_variance = self.add_weight("variance", shape, get_initializer("ones"),
                                                  trainable=False)
            self.count = self.add_weight("count", (), get_initializer("zeros"), dtype="int32",
                                         trainable=False)
            # Weight.assign replaces the array: while these are still the arrays, nothing was set.
            self._placeholders = (self.adapt_mean.value, self.adapt_variance.value)
            return
        expanded = [1] * rank
        for index in range(1, self._given[0].ndim + 1):
            expanded[keep[-index]] = self._given[0].shape[-index]
        try:
            self._given_broadcast = [np.broadcast_to(value.reshape(expanded),
                                                     self._broadcast_shape)
                                     for value in self._given]
        except ValueError as exc:
            raise ConfigError(f"{layer_label(self)}: mean/variance of shape {self._given[0].shape} do "
                              f"not fit the kept axes {self.axis} of inputs of shape "
                              f"{input_shape}") from exc

    def compute_output_shape(self, input_shape):
        keep = self._kept_axes(input_shape)
        if self.built and self._broadcast_shape is not None:
            if len(input_shape) != len(self._broadcast_shape):
                raise ConfigError(f"{layer_label(self)} was built for inputs of rank "
                                  f"{len(self._broadcast_shape)}, got {input_shape}")
            _check_built_dims(self, input_shape, keep,
                              [self._broadcast_shape[axis] for axis in keep])
        return input_shape

    def adapt(self, data) -> None:
        """Set the mean and variance from a numpy array of samples, as Keras's `adapt()` does."""
        data = np.asarray(data)
        if data.dtype.kind not in "fiu" or data.ndim == 0:
            raise ConfigError(f"{layer_label(self)}: adapt() needs a numeric array with a batch axis, "
                              f"got {data.dtype} of shape {data.shape}")
        if self._given is not None:
            raise ConfigError(f"{layer_label(self)}: adapt() cannot change a mean and variance given "
                              f"as arguments")
        self._maybe_build(data.shape)
        self._checked_output_shape(data.shape)
        keep = self._kept_axes(data.shape)
        reduce = tuple(i for i in range(data.ndim) if i not in keep)
        values = data.astype(np.float64)
        self.adapt_mean.assign(np.mean(values, axis=reduce))
        self.adapt_variance.assign(np.var(values, axis=reduce))

    def _statistics(self, dtype):
        if self._given is not None:
            mean, variance = self._given_broadcast
        else:
            if (self.adapt_mean.value is self._placeholders[0]
                    and self.adapt_variance.value is self._placeholders[1]):
                raise ModelioError(f"{layer_label(self)} has no statistics: it was never adapted and "
                                   f"was given no mean/variance; call adapt(data) or load its "
                                   f"weights first")
            mean = self.adapt_mean.value.reshape(self._broadcast_shape)
            variance = self.adapt_variance.value.reshape(self._broadcast_shape)
        return mean.astype(dtype), variance.astype(dtype)

    def call(self, inputs):
        x = inputs.astype(self.compute_dtype, copy=False)
        mean, variance = self._statistics(x.dtype)
        std = np.maximum(np.sqrt(variance), _BACKEND_EPSILON)
        if self.invert:
            return mean + x * std
        return (x - mean) / std

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": list(self.axis),
            "invert": self.invert,
            "mean": np.array(self.input_mean).tolist(),
            "variance": np.array(self.input_variance).tolist(),
        }
