"""Embedding: integer indices -> rows of a learned table; `mask_zero` masks index 0."""

import numpy as np

from .. import ops
from ..errors import ModelioError, UnsupportedError
from ..graph import Layer, register_layer
from .arguments import check_bool, check_int, check_serialized, config_entries
from .initializers import get_initializer, serialize_initializer

__all__ = ["Embedding"]


@register_layer()
class Embedding(Layer):
    """Looks up `embeddings[index]` for every integer in the input: (batch, ...) -> (batch, ...,
    output_dim). With `mask_zero=True` index 0 is padding, and later layers receive the mask."""

    _legacy_keys = {"input_length": None}  # Keras 2 only

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, lora_alpha=None, quantization_config=None,
                 activity_regularizer=None, **kwargs):
        kwargs.pop("input_length", None)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self)
        self.input_dim = check_int(input_dim, "input_dim", cls, self.name, minimum=1)
        self.output_dim = check_int(output_dim, "output_dim", cls, self.name, minimum=1)
        self.embeddings_initializer = serialize_initializer(
            embeddings_initializer, "embeddings_initializer", self)
        self.embeddings_regularizer = check_serialized(embeddings_regularizer,
                                                       "embeddings_regularizer", cls, self.name)
        self.embeddings_constraint = check_serialized(embeddings_constraint,
                                                      "embeddings_constraint", cls, self.name)
        self.mask_zero = check_bool(mask_zero, "mask_zero", cls, self.name)
        self.supports_masking = self.mask_zero
        for argument, value in (("lora_rank", lora_rank), ("quantization_config", quantization_config)):
            if value is not None:
                raise UnsupportedError(f"layer '{self.name}' (Embedding): {argument} is not supported")
        if weights is not None:
            self._maybe_build(None)
            self.set_weights(weights if isinstance(weights, list) else [weights])

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          get_initializer(self.embeddings_initializer))

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def call(self, inputs):
        indices = np.asarray(inputs)
        if indices.dtype.kind == "f":
            indices = indices.astype(np.int32)
        if indices.size and (indices.min() < 0 or indices.max() >= self.input_dim):
            raise ModelioError(
                f"layer '{self.name}' (Embedding): index {int(indices.max()) if indices.max() >= self.input_dim else int(indices.min())} "
                f"is outside the table of {self.input_dim} rows")
        return np.take(self.value_of(self.embeddings), indices, axis=0)

    def compute_mask(self, inputs, previous_mask):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            **config_entries(self, ("input_dim", "output_dim", "embeddings_initializer",
                                    "embeddings_regularizer", "activity_regularizer",
                                    "embeddings_constraint", "mask_zero")),
            "quantization_config": None,
        }
