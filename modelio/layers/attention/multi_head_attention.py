"""MultiHeadAttention with batched numpy matmuls (no loops over positions or heads). Masks are
graph edges (Keras 3): the `query_mask` / `value_mask` / `key_mask` call tensors. Masked scores
follow the path each Keras takes (scores.py; checked against Keras 3.15.1 with the torch
backend, and tf-keras 2.21)."""

import inspect
import math

import numpy as np

from ...errors import ConfigError, ModelioError, UnsupportedError
from ...graph import register_layer
from ...graph.dialect import keras2_semantics_active
from ...graph.layer import input_mask
from ...graph.tensor import SymbolicTensor
from ...kernels.activations import sigmoid
from ..arguments import (
    KERNEL_BIAS_ARGUMENTS,
    check_bool,
    check_int,
    config_entries,
    layer_label,
)
from ..initializers import get_initializer
from .base import QueryValueKeyAttention, set_attention_options
from .scores import (
    KERAS2_ADDITIVE,
    KERAS2_ROBUST,
    KERAS3_FUSED,
    KERAS3_SOFTMAX_LAYER,
    as_bool_mask,
    causal_mask,
    masked_scores,
)

__all__ = ["MultiHeadAttention"]


@register_layer()
class MultiHeadAttention(QueryValueKeyAttention):
    """Multi-head scaled dot-product attention (Vaswani et al., 2017), as `keras.layers.
    MultiHeadAttention`: project `query`, `key`, `value` per head, softmax(q k^T / sqrt(key_dim))
    over the attention axes, combine the values, project back.

    The weights live on this layer, in Keras's order and with Keras's names and shapes:
    query/kernel (d_q, H, key_dim), query/bias (H, key_dim), key/..., [gate/... with `use_gate`],
    value/kernel (d_v, H, value_dim), value/bias, attention_output/kernel (H, value_dim, *out),
    attention_output/bias (*out,).
    """

    supports_masking = True
    # tf-keras writes the build shapes into the config; Keras 3 keeps them in build_config.
    _legacy_keys = {"query_shape": None, "key_shape": None, "value_shape": None}

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self)
        self.num_heads = check_int(num_heads, "num_heads", cls, self.name, minimum=1)
        self.key_dim = check_int(key_dim, "key_dim", cls, self.name, minimum=1)
        if value_dim is not None:
            check_int(value_dim, "value_dim", cls, self.name, minimum=1)
        self.value_dim = value_dim if value_dim else key_dim
        set_attention_options(
            self, dropout=dropout, use_bias=use_bias, use_gate=use_gate,
            sliding_window=sliding_window, flash_attention=flash_attention, seed=seed,
            kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint)
        self._output_shape = self._check_output_shape(output_shape)
        self.attention_axes = self._check_attention_axes(attention_axes)
        # Created from a Keras 2 config: masked scores are penalized as tf-keras does.
        self.keras2_semantics = keras2_semantics_active()
        self._robust_masking = False  # tf-keras `softmax_robust_masking`, set by from_config
        self._build_shapes = None

    @property
    def softmax_robust_masking(self) -> bool:
        """tf-keras's `softmax_robust_masking` (read from a Keras 2 config, never written):
        masked scores are replaced by -1e9 rather than -1e9 being added to them."""
        return self._robust_masking

    # ----- arguments ----------------------------------------------------------------------------
    def _check_output_shape(self, output_shape):
        if output_shape is None:
            return None
        if isinstance(output_shape, int) and not isinstance(output_shape, bool):
            output_shape = (output_shape,)
        if not isinstance(output_shape, (list, tuple)) or not all(
                isinstance(dim, int) and not isinstance(dim, bool) and dim > 0
                for dim in output_shape):
            raise ConfigError(f"{layer_label(self)}: output_shape must be a positive integer or a list "
                              f"of positive integers, got {output_shape!r}")
        return tuple(output_shape)

    def _check_attention_axes(self, attention_axes):
        if attention_axes is None:
            return None
        if isinstance(attention_axes, int) and not isinstance(attention_axes, bool):
            return (attention_axes,)
        if not isinstance(attention_axes, (list, tuple)) or not attention_axes or not all(
                isinstance(axis, int) and not isinstance(axis, bool) for axis in attention_axes):
            raise ConfigError(f"{layer_label(self)}: attention_axes must be null, an integer or a "
                              f"non-empty list of integers, got {attention_axes!r}")
        if self._keras2_negative_axes(attention_axes):
            raise UnsupportedError(
                f"{layer_label(self)}: negative attention_axes {list(attention_axes)} in a Keras 2 "
                f"config (tf-keras counts them differently from Keras 3) are not supported")
        return attention_axes

    @staticmethod
    def _keras2_negative_axes(attention_axes) -> bool:
        return keras2_semantics_active() and any(axis < 0 for axis in attention_axes)

    @classmethod
    def from_config(cls, config: dict) -> "MultiHeadAttention":
        if not isinstance(config, dict):
            raise ConfigError(f"{cls.__name__}: config must be a mapping, got {type(config).__name__}")
        config = dict(config)
        robust = config.pop("softmax_robust_masking", False)  # tf-keras only
        layer = super().from_config(config)
        layer._robust_masking = check_bool(robust, "softmax_robust_masking", cls, layer.name)
        return layer

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            **config_entries(self, ("num_heads", "key_dim", "value_dim", "dropout", "use_bias",
                                    "use_gate")),
            "output_shape": self._output_shape,
            **config_entries(self, ("attention_axes", "sliding_window", *KERNEL_BIAS_ARGUMENTS,
                                    "seed")),
        }

    # ----- building -----------------------------------------------------------------------------
    def build(self, query_shape, value_shape=None, key_shape=None):
        """Create the projection weights for inputs of these shapes (`value_shape` defaults to
        `query_shape`, `key_shape` to `value_shape`)."""
        value_shape = query_shape if value_shape is None else value_shape
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = None if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        key_dims = value_shape if key_shape is None else key_shape
        rank = len(query_shape) + 1  # rank of the projected (..., heads, channels) tensors
        self._normalize_attention_axes(rank)
        kernel = get_initializer(self.kernel_initializer)
        bias = get_initializer(self.bias_initializer)

        def projection(name, input_dim, head_dim):
            weight = self.add_weight(f"{name}/kernel", (input_dim, self.num_heads, head_dim), kernel)
            offset = (self.add_weight(f"{name}/bias", (self.num_heads, head_dim), bias)
                      if self.use_bias else None)
            return weight, offset

        self.query_kernel, self.query_bias = projection("query", query_shape[-1], self.key_dim)
        self.key_kernel, self.key_bias = projection("key", key_dims[-1], self.key_dim)
        self.gate_kernel = self.gate_bias = None
        if self.use_gate:
            self.gate_kernel, self.gate_bias = projection("gate", query_shape[-1], self.value_dim)
        self.value_kernel, self.value_bias = projection("value", value_shape[-1], self.value_dim)
        output_dims = self._output_dims(query_shape)
        self.output_kernel = self.add_weight(
            "attention_output/kernel", (self.num_heads, self.value_dim, *output_dims), kernel)
        self.output_bias = (self.add_weight("attention_output/bias", output_dims, bias)
                            if self.use_bias else None)
        self._build_shapes = (query_shape, value_shape, key_shape)
        self.built = True

    def keras3_weight_groups(self) -> list[tuple[str, list]]:
        """Keras 3 keeps these weights on EinsumDense sub-layers (`query_dense/vars/0..1`, ...)
        and also saves its (weightless) softmax and dropout sub-layers; alphabetical order, the
        private attributes last, as Keras visits them."""

        def dense(kernel, bias):
            return [kernel] + ([bias] if bias is not None else [])

        if not self.built:
            return [("", [], self.name)]
        groups = [("", [], self.name),
                  ("key_dense", dense(self.key_kernel, self.key_bias), "key"),
                  ("output_dense", dense(self.output_kernel, self.output_bias),
                   "attention_output"),
                  ("query_dense", dense(self.query_kernel, self.query_bias), "query"),
                  ("value_dense", dense(self.value_kernel, self.value_bias), "value"),
                  ("_dropout_layer", [], "dropout")]
        if self.use_gate:
            groups.append(("_gate_dense", dense(self.gate_kernel, self.gate_bias), "gate"))
        return groups + [("_softmax", [], "softmax")]

    def _output_dims(self, query_shape) -> tuple:
        return self._output_shape if self._output_shape else (query_shape[-1],)

    def _check_shapes(self, query_shape, value_shape, key_shape) -> None:
        label = layer_label(self)
        key_dims = value_shape if key_shape is None else key_shape
        shapes = {"query": query_shape, "value": value_shape, "key": key_dims}
        for what, shape in shapes.items():
            if len(shape) < 3:
                raise ConfigError(f"{label} needs {what} of rank >= 3 (batch, positions..., "
                                  f"features), got shape {shape}")
            if shape[-1] is None:
                raise ConfigError(f"{label} needs a known last dimension of {what}, got {shape}")
        if not len(query_shape) == len(value_shape) == len(key_dims):
            raise ConfigError(f"{label}: query, value and key must have the same rank, got "
                              f"{query_shape}, {value_shape} and {key_dims}")
        if any(a is not None and b is not None and a != b
               for a, b in zip(value_shape[1:-1], key_dims[1:-1])):
            raise ConfigError(f"{label}: all dimensions of value and key except the last must be "
                              f"equal, got value {value_shape} and key {key_dims}")

    def _normalize_attention_axes(self, rank: int) -> None:
        """As Keras's `_build_attention`: default to every axis but batch, heads and features;
        negative axes count from the input's rank. The config then shows the normalized tuple."""
        if self.attention_axes is None:
            axes = tuple(range(1, rank - 2))
        else:
            axes = tuple(axis if axis >= 0 else (rank - 1) + axis for axis in self.attention_axes)
        if len(set(axes)) != len(axes) or any(not 1 <= axis <= rank - 3 for axis in axes):
            raise ConfigError(
                f"{layer_label(self)}: attention_axes {list(self.attention_axes)} must name distinct "
                f"axes of the inputs other than batch and features (1..{rank - 3} for inputs of "
                f"rank {rank - 1})")
        self.attention_axes = axes

    def _check_built_for(self, query_shape, value_shape, key_shape) -> None:
        """A layer already built (by an earlier call) accepts only inputs its weights fit."""
        self._check_shapes(query_shape, value_shape, key_shape)
        key_dims = value_shape if key_shape is None else key_shape
        built_rank = len(self._build_shapes[0])
        for what, shape, kernel in (("query", query_shape, self.query_kernel),
                                    ("key", key_dims, self.key_kernel),
                                    ("value", value_shape, self.value_kernel)):
            if shape[-1] != kernel.shape[0] or len(shape) != built_rank:
                raise ConfigError(f"{layer_label(self)} was built for {what} of rank {built_rank} "
                                  f"with {kernel.shape[0]} features, got shape {shape}")
        if not self._output_shape and query_shape[-1] != self.output_kernel.shape[-1]:
            raise ConfigError(f"{layer_label(self)} was built for query features "
                              f"{self.output_kernel.shape[-1]}, got {query_shape}")

    def _build_for(self, query_shape, value_shape, key_shape) -> None:
        if self.built:
            self._check_built_for(query_shape, value_shape, key_shape)
        else:
            self.build(query_shape, value_shape, key_shape)

    # ----- calling ------------------------------------------------------------------------------
    def _implicit_mask_kwargs(self, args: tuple, kwargs: dict) -> dict:
        """Keras 3 passes each tensor argument's mask as `<argument>_mask` when that is unset;
        and MHA's call then always takes the query's own mask (an explicit `query_mask` on a
        query without a mask is ignored), so modelio records exactly that."""
        try:
            arguments = inspect.signature(self.call).bind(*args, **kwargs).arguments
        except TypeError:
            return {}  # `_check_call_arguments` reports it
        implicit = {}
        query_mask = input_mask(arguments.get("query"))
        if query_mask is not None or kwargs.get("query_mask") is not None:
            implicit["query_mask"] = query_mask
        for name in ("value", "key"):
            tensor = arguments.get(name)
            if tensor is not None and arguments.get(f"{name}_mask") is None:
                mask = input_mask(tensor)
                if mask is not None:
                    implicit[f"{name}_mask"] = mask
        return implicit

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        self._check_shapes(query_shape, value_shape, None if key_shape is None else tuple(key_shape))
        return (*query_shape[:-1], *self._output_dims(query_shape))

    def compute_output_spec(self, query, value, key=None, query_mask=None, value_mask=None,
                            key_mask=None, attention_mask=None, return_attention_scores=False,
                            training=None, use_causal_mask=False):
        self._check_flags(return_attention_scores, use_causal_mask)
        key_shape = None if key is None else key.shape
        output = SymbolicTensor(self.compute_output_shape(query.shape, value.shape, key_shape),
                                self.compute_dtype)
        scores_shape = self._scores_shape(query.shape, value.shape if key is None else key.shape)
        if attention_mask is not None and hasattr(attention_mask, "shape") and (
                len(attention_mask.shape) > len(scores_shape)):
            raise ConfigError(f"{layer_label(self)}: attention_mask of shape {attention_mask.shape} has "
                              f"more axes than the attention scores {scores_shape}")
        if return_attention_scores:
            # The true shape (Keras 3.15 declares (batch, heads, T, T) even when S != T).
            return output, SymbolicTensor(scores_shape, self.compute_dtype)
        return output

    def layout(self, rank: int) -> tuple[tuple, tuple, tuple]:
        """For projected tensors of `rank`: (batch axes, attention axes, the permutation putting
        batch axes, attention axes and channels in that order); batch axes are every axis but
        the attention axes and channels (the heads axis included), as in Keras's
        `_build_attention_equation`."""
        attention = tuple(self.attention_axes)
        batch = tuple(axis for axis in range(rank - 1) if axis not in attention)
        return batch, attention, (*batch, *attention, rank - 1)

    def _scores_shape(self, query_shape, key_shape) -> tuple:
        """(batch axes incl. heads, query attention axes, key attention axes)."""
        projected_q = (*query_shape[:-1], self.num_heads, self.key_dim)
        projected_k = (*key_shape[:-1], self.num_heads, self.key_dim)
        batch, attention, _ = self.layout(len(projected_q))
        return (tuple(projected_q[axis] for axis in batch)
                + tuple(projected_q[axis] for axis in attention)
                + tuple(projected_k[axis] for axis in attention))

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        self._check_flags(return_attention_scores, use_causal_mask)
        query = np.asarray(query)
        value = np.asarray(value, dtype=query.dtype)
        key = value if key is None else np.asarray(key, dtype=query.dtype)
        mask, mode = self._attention_mask(query, value, as_bool_mask(query_mask),
                                          as_bool_mask(value_mask), as_bool_mask(key_mask),
                                          as_bool_mask(attention_mask), use_causal_mask,
                                          return_attention_scores)
        gate = None
        if self.use_gate:
            gate = sigmoid(self._project(query, self.gate_kernel, self.gate_bias))
        q = self._project(query, self.query_kernel, self.query_bias)
        k = self._project(key, self.key_kernel, self.key_bias)
        v = self._project(value, self.value_kernel, self.value_bias)
        q *= np.asarray(1.0 / math.sqrt(float(self.key_dim)), dtype=q.dtype)
        attended, scores = self._attend(q, k, v, mask, mode, return_attention_scores)
        if gate is not None:
            attended = attended * gate
        output_weight = self.value_of(self.output_kernel)
        heads_by_channels = output_weight.shape[0] * output_weight.shape[1]
        output = attended.reshape(-1, heads_by_channels) @ output_weight.reshape(
            heads_by_channels, -1)
        if self.output_bias is not None:
            output += self.value_of(self.output_bias).reshape(-1)
        output = output.reshape(*attended.shape[:-2], *output_weight.shape[2:])
        if return_attention_scores:
            return output, scores
        return output

    def _attention_mask(self, query, value, query_mask, value_mask, key_mask, attention_mask,
                        use_causal_mask, return_attention_scores):
        """The boolean mask over the scores and the masked-softmax mode, exactly as Keras
        combines them (`_compute_attention_mask`, and the causal-only shortcut of Keras 3)."""
        if self.keras2_semantics:
            mode = KERAS2_ROBUST if self._robust_masking else KERAS2_ADDITIVE
        elif query.ndim == 3 and self.dropout == 0.0 and not return_attention_scores:
            mode = KERAS3_FUSED
        else:
            mode = KERAS3_SOFTMAX_LAYER
        auto = None
        if query_mask is not None:
            auto = query_mask[..., None]
        for mask in (value_mask, key_mask):
            if mask is not None:
                mask = np.expand_dims(mask, -2)
                auto = mask if auto is None else auto & mask
        if use_causal_mask:
            causal = causal_mask(query.shape[1], value.shape[1])
            auto = causal if auto is None else auto & causal
        if self.sliding_window is not None:
            rows = np.arange(query.shape[1])[:, None]
            cols = np.arange(value.shape[1])[None, :]
            window = (np.abs(rows - cols) < self.sliding_window)[None]
            auto = window if auto is None else auto & window
        if auto is not None:
            attention_mask = auto if attention_mask is None else attention_mask & auto
        return attention_mask, mode

    def _attend(self, q, k, v, mask, mode, need_weights):
        """softmax(q k^T) v over the attention axes, batched over the other axes (heads included).

        Returns the attended values in the projected layout (..., heads, channels) and, when
        `need_weights`, the attention weights of shape (batch axes, query axes, key axes)."""
        rank = q.ndim
        batch, attention, order = self.layout(rank)
        qt = q.transpose(order)
        kt = k.transpose((*batch, rank - 1, *attention))  # keys pre-transposed for the matmul
        vt = v.transpose(order)
        nb = len(batch)
        batch_shape, query_dims, key_dims = qt.shape[:nb], qt.shape[nb:-1], kt.shape[nb + 1:]
        if kt.shape[:nb] != batch_shape or vt.shape[:nb] != batch_shape:
            raise ModelioError(f"{layer_label(self)}: query, key and value differ outside the attention "
                               f"axes: {q.shape[:-1]}, {k.shape[:-1]} and {v.shape[:-1]}")
        count = math.prod(batch_shape)
        query_length, key_length = math.prod(query_dims), math.prod(key_dims)
        queries = qt.reshape(count, query_length, qt.shape[-1])
        keys = np.ascontiguousarray(kt.reshape(count, kt.shape[nb], key_length))
        values = np.ascontiguousarray(vt.reshape(count, key_length, vt.shape[-1]))
        scores = queries @ keys
        full_shape = (*batch_shape, *query_dims, *key_dims)
        if mask is not None:
            mask = self._expanded_mask(mask, full_shape)
            scores = masked_scores(scores.reshape(full_shape), mask, mode).reshape(
                count, query_length, key_length)
        # Numerically stable softmax over the keys, in place.
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        totals = scores @ np.ones((key_length, 1), scores.dtype)
        zero_masked = mask is not None and mode == KERAS3_SOFTMAX_LAYER
        weights = None
        if need_weights or zero_masked:
            scores /= totals
            if zero_masked:
                scores = np.where(mask, scores.reshape(full_shape), np.zeros((), scores.dtype))
            weights = scores.reshape(full_shape)
            attended = scores.reshape(count, query_length, key_length) @ values
        else:  # normalize the (smaller) result instead of the weights
            attended = scores @ values
            attended /= totals
        attended = attended.reshape(*batch_shape, *query_dims, values.shape[-1])
        return attended.transpose(np.argsort(order)), weights

    def _expanded_mask(self, mask, full_shape):
        """Keras's `_masked_softmax`: add axes at `-2 * len(attention_axes) - 1` until the mask
        has the scores' rank; then it must broadcast (each size 1 or equal)."""
        axis = -2 * len(self.attention_axes) - 1
        while mask.ndim < len(full_shape):
            mask = np.expand_dims(mask, axis)
        if mask.ndim > len(full_shape) or any(
                size not in (1, full) for size, full in zip(mask.shape, full_shape)):
            raise ModelioError(f"{layer_label(self)}: the attention mask of shape {mask.shape} does not "
                               f"broadcast to the attention scores of shape {full_shape}")
        return mask
