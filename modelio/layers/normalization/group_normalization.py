"""GroupNormalization: the channels split into groups, each normalized over its channels and the
other non-batch axes.
"""

import numpy as np

from ...errors import ConfigError, GraphError
from ...graph import register_layer
from ...graph.dialect import keras2_semantics_active
from ...kernels.normalization import moments
from ..arguments import layer_label
from ..initializers import get_initializer
from .base import (
    GAMMA_BETA_ARGUMENTS,
    GammaBetaLayer,
    axis_argument,
    check_known_dims,
    is_int,
    positive_axes,
    work_dtype,
)

__all__ = ["GroupNormalization"]


@register_layer()
class GroupNormalization(GammaBetaLayer):
    """Splits the `axis` channels into `groups` and normalizes each group of each sample over the
    group's channels and all other non-batch axes. `groups=-1` means one group per channel
    (instance normalization); like Keras, the built layer writes the channel count instead.

    Keras 3 ignores masks here. A layer created from a Keras 2 config (inside
    `keras2_semantics()`) computes its statistics over the unmasked positions only, as tf-keras
    does, when it is called with a mask.
    """

    supports_masking = True
    _config_arguments = ("groups", "axis", "epsilon", "center", "scale", *GAMMA_BETA_ARGUMENTS)

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not is_int(groups) or (groups <= 0 and groups != -1):
            raise ConfigError(f"{layer_label(self)}: groups must be a positive integer or -1, got "
                              f"{groups!r}")
        self.groups = int(groups)
        self.axis = axis_argument(self, axis, allow_list=False)
        self._gamma_beta_arguments(epsilon, center, scale, beta_initializer, gamma_initializer,
                                   beta_regularizer, gamma_regularizer, beta_constraint,
                                   gamma_constraint)
        self.masked_statistics = keras2_semantics_active()

    def build(self, input_shape):
        (axis,) = positive_axes(self, [self.axis], len(input_shape))
        if axis == 0:
            raise ConfigError(f"{layer_label(self)}: axis {self.axis} is the batch axis")
        check_known_dims(self, input_shape, [axis], "channel")
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
        self._check_input_axes([self.axis], input_shape)
        return input_shape

    def call(self, inputs, mask=None):
        dtype = work_dtype(inputs)
        x = inputs.astype(dtype, copy=False)
        (axis,) = positive_axes(self, [self.axis], x.ndim)
        channels = x.shape[axis]
        if channels % self.groups:
            raise GraphError(f"{layer_label(self)}: {channels} channels cannot be split into "
                             f"{self.groups} groups")
        # (..., channels, ...) -> (..., groups, channels // groups, ...)
        grouped_shape = (*x.shape[:axis], self.groups, channels // self.groups, *x.shape[axis + 1:])
        grouped = x.reshape(grouped_shape)
        reduce = tuple(i for i in range(1, grouped.ndim) if i != axis)
        weights = None
        if mask is not None and self.masked_statistics:
            try:
                full_mask = np.broadcast_to(np.asarray(mask), x.shape)
            except ValueError as exc:
                raise GraphError(f"{layer_label(self)}: a mask of shape {np.shape(mask)} does not "
                                 f"broadcast to inputs of shape {x.shape}") from exc
            weights = full_mask.astype(dtype).reshape(grouped_shape)
        if weights is None:
            mean, variance = moments(grouped, reduce)
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
        outputs = self._standardize(grouped - mean, variance, broadcast, dtype)
        return outputs.reshape(x.shape).astype(self.compute_dtype, copy=False)

