"""Sequential: a plain stack of layers, each called on the previous one's output."""

import numpy as np

from ..errors import ConfigError, GraphError
from .functional import Functional
from .input_layer import InputLayer
from .layer import Layer, shape_to_list
from .registry import register_layer
from .serialization import call_layer_in_config, deserialize_layer, serialize_layer
from .tensor import SymbolicTensor


@register_layer()
class Sequential(Functional):
    """`Sequential([layer, ...])`, built as soon as its input shape is known.

    The input shape comes from a leading `Input()`/InputLayer, from the first layer's
    `input_shape=`, or from the first call. `model.layers` excludes the InputLayer, as in Keras.
    """

    _keras_module = "keras"
    _registered_name = None
    _keras3_endpoint_offset = 0

    def __init__(self, layers=None, trainable: bool = True, name: str | None = None, **kwargs):
        Layer.__init__(self, name=name, trainable=trainable, **kwargs)
        self._sequence: list[Layer] = []
        self.built = False
        self._layers = []
        self._operations = []
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._build_if_input_known()

    def add(self, layer, rebuild: bool = True) -> None:
        """Append a layer (or an `Input()` tensor, which becomes the leading InputLayer)."""
        if isinstance(layer, SymbolicTensor):
            history = layer._keras_history
            if history is None or not isinstance(history.layer, InputLayer):
                raise GraphError(f"sequential '{self.name}': only Input() tensors can be added")
            layer = history.layer
        if not isinstance(layer, Layer):
            raise GraphError(f"sequential '{self.name}': can only add layers, got {layer!r}")
        if isinstance(layer, InputLayer) and self._sequence:
            raise GraphError(f"sequential '{self.name}': an InputLayer can only come first")
        self._sequence.append(layer)
        if rebuild:
            self.built = False
            self._build_if_input_known()

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self.layers:
            raise GraphError(f"sequential '{self.name}' has no layers to pop")
        layer = self._sequence.pop()
        self.built = False
        self._build_if_input_known()
        return layer

    @property
    def layers(self) -> list[Layer]:
        return [layer for layer in self._sequence if not isinstance(layer, InputLayer)]

    def _build_if_input_known(self) -> None:
        if self._sequence and isinstance(self._sequence[0], InputLayer):
            self._build_graph(self._sequence[0])
        elif self._sequence and self._sequence[0]._batch_input_shape is not None:
            first = self._sequence[0]
            self._sequence.insert(0, InputLayer(batch_shape=first._batch_input_shape,
                                                dtype=first.dtype_policy.compute_dtype))
            self._build_graph(self._sequence[0])

    def build(self, input_shape) -> None:
        if self.built:
            return
        if not isinstance(input_shape, tuple):
            raise GraphError(f"sequential '{self.name}' takes one input, got shapes {input_shape!r}")
        self._sequence.insert(0, InputLayer(batch_shape=(None, *input_shape[1:])))
        self._build_graph(self._sequence[0])

    def _maybe_build(self, input_shape) -> None:
        self.build(input_shape)

    def _build_graph(self, input_layer: InputLayer) -> None:
        tensor = input_layer.output
        where = f"sequential '{self.name}': "
        for layer in self._sequence[1:]:
            tensor = call_layer_in_config(layer, (tensor,), {}, where)
            if not isinstance(tensor, SymbolicTensor):
                raise GraphError(f"sequential '{self.name}': layer '{layer.name}' returns several "
                                 f"tensors; Sequential layers must return one")
        if len(self._sequence) == 1:
            self.inputs, self.outputs, self.built = [tensor], [tensor], True
            self._layers = self._operations = [input_layer]
            return
        self._init_graph(input_layer.output, tensor)
        self._build_input_shape = input_layer.batch_shape

    def _eager_call(self, args: tuple, kwargs: dict):
        if not self.built:
            self.build(tuple(np.shape(args[0])))
        return super()._eager_call(args, kwargs)

    def predict(self, x, batch_size: int | None = 32, verbose=0):
        if not self.built:
            self.build(tuple(np.shape(x)))
        return super().predict(x, batch_size=batch_size, verbose=verbose)

    def get_build_config(self) -> dict | None:
        if self._build_input_shape is None:
            return None
        return {"input_shape": shape_to_list(self._build_input_shape)}

    def get_config(self) -> dict:
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self.dtype_policy.get_config(),
            "layers": [serialize_layer(layer) for layer in self._sequence],
        }
        if self._build_input_shape is not None:
            config["build_input_shape"] = shape_to_list(self._build_input_shape)
        return config

    @classmethod
    def from_config(cls, config) -> "Sequential":
        """Read Keras 3, Keras 2 and Keras <= 2.2 (a bare list of layers) Sequential configs."""
        if isinstance(config, list):
            config = {"layers": config}
        if not isinstance(config, dict):
            raise ConfigError("a Sequential config must be a mapping")
        name = config.get("name")
        where = f"sequential '{name}': " if isinstance(name, str) else ""
        entries = config.get("layers")
        if not isinstance(entries, list):
            raise ConfigError(f"{where}config has no 'layers' list")
        unknown = set(config) - {"name", "trainable", "dtype", "layers", "build_input_shape"}
        if unknown:
            raise ConfigError(f"{where}unknown Sequential config key(s): {', '.join(sorted(unknown))}")
        layers = [deserialize_layer(entry, where) for entry in entries]
        model = cls(layers=layers, name=name, trainable=config.get("trainable", True),
                    dtype=config.get("dtype"))
        build_shape = config.get("build_input_shape")
        if not model.built and isinstance(build_shape, list) and model._sequence:
            model.build(tuple(build_shape))
        return model
