"""RMSNormalization: each sample divided by its root mean square over `axis`, times `scale`."""

import numpy as np

from ...errors import UnsupportedError
from ...graph import Layer, register_layer
from ..arguments import check_float, layer_label
from ..initializers import get_initializer
from .base import (
    axis_argument,
    check_axes_in_range,
    check_built_dims,
    check_known_dims,
    positive_axes,
    sorted_axes,
    work_dtype,
)

__all__ = ["RMSNormalization"]


@register_layer()
class RMSNormalization(Layer):
    """`x / sqrt(mean(x**2 over axis) + epsilon) * scale`.

    Keras multiplies by `scale` with plain broadcasting, which only lines up when the normalized
    axes are the trailing axes of the input; other axes are refused at build time.
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis_argument(self, axis)
        self.epsilon = check_float(epsilon, "epsilon", type(self), self.name, 0.0)
        self.scale = None

    def build(self, input_shape):
        axes = sorted_axes(self.axis)
        rank = len(input_shape)
        positive = positive_axes(self, axes, rank)
        if positive != list(range(rank - len(axes), rank)):
            raise UnsupportedError(f"{layer_label(self)}: axis {self.axis} is not supported for inputs "
                                   f"of rank {rank}: only the trailing axes, in order, scale as "
                                   f"Keras intends")
        check_known_dims(self, input_shape, positive)
        self.axis = axes
        shape = tuple(input_shape[axis] for axis in axes)
        self.scale = self.add_weight("scale", shape, get_initializer("ones"))

    def compute_output_shape(self, input_shape):
        axes = sorted_axes(self.axis)
        check_axes_in_range(self, axes, input_shape)
        if self.built:
            check_built_dims(self, input_shape, positive_axes(self, axes, len(input_shape)),
                              list(self.scale.shape))
        return input_shape

    def call(self, inputs):
        dtype = work_dtype(inputs)
        x = inputs.astype(dtype, copy=False)
        reduce = tuple(positive_axes(self, sorted_axes(self.axis), x.ndim))
        inv = 1.0 / np.sqrt(np.mean(np.square(x), axis=reduce, keepdims=True) + self.epsilon)
        outputs = x * inv * self.value_of(self.scale).astype(dtype, copy=False)
        return outputs.astype(self.compute_dtype, copy=False)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
