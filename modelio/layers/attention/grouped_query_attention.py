"""GroupQueryAttention (keras.layers.GroupQueryAttention, Ainslie et al., 2023): multi-head
attention whose `num_query_heads` query heads share `num_key_value_heads` key/value heads, each
key/value head repeated `num_query_heads // num_key_value_heads` times. Inputs are (batch,
positions, features). Masked scores follow the path Keras 3 takes (scores.py): its fused
`dot_product_attention` without dropout and without returned scores, its Softmax layer
otherwise."""

import inspect
import math

import numpy as np

from ...errors import ConfigError
from ...graph import register_layer
from ...graph.layer import input_mask
from ...graph.tensor import SymbolicTensor
from ...kernels.activations import sigmoid
from ..arguments import (
    KERNEL_BIAS_ARGUMENTS,
    check_int,
    config_entries,
    layer_label,
)
from ..initializers import get_initializer
from .base import QueryValueKeyAttention, set_attention_options
from .scores import (
    KERAS3_FUSED,
    KERAS3_SOFTMAX_LAYER,
    as_bool_mask,
    causal_mask,
    masked_scores,
    softmax_last_axis,
)

__all__ = ["GroupQueryAttention"]


@register_layer("GroupedQueryAttention")  # its Python class name, in Keras 3's legacy .h5
class GroupQueryAttention(QueryValueKeyAttention):
    """Grouped-query attention with Keras's weights, names and order: query/kernel (d, Hq,
    head_dim), query/bias (Hq, head_dim), key/... and value/... with Hkv heads, [gate/... with
    `use_gate`, before value], attention_output/kernel (Hq, head_dim, d), attention_output/bias
    (d,). Keras's Python class is GroupedQueryAttention: its `.keras` weights live under
    `grouped_query_attention/_query_dense/vars`, ..."""

    supports_masking = True
    _keras_weights_class_name = "GroupedQueryAttention"

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0,
                 use_bias=True, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        cls = type(self)
        label = layer_label(self)
        self.head_dim = check_int(head_dim, "head_dim", cls, self.name, minimum=1)
        self.num_query_heads = check_int(num_query_heads, "num_query_heads", cls, self.name,
                                         minimum=1)
        self.num_key_value_heads = check_int(num_key_value_heads, "num_key_value_heads", cls,
                                             self.name, minimum=1)
        if self.num_query_heads % self.num_key_value_heads:
            raise ConfigError(f"{label}: num_query_heads ({num_query_heads}) must be divisible by "
                              f"num_key_value_heads ({num_key_value_heads})")
        self.num_repeats = self.num_query_heads // self.num_key_value_heads
        set_attention_options(
            self, dropout=dropout, use_bias=use_bias, use_gate=use_gate,
            sliding_window=sliding_window, flash_attention=flash_attention, seed=seed,
            kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint)
        # Keras 3.15.1 takes flash_attention but never writes it into the config.
        self._build_shapes = None

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            **config_entries(self, ("head_dim", "num_query_heads", "num_key_value_heads",
                                    "use_bias", "use_gate", "sliding_window", "dropout",
                                    *KERNEL_BIAS_ARGUMENTS, "seed")),
        }

    # ----- building -------------------------------------------------------------------------------
    def _check_shapes(self, query_shape, value_shape, key_shape) -> None:
        label = layer_label(self)
        key_dims = value_shape if key_shape is None else key_shape
        for what, shape in (("query", query_shape), ("value", value_shape), ("key", key_dims)):
            if len(shape) != 3:
                raise ConfigError(f"{label} needs {what} of rank 3 (batch, positions, features), "
                                  f"got shape {tuple(shape)}")
            if shape[-1] is None:
                raise ConfigError(f"{label} needs a known last dimension of {what}, got "
                                  f"{tuple(shape)}")
        if query_shape[-1] != value_shape[-1]:
            raise ConfigError(f"{label}: the last dimensions of query and value must be equal (as "
                              f"Keras requires), got {tuple(query_shape)} and {tuple(value_shape)}")
        if None not in (value_shape[1], key_dims[1]) and value_shape[1] != key_dims[1]:
            raise ConfigError(f"{label}: value and key must have the same length, got "
                              f"{tuple(value_shape)} and {tuple(key_dims)}")

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = tuple(query_shape if value_shape is None else value_shape)
        query_shape = tuple(query_shape)
        key_shape = None if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        key_dims = value_shape if key_shape is None else key_shape
        kernel = get_initializer(self.kernel_initializer)
        bias = get_initializer(self.bias_initializer)

        def projection(name, input_dim, heads):
            weight = self.add_weight(f"{name}/kernel", (input_dim, heads, self.head_dim), kernel)
            offset = (self.add_weight(f"{name}/bias", (heads, self.head_dim), bias)
                      if self.use_bias else None)
            return weight, offset

        self.query_kernel, self.query_bias = projection("query", query_shape[-1],
                                                        self.num_query_heads)
        self.key_kernel, self.key_bias = projection("key", key_dims[-1], self.num_key_value_heads)
        self.gate_kernel = self.gate_bias = None
        if self.use_gate:
            self.gate_kernel, self.gate_bias = projection("gate", query_shape[-1],
                                                          self.num_query_heads)
        self.value_kernel, self.value_bias = projection("value", value_shape[-1],
                                                        self.num_key_value_heads)
        features = query_shape[-1]
        self.output_kernel = self.add_weight(
            "attention_output/kernel", (self.num_query_heads, self.head_dim, features), kernel)
        self.output_bias = (self.add_weight("attention_output/bias", (features,), bias)
                            if self.use_bias else None)
        self._build_shapes = (query_shape, value_shape, key_shape)
        self.built = True

    def keras3_weight_groups(self) -> list[tuple]:
        """Keras 3 keeps the weights on EinsumDense sub-layers and saves its softmax and dropout
        sub-layers too, in alphabetical order of the attribute names."""

        def dense(kernel, bias):
            return [kernel] + ([bias] if bias is not None else [])

        groups = [("", [], self.name)]
        if not self.built:
            return groups
        groups.append(("_dropout_layer", [], "dropout"))
        if self.use_gate:
            groups.append(("_gate_dense", dense(self.gate_kernel, self.gate_bias), "gate"))
        return groups + [
            ("_key_dense", dense(self.key_kernel, self.key_bias), "key"),
            ("_output_dense", dense(self.output_kernel, self.output_bias), "attention_output"),
            ("_query_dense", dense(self.query_kernel, self.query_bias), "query"),
            ("_softmax", [], "softmax"),
            ("_value_dense", dense(self.value_kernel, self.value_bias), "value")]

    def _build_for(self, query_shape, value_shape, key_shape) -> None:
        if not self.built:
            self.build(query_shape, value_shape, key_shape)
            return
        self._check_shapes(query_shape, value_shape, key_shape)
        key_dims = value_shape if key_shape is None else key_shape
        for what, shape, weight in (("query", query_shape, self.query_kernel),
                                    ("key", key_dims, self.key_kernel),
                                    ("value", value_shape, self.value_kernel)):
            if shape[-1] != weight.shape[0]:
                raise ConfigError(f"{layer_label(self)} was built for {what} with "
                                  f"{weight.shape[0]} features, got shape {tuple(shape)}")

    # ----- calling --------------------------------------------------------------------------------
    def _implicit_mask_kwargs(self, args: tuple, kwargs: dict) -> dict:
        """Keras 3 passes each tensor argument's mask as `<argument>_mask` when that is unset."""
        try:
            arguments = inspect.signature(self.call).bind(*args, **kwargs).arguments
        except TypeError:
            return {}
        implicit = {}
        for name in ("query", "value", "key"):
            if arguments.get(f"{name}_mask") is None:
                mask = input_mask(arguments.get(name))
                if mask is not None:
                    implicit[f"{name}_mask"] = mask
        return implicit

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        self._check_shapes(query_shape, value_shape, None if key_shape is None else tuple(key_shape))
        return query_shape

    def compute_output_spec(self, query, value, key=None, query_mask=None, value_mask=None,
                            key_mask=None, attention_mask=None, return_attention_scores=False,
                            training=None, use_causal_mask=False):
        self._check_flags(return_attention_scores, use_causal_mask)
        key_shape = None if key is None else key.shape
        output = SymbolicTensor(self.compute_output_shape(query.shape, value.shape, key_shape),
                                self.compute_dtype)
        if not return_attention_scores:
            return output
        source = value.shape[1] if key is None else key.shape[1]
        return output, SymbolicTensor((query.shape[0], self.num_query_heads, query.shape[1],
                                       source), self.compute_dtype)

    def masked_softmax_mode(self, return_attention_scores: bool) -> str:
        """How masked scores become probabilities (scores.py): Keras's fused kernel unless
        dropout is set or the scores are returned."""
        if self.dropout > 0.0 or return_attention_scores:
            return KERAS3_SOFTMAX_LAYER
        return KERAS3_FUSED

    def attention_mask(self, query_length, key_length, query_mask=None, value_mask=None,
                       key_mask=None, attention_mask=None, use_causal_mask=False):
        """The boolean (batch or 1, T, S) mask Keras combines from the masks, the causal and the
        sliding-window masks, or None."""
        auto = None
        if query_mask is not None:
            auto = as_bool_mask(query_mask)[..., None]
        for mask in (value_mask, key_mask):
            if mask is not None:
                mask = np.expand_dims(as_bool_mask(mask), -2)
                auto = mask if auto is None else auto & mask
        if use_causal_mask:
            causal = causal_mask(query_length, key_length)
            auto = causal if auto is None else auto & causal
        if self.sliding_window is not None:
            rows = np.arange(query_length)[:, None]
            cols = np.arange(key_length)[None, :]
            window = (np.abs(rows - cols) < self.sliding_window)[None]
            auto = window if auto is None else auto & window
        attention_mask = as_bool_mask(attention_mask)
        if auto is not None:
            attention_mask = auto if attention_mask is None else attention_mask & auto
        return attention_mask

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        self._check_flags(return_attention_scores, use_causal_mask)
        query = np.asarray(query)
        value = np.asarray(value, dtype=query.dtype)
        key = value if key is None else np.asarray(key, dtype=query.dtype)
        mask = self.attention_mask(query.shape[1], key.shape[1], query_mask, value_mask,
                                   key_mask, attention_mask, use_causal_mask)
        gate = (sigmoid(self._project(query, self.gate_kernel, self.gate_bias))
                if self.use_gate else None)
        q = self._project(query, self.query_kernel, self.query_bias).transpose(0, 2, 1, 3)
        k = np.repeat(self._project(key, self.key_kernel, self.key_bias), self.num_repeats,
                      axis=2).transpose(0, 2, 3, 1)
        v = np.repeat(self._project(value, self.value_kernel, self.value_bias),
                      self.num_repeats, axis=2).transpose(0, 2, 1, 3)
        q *= np.asarray(1.0 / math.sqrt(float(self.head_dim)), dtype=q.dtype)
        scores = q @ k                                   # (B, Hq, T, S)
        mode = self.masked_softmax_mode(return_attention_scores)
        if mask is not None:
            if mask.ndim > 3:
                raise ConfigError(f"{layer_label(self)}: attention_mask of shape {mask.shape} "
                                  f"has more than 3 axes (batch, T, S)")
            mask = np.expand_dims(mask, -3)
            try:
                mask = np.broadcast_to(mask, scores.shape)
            except ValueError as exc:
                raise ConfigError(f"{layer_label(self)}: the attention mask of shape "
                                  f"{mask.shape} does not broadcast to the attention scores of "
                                  f"shape {scores.shape}") from exc
            scores = masked_scores(scores, mask, mode)
        weights = softmax_last_axis(scores)
        if mask is not None and mode == KERAS3_SOFTMAX_LAYER:
            weights = np.where(mask, weights, np.zeros((), weights.dtype))
        attended = (weights @ v).transpose(0, 2, 1, 3)   # (B, T, Hq, head_dim)
        if gate is not None:
            attended = attended * gate
        output_weight = self.value_of(self.output_kernel)
        output = attended.reshape(-1, self.num_query_heads * self.head_dim) @ output_weight.reshape(
            self.num_query_heads * self.head_dim, -1)
        if self.output_bias is not None:
            output += self.value_of(self.output_bias)
        output = output.reshape(*attended.shape[:2], -1)
        if return_attention_scores:
            return output, weights
        return output
