"""SpectralNormalization (Miyato et al., 2018), a wrapper around a layer with a `kernel` (Dense,
the convolutions, EinsumDense, ...) or `embeddings` (Embedding).

What Keras 3.15.1 does at inference (keras/src/layers/normalization/spectral_normalization.py):
`call(inputs, training=False)` runs the wrapped layer with its kernel *as stored* and casts the
result to the inputs' dtype. Only a training call normalizes: it runs `power_iterations` steps of
the power method from `vector_u`, divides the kernel by sigma = v W u^T and *assigns* both the new
`vector_u` and the divided kernel to the variables, so a saved model already holds the
normalized kernel and the last `vector_u`. Inference neither divides again nor updates `u`; so
modelio's inference is the wrapped layer plus the cast, and `vector_u` is kept only to be written
back.

Weights, in Keras's order: the wrapped kernel, `vector_u` (1, kernel.shape[-1], not trainable),
then the wrapped layer's other weights. Keras 3 saves the kernel twice: in the wrapper's own
`vars` (kernel, vector_u) and in `layer/vars` (the wrapped layer's own)."""

import numpy as np

from ...errors import ConfigError
from ...graph import Layer, register_layer
from ...graph.serialization import deserialize_layer, serialize_layer
from ...graph.tensor import SymbolicTensor
from ..arguments import check_int, layer_label

__all__ = ["SpectralNormalization"]


@register_layer()
class SpectralNormalization(Layer):
    """Wraps `layer`; at inference its output, cast to the inputs' dtype (see the module doc)."""

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ConfigError(f"{layer_label(self)}: layer must be a layer, got "
                              f"{type(layer).__name__}")
        self.layer = layer
        self.power_iterations = check_int(power_iterations, "power_iterations", type(self),
                                          self.name, minimum=1)
        self.vector_u = None
        self.kernel = None

    @classmethod
    def from_config(cls, config: dict):
        if not isinstance(config, dict):
            raise ConfigError(f"{cls.__name__}: config must be a mapping, got "
                              f"{type(config).__name__}")
        config = dict(config)
        entry = config.pop("layer", None)
        name = config.get("name", "?")
        if not isinstance(entry, dict):
            raise ConfigError(f"layer '{name}' (SpectralNormalization): 'layer' must be a layer "
                              f"config mapping, got {type(entry).__name__}")
        return cls(deserialize_layer(entry, f"layer '{name}' (SpectralNormalization): layer: "),
                   **config)

    def build(self, input_shape):
        if not input_shape:
            raise ConfigError(f"{layer_label(self)} needs inputs of rank >= 1, got {input_shape}")
        self.layer._maybe_build(input_shape)
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ConfigError(f"{layer_label(self)}: the wrapped {type(self.layer).__name__} has "
                              f"neither a 'kernel' nor an 'embeddings' weight to normalize")
        self.kernel = kernel
        self.vector_u = self.add_weight("vector_u", (1, kernel.shape[-1]), None,
                                        dtype=kernel.value.dtype.name, trainable=False)
        for weight in self.layer.weights:
            if not weight.layer_name.startswith(f"{self.name}/"):
                weight.layer_name = f"{self.name}/{weight.layer_name}"

    @property
    def weights(self):
        if self.kernel is None:
            return []
        rest = [weight for weight in self.layer.weights if weight is not self.kernel]
        return [self.kernel, self.vector_u, *rest]

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return self.layer.trainable_weights

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [*self.layer.non_trainable_weights, *([self.vector_u] if self.vector_u is not None else [])]

    def keras3_weight_groups(self) -> list[tuple]:
        """The wrapper's own `vars` (kernel, vector_u), then the wrapped layer's under `layer/`."""
        if self.kernel is None:
            return [("", [], self.name)]
        inner = getattr(self.layer, "keras3_weight_groups", None)
        own = self.layer.weights
        groups = inner() if callable(inner) else [
            ("", [w for w in own if w.trainable] + [w for w in own if not w.trainable],
             self.layer.name)]
        return [("", [self.kernel, self.vector_u], self.name)] + [
            (f"layer/{path}".rstrip("/"), weights, *rest) for path, weights, *rest in groups]

    def compute_output_shape(self, input_shape):
        return self.layer._checked_output_shape(input_shape)

    def compute_output_spec(self, inputs, training=False):
        return SymbolicTensor(self.compute_output_shape(inputs.shape), inputs.dtype)

    def call(self, inputs, training=False):
        inputs = np.asarray(inputs)
        outputs = self.layer(inputs)
        return np.asarray(outputs).astype(inputs.dtype, copy=False)

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": serialize_layer(self.layer),
                "power_iterations": self.power_iterations}
