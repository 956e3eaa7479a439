"""Attention (dot-product / Luong) and AdditiveAttention (Bahdanau), with batched numpy matmuls.

Masks follow Keras 3: they are graph edges; these layers take `mask=[query_mask, value_mask]`.
"""

import numpy as np

from ...errors import ConfigError
from ...graph import Layer, register_layer
from ...graph.dialect import keras2_semantics_active
from ...graph.layer import input_mask
from ...graph.tensor import SymbolicTensor
from ...graph.tree import flatten
from ..arguments import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    layer_label,
)
from ..initializers import get_initializer
from .scores import as_bool_mask, causal_mask, softmax_last_axis

__all__ = ["AdditiveAttention", "Attention"]


@register_layer()
class Attention(Layer):
    """Dot-product (Luong) attention on `[query, value]` or `[query, value, key]`:
    softmax(scores(query, key)) @ value, with `score_mode` "dot" (`q . k`, times the `scale` weight
    when `use_scale`) or "concat" (`concat_score_weight * sum(tanh(scale * (q + k)))`).
    `mask=[query_mask, value_mask]`: masked values get no weight, masked queries output zeros."""

    supports_masking = True

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        causal = kwargs.pop("causal", False)  # tf.keras <= 2.10 wrote `causal`; see from_config
        super().__init__(**kwargs)
        cls = type(self)
        self.use_scale = check_bool(use_scale, "use_scale", cls, self.name)
        self.score_mode = check_choice(score_mode, "score_mode", ("dot", "concat"), cls, self.name)
        self.dropout = check_float(dropout, "dropout", cls, self.name, 0.0, 1.0)
        if seed is not None:
            check_int(seed, "seed", cls, self.name)
        self.seed = seed
        self.causal = check_bool(causal, "causal", cls, self.name)
        self.keras2_semantics = keras2_semantics_active()
        self.scale = self.concat_score_weight = None

    def get_config(self) -> dict:
        config = {**super().get_config(), "use_scale": self.use_scale,
                  "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}
        if self.causal:  # a Keras 2 model's always-causal attention; Keras 3 refuses the key
            config["causal"] = True
        return config

    # ----- shapes and weights -------------------------------------------------------------------
    def _split_shapes(self, input_shape):
        if (not isinstance(input_shape, (list, tuple)) or not 2 <= len(input_shape) <= 3
                or not all(isinstance(shape, tuple) for shape in input_shape)):
            raise ConfigError(f"{layer_label(self)} must be called on a list [query, value] or "
                              f"[query, value, key], got inputs of shape {input_shape}")
        query_shape, value_shape = input_shape[0], input_shape[1]
        key_shape = input_shape[2] if len(input_shape) > 2 else value_shape
        label = layer_label(self)
        for what, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) < 3:
                raise ConfigError(f"{label} needs {what} of rank >= 3 (batch, steps, features), "
                                  f"got {shape}")
        if None not in (key_shape[-2], value_shape[-2]) and key_shape[-2] != value_shape[-2]:
            raise ConfigError(f"{label}: value and key must have the same number of steps, got "
                              f"value {value_shape} and key {key_shape}")
        if None not in (query_shape[-1], key_shape[-1]) and query_shape[-1] != key_shape[-1]:
            raise ConfigError(f"{label}: query and key must have the same last dimension, got "
                              f"query {query_shape} and key {key_shape}")
        return query_shape, value_shape, key_shape

    def build(self, input_shape):
        self._split_shapes(input_shape)
        if self.use_scale:
            self.scale = self.add_weight("scale", (), get_initializer("ones"))
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight("concat_score_weight", (),
                                                       get_initializer("ones"))

    def compute_output_shape(self, input_shape):
        query_shape, value_shape, _ = self._split_shapes(input_shape)
        return (*query_shape[:-1], value_shape[-1])

    def compute_output_spec(self, inputs, mask=None, return_attention_scores=False, training=None,
                            use_causal_mask=False):
        check_bool(return_attention_scores, "return_attention_scores", type(self), self.name)
        check_bool(use_causal_mask, "use_causal_mask", type(self), self.name)
        self._check_mask_argument(mask)
        shapes = [tensor.shape for tensor in inputs] if isinstance(inputs, (list, tuple)) else inputs
        query_shape, _, key_shape = self._split_shapes(shapes)
        output = SymbolicTensor(self._checked_output_shape(shapes), self.compute_dtype)
        if return_attention_scores:
            return output, SymbolicTensor((*query_shape[:-1], key_shape[-2]), self.compute_dtype)
        return output

    def _check_mask_argument(self, mask) -> None:
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ConfigError(f"{layer_label(self)}: mask must be a list [query_mask, value_mask], got "
                              f"{mask!r}")

    # ----- masks --------------------------------------------------------------------------------
    def compute_mask(self, inputs, previous_mask):
        """The query's mask (Keras: `mask[0]`), or None."""
        if not isinstance(previous_mask, (list, tuple)) or not previous_mask:
            return None
        return previous_mask[0]

    def _attach_output_masks(self, inputs, outputs) -> None:
        # Keras takes the output mask from an explicit `mask=` argument when there is one.
        explicit = self._inbound_nodes[-1].call_kwargs.get("mask")
        masks = explicit if explicit is not None else [input_mask(tensor) for tensor in inputs]
        output_mask = self.compute_mask(inputs, masks)
        first = flatten(outputs)[0]
        if isinstance(output_mask, SymbolicTensor) and first._keras_mask is None:
            first._keras_mask = output_mask

    # ----- computing ----------------------------------------------------------------------------
    def _calculate_scores(self, query, key):
        if self.score_mode == "dot":
            scores = query @ np.swapaxes(key, -1, -2)
            if self.scale is not None:
                scores *= self.value_of(self.scale)
            return scores
        pairs = query[..., :, None, :] + key[..., None, :, :]
        if self.scale is not None:
            pairs *= self.value_of(self.scale)
        return self.value_of(self.concat_score_weight) * np.tanh(pairs).sum(axis=-1)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        self._check_mask_argument(mask)
        query_shape, value_shape, key_shape = self._split_shapes(
            [tuple(np.shape(tensor)) for tensor in inputs])
        query = np.asarray(inputs[0])
        value = np.asarray(inputs[1], dtype=query.dtype)
        key = value if len(inputs) < 3 else np.asarray(inputs[2], dtype=query.dtype)
        query_mask = as_bool_mask(mask[0]) if mask else None
        value_mask = as_bool_mask(mask[1]) if mask else None
        scores = self._calculate_scores(query, key)
        scores_mask = None if value_mask is None else np.expand_dims(value_mask, -2)
        if use_causal_mask or self.causal:
            causal = causal_mask(scores.shape[-2], scores.shape[-1])
            scores_mask = causal if scores_mask is None else scores_mask & causal
        if scores_mask is not None:
            max_value = 65504.0 if scores.dtype == np.float16 else 1.0e9
            scores = np.where(scores_mask, scores, scores - np.asarray(max_value, scores.dtype))
        weights = softmax_last_axis(scores)
        output = weights @ value
        if query_mask is not None:
            output = np.where(query_mask[..., None], output, np.zeros((), output.dtype))
        if return_attention_scores:
            return output, weights
        return output


@register_layer()
class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention: scores are `sum(scale * tanh(q + k))` over features, with a
    learned per-feature `scale` when `use_scale` (the default)."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["score_mode"]
        return config

    def build(self, input_shape):
        query_shape, value_shape, _ = self._split_shapes(input_shape)
        # Keras 3 sizes the scale by the query's features; tf-keras by the value's.
        dim = value_shape[-1] if self.keras2_semantics else query_shape[-1]
        if dim is None:
            raise ConfigError(f"{layer_label(self)} needs a known last input dimension, got "
                              f"{input_shape}")
        if self.use_scale:
            self.scale = self.add_weight("scale", (dim,),
                                         get_initializer("glorot_uniform"))

    def _calculate_scores(self, query, key):
        activations = np.tanh(query[..., :, None, :] + key[..., None, :, :])
        if self.scale is not None:
            activations *= self.value_of(self.scale)
        return activations.sum(axis=-1)
