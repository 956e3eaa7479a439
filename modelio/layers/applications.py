"""The layer classes keras.applications (Keras 3.15.1) defines for its own models, which its saved
models name with `module: keras.src.applications.<model>` and `registered_name`: ConvNeXt's
LayerScale (`x * gamma`) and StochasticDepth (the identity at inference), InceptionResNetV2's
CustomScaleLayer (`inputs[0] + inputs[1] * scale`). No other applications module defines a class
(checked with a grep of keras/src/applications/*.py for `class `)."""

import numpy as np

from ..errors import ConfigError
from ..graph import Layer, register_layer
from ..graph.operation import broadcast_shapes
from .arguments import check_float, check_int, layer_label

__all__ = ["CustomScaleLayer", "LayerScale", "StochasticDepth"]


@register_layer()
class LayerScale(Layer):
    """ConvNeXt's layer scale: multiplies the last axis by a learned `gamma` of
    `projection_dim` entries (initialized to `init_values`)."""

    _keras_module = "keras.src.applications.convnext"
    _registered_name = "LayerScale"

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = check_float(init_values, "init_values", type(self), self.name)
        self.projection_dim = check_int(projection_dim, "projection_dim", type(self), self.name,
                                        minimum=1)
        self.gamma = None

    def build(self, input_shape):
        if input_shape[-1] not in (None, self.projection_dim):
            raise ConfigError(f"{layer_label(self)}: inputs must end in projection_dim="
                              f"{self.projection_dim} channels, got {tuple(input_shape)}")
        value = self.init_values
        self.gamma = self.add_weight(
            "gamma", (self.projection_dim,),
            lambda shape, dtype: np.full(shape, value, dtype=dtype))

    def call(self, inputs):
        return inputs * self.value_of(self.gamma)

    def get_config(self) -> dict:
        return {**super().get_config(), "init_values": self.init_values,
                "projection_dim": self.projection_dim}


@register_layer()
class StochasticDepth(Layer):
    """ConvNeXt's batch-wise drop path: drops the whole residual branch with probability
    `drop_path_rate` during training; the identity at inference."""

    _keras_module = "keras.src.applications.convnext"
    _registered_name = "StochasticDepth"

    def __init__(self, drop_path_rate, **kwargs):
        super().__init__(**kwargs)
        self.drop_path_rate = check_float(drop_path_rate, "drop_path_rate", type(self), self.name,
                                          0.0, 1.0)

    def call(self, inputs, training=None):
        return inputs

    def get_config(self) -> dict:
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


@register_layer()
class CustomScaleLayer(Layer):
    """InceptionResNetV2's residual scaling: `inputs[0] + inputs[1] * scale`."""

    _keras_module = "keras.src.applications.inception_resnet_v2"
    _registered_name = "CustomScaleLayer"

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = check_float(scale, "scale", type(self), self.name)

    def _pair(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2 or any(
                isinstance(item, (int, type(None))) for item in inputs):
            raise ConfigError(f"{layer_label(self)} takes a list of two tensors, got "
                              f"{type(inputs).__name__}")
        return inputs

    def compute_output_shape(self, input_shape):
        first, second = self._pair(input_shape)
        return broadcast_shapes(tuple(first), tuple(second), where=f"{layer_label(self)}: ")

    def call(self, inputs):
        first, second = self._pair(inputs)
        return first + second * np.asarray(self.scale, dtype=np.asarray(second).dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}
