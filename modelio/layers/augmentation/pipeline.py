"""Pipeline (a list of layers run in order, `keras.layers.Pipeline`) and MaxNumBoundingBoxes."""

from ...errors import ConfigError, UnsupportedError
from ...graph import Layer, register_layer
from ...graph.layer import is_shape
from ...graph.naming import keras3_snake_case
from ...graph.serialization import deserialize_layer, serialize_layer
from ...graph.tensor import SymbolicTensor
from ..arguments import layer_label
from .base import AugmentationLayer

__all__ = ["MaxNumBoundingBoxes", "Pipeline"]


@register_layer()
class Pipeline(Layer):
    """Runs `layers` one after the other, passing `training` on (`keras.layers.Pipeline`).

    Its config is `{"layers": [serialized layers], "name": ...}` and nothing else, as Keras
    writes it; the layers are built from modelio's registry like any layer entry. Layers that
    hold weights are refused (Keras 3.15.1 tracks no weights of its own for them in files)."""

    def __init__(self, layers, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if not isinstance(layers, (list, tuple)) or not all(
                isinstance(layer, Layer) for layer in layers):
            raise ConfigError(f"{layer_label(self)}: layers must be a list of layers, got "
                              f"{layers!r}"[:300])
        self.layers = list(layers)

    @classmethod
    def from_config(cls, config: dict):
        if not isinstance(config, dict):
            raise ConfigError(f"Pipeline: config must be a mapping, got {type(config).__name__}")
        config = dict(config)
        name = config.get("name", "?")
        entries = config.get("layers")
        if not isinstance(entries, (list, tuple)):
            raise ConfigError(f"layer '{name}' (Pipeline): config must hold 'layers', a list of "
                              f"serialized layers, got {entries!r}"[:300])
        config["layers"] = [deserialize_layer(entry, f"layer '{name}' (Pipeline): layers[{index}]: ")
                            for index, entry in enumerate(entries)]
        return cls(**config)

    def get_config(self) -> dict:
        return {"layers": [serialize_layer(layer) for layer in self.layers], "name": self.name}

    def keras3_weight_groups(self):
        """Keras's weights file: the pipeline's own (empty) group, then one per layer under
        `layers/`, named after its class (`random_flip`, `random_flip_1`, ...)."""
        groups, used = [("", [])], {}
        for layer in self.layers:
            key = keras3_snake_case(getattr(type(layer), "_keras_class_name", None)
                                    or type(layer).__name__)
            used[key] = used.get(key, -1) + 1
            path = f"layers/{key}" if used[key] == 0 else f"layers/{key}_{used[key]}"
            inner = getattr(layer, "keras3_weight_groups", None)
            for item in (inner() if callable(inner) else [("", layer.weights)]):
                groups.append((f"{path}/{item[0]}".rstrip("/"), item[1], layer.name))
        return groups

    def stages(self, spec: SymbolicTensor) -> list:
        """[(layer, input spec, output spec)] of each layer for an input like `spec`, building the
        layers on the way (public for the ONNX lowering)."""
        stages = []
        for layer in self.layers:
            layer._maybe_build(spec.shape)
            if layer.weights:
                raise UnsupportedError(f"{layer_label(self)}: layer '{layer.name}' "
                                       f"({type(layer).__name__}) holds weights; a Pipeline of "
                                       f"layers with weights is not supported")
            output = layer.compute_output_spec(spec)
            if not isinstance(output, SymbolicTensor):
                raise UnsupportedError(f"{layer_label(self)}: layer '{layer.name}' "
                                       f"({type(layer).__name__}) gives several outputs; a Pipeline "
                                       f"passes one tensor from layer to layer")
            stages.append((layer, spec, output))
            spec = output
        return stages

    def build(self, input_shape):
        if not is_shape(input_shape):
            raise UnsupportedError(f"{layer_label(self)}: modelio runs a Pipeline on one tensor, "
                                   f"got {input_shape!r}")
        self.stages(SymbolicTensor(input_shape, "float32"))

    def compute_output_spec(self, *args, **kwargs):
        spec = args[0]
        if not isinstance(spec, SymbolicTensor):
            raise UnsupportedError(f"{layer_label(self)}: modelio runs a Pipeline on one tensor")
        stages = self.stages(spec)
        return stages[-1][2] if stages else SymbolicTensor(spec.shape, spec.dtype)

    def compute_output_shape(self, input_shape):
        return self.compute_output_spec(SymbolicTensor(input_shape, "float32")).shape

    def call(self, inputs, training=None):
        for layer in self.layers:
            inputs = layer(inputs, training=False)
        return inputs


@register_layer()
class MaxNumBoundingBoxes(AugmentationLayer):
    """Pads or cuts the bounding boxes of a dict input to `max_number`; images pass untouched.

    modelio takes image tensors only (what a functional model carries as one tensor): they come
    back unchanged in their own dtype. Dict inputs (images + bounding_boxes) are refused. As in
    Keras, `fill_value` is not written into the config."""

    keeps_input_dtype = True

    def __init__(self, max_number, fill_value=-1, **kwargs):
        super().__init__(**kwargs)
        self.max_number = self._whole(max_number, "max_number")
        self.fill_value = self._whole(fill_value, "fill_value")

    def _whole(self, value, argument):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or (
                abs(value) == float("inf")):
            raise self.bad(argument, "an integer", value)
        return int(value)

    def get_config(self):
        return {**super().get_config(), "max_number": self.max_number}
