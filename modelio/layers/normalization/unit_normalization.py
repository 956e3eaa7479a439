"""UnitNormalization: each sample scaled to unit L2 norm over `axis`."""

import numpy as np

from ...graph import Layer, register_layer
from ...graph.dialect import keras2_semantics_active
from .base import axis_argument, check_axes_in_range, positive_axes

__all__ = ["UnitNormalization"]


@register_layer()
class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over `axis`: `x * min(1/||x||, 1e12)` (Keras 3).

    A layer created from a Keras 2 config (inside `keras2_semantics()`) computes tf-keras's
    `x / sqrt(max(sum(x**2), 1e-12))`, which differs for norms below 1e-6.
    """

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis_argument(self, axis)
        self.keras2_epsilon = keras2_semantics_active()
        self.built = True

    def compute_output_shape(self, input_shape):
        check_axes_in_range(self, self.axis if isinstance(self.axis, list) else [self.axis],
                             input_shape)
        return input_shape

    def call(self, inputs):
        x = inputs if inputs.dtype.kind == "f" else inputs.astype(self.compute_dtype)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        reduce = tuple(positive_axes(self, axes, x.ndim))
        square_sum = np.sum(np.square(x), axis=reduce, keepdims=True)
        with np.errstate(divide="ignore"):
            if self.keras2_epsilon:
                inv_norm = 1.0 / np.sqrt(np.maximum(square_sum, 1e-12))
            else:
                inv_norm = np.minimum(1.0 / np.sqrt(square_sum), 1e12)
        return (x * inv_norm).astype(self.compute_dtype, copy=False)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}
