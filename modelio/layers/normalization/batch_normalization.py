"""BatchNormalization: moving statistics at inference, batch statistics when called with
`training=True`.
"""

import numpy as np

from ...errors import ConfigError, GraphError, UnsupportedError
from ...graph import register_layer
from ...kernels.normalization import BACKEND_EPSILON, moments
from ..arguments import check_bool, check_float, layer_label
from ..initializers import get_initializer, serialize_initializer
from .base import (
    GammaBetaLayer,
    axis_argument,
    check_axes_in_range,
    check_built_dims,
    check_known_dims,
    in_dtype,
    positive_axes,
    work_dtype,
)

__all__ = ["BatchNormalization", "SyncBatchNormalization"]

_RENORM_CLIPPING_KEYS = ("rmax", "rmin", "dmax")


@register_layer()
class BatchNormalization(GammaBetaLayer):
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
    _config_arguments = (
        "axis", "momentum", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer",
        "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer",
        "gamma_regularizer", "beta_constraint", "gamma_constraint", "synchronized", "renorm",
        "renorm_clipping", "renorm_momentum")

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
        axis = axis_argument(self, axis)
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
    def axes(self) -> list:
        """`axis` as a list of axes."""
        return self.axis if isinstance(self.axis, list) else [self.axis]

    def _param_shape(self, input_shape) -> tuple:
        axes = positive_axes(self, self.axes, len(input_shape))
        if isinstance(self.axis, int):
            return (input_shape[axes[0]],)
        return tuple(input_shape[i] if i in axes else 1 for i in range(len(input_shape)))

    def build(self, input_shape):
        axes = positive_axes(self, self.axes, len(input_shape))
        if 0 in axes and len(input_shape) > 1:
            raise ConfigError(f"{layer_label(self)}: axis {self.axis} includes the batch axis")
        check_known_dims(self, input_shape, axes)
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
        check_axes_in_range(self, self.axes, input_shape)
        if self.built:
            axes = positive_axes(self, self.axes, len(input_shape))
            if len(self.moving_mean.shape) not in (1, len(input_shape)):
                raise ConfigError(f"{layer_label(self)} was built for inputs of rank "
                                  f"{len(self.moving_mean.shape)}, got {input_shape}")
            sizes = [self.moving_mean.shape[0]] if isinstance(self.axis, int) else [
                self.moving_mean.shape[axis] for axis in axes]
            check_built_dims(self, input_shape, axes, sizes)
        return input_shape

    def call(self, inputs, training=None, mask=None):
        if mask is not None and np.ndim(mask) != inputs.ndim - 1:
            raise GraphError(f"{layer_label(self)}: the mask must have one dimension less than the "
                             f"inputs, got mask shape {np.shape(mask)} for inputs of shape "
                             f"{inputs.shape}")
        dtype = work_dtype(inputs)
        x = inputs.astype(dtype, copy=False)
        axes = positive_axes(self, self.axes, x.ndim)
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
            mean, variance = moments(x, reduction, weights, guard=BACKEND_EPSILON)
        else:
            mean = in_dtype(self.moving_mean.value, dtype).reshape(broadcast)
            variance = in_dtype(self.moving_variance.value, dtype).reshape(broadcast)
        outputs = self._standardize(x - mean, variance, broadcast, dtype)
        return outputs.astype(self.compute_dtype, copy=False)



@register_layer()
class SyncBatchNormalization(BatchNormalization):
    """tf-keras 2's `experimental.SyncBatchNormalization`: BatchNormalization whose training
    statistics are synchronized across replicas; at inference it is BatchNormalization, and it
    is written back as a plain `BatchNormalization`. (Keras 3 has no such class, and its
    `synchronized=True` is refused by every backend but TensorFlow, so writing that would make
    the file unloadable under torch or jax for a flag that only matters in training.)"""

    _keras_class_name = "BatchNormalization"
