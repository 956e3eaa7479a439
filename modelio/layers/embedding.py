"""Embedding: integer indices -> rows of a learned table; `mask_zero` masks index 0.
ReversibleEmbedding: the same, and with `reverse=True` features -> logits over the table."""

import numpy as np

from .. import ops
from ..errors import ConfigError, ModelioError, UnsupportedError
from ..graph import Layer, register_layer
from ..graph.tensor import SymbolicTensor
from .arguments import check_bool, check_float, check_int, check_serialized, config_entries
from .initializers import get_initializer, serialize_initializer
from .quantized_embedding import QuantizedEmbeddingMixin

__all__ = ["Embedding", "ReversibleEmbedding"]


@register_layer()
class Embedding(QuantizedEmbeddingMixin, Layer):
    """Looks up `embeddings[index]` for every integer in the input: (batch, ...) -> (batch, ...,
    output_dim). With `mask_zero=True` index 0 is padding, and later layers receive the mask.
    Quantized (int8, int4) and LoRA-enabled as Keras's `quantize` / `enable_lora` leave it."""

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
        self.setup_quantization(lora_rank, lora_alpha, quantization_config)
        if weights is not None:
            self._maybe_build(None)
            self.set_weights(weights if isinstance(weights, list) else [weights])

    def build(self, input_shape):
        self.build_quantized_embeddings(get_initializer(self.embeddings_initializer))

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
        if self.quantization.mode is not None or self.lora.enabled:
            return self.quantized_lookup(indices)
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
            **self.quantization_config_entries(),
        }


@register_layer()
class ReversibleEmbedding(Embedding):
    """An Embedding that can also project back: called with `reverse=True` on (..., output_dim)
    features it returns logits `features @ embeddings.T` (or `@ reverse_embeddings` when
    `tie_weights=False`), squashed to `logit_soft_cap * tanh(logits / logit_soft_cap)` when a cap
    is set. With `mask_zero=True` the forward direction masks index 0 (see `compute_mask`)."""

    _REVERSE_DTYPES = ("float16", "float32", "float64")
    supports_quantization = False

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 reverse_dtype=None, logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer,
                         embeddings_constraint=embeddings_constraint, mask_zero=mask_zero,
                         **kwargs)
        cls = type(self)
        self.tie_weights = check_bool(tie_weights, "tie_weights", cls, self.name)
        if reverse_dtype is not None and reverse_dtype not in self._REVERSE_DTYPES:
            raise UnsupportedError(f"layer '{self.name}' (ReversibleEmbedding): reverse_dtype must "
                                   f"be null or one of {', '.join(self._REVERSE_DTYPES)}, got "
                                   f"{reverse_dtype!r}")
        self.reverse_dtype = reverse_dtype
        if logit_soft_cap is not None:
            check_float(logit_soft_cap, "logit_soft_cap", cls, self.name)
            if logit_soft_cap == 0:
                raise ConfigError(f"layer '{self.name}' (ReversibleEmbedding): logit_soft_cap must "
                                  f"be null or non-zero, got {logit_soft_cap!r}")
        self.logit_soft_cap = logit_soft_cap
        self.reverse_embeddings = None

    def build(self, input_shape=None):
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                "reverse_embeddings", (self.output_dim, self.input_dim),
                get_initializer(self.embeddings_initializer))

    def reverse_kernel(self) -> np.ndarray:
        """The (output_dim, input_dim) matrix the reverse direction multiplies by."""
        if self.tie_weights:
            return self.value_of(self.embeddings).T
        return self.value_of(self.reverse_embeddings)

    def output_dtype(self, reverse: bool) -> str:
        return self.reverse_dtype if reverse and self.reverse_dtype else self.compute_dtype

    def compute_output_shape(self, input_shape, reverse=False):
        check_bool(reverse, "reverse", type(self), self.name)
        if not reverse:
            return super().compute_output_shape(input_shape)
        if not input_shape or input_shape[-1] not in (None, self.output_dim):
            raise ConfigError(f"layer '{self.name}' (ReversibleEmbedding): reverse=True needs "
                              f"inputs whose last dimension is output_dim={self.output_dim}, got "
                              f"{tuple(input_shape)}")
        return (*input_shape[:-1], self.input_dim)

    def compute_output_spec(self, inputs, reverse=False):
        return SymbolicTensor(self._checked_reverse_shape(inputs.shape, reverse),
                              self.output_dtype(reverse))

    def _checked_reverse_shape(self, input_shape, reverse):
        with self.shape_errors(input_shape):
            return self.compute_output_shape(tuple(input_shape), reverse=reverse)

    def _eager_call(self, args: tuple, kwargs: dict):
        if not kwargs.get("reverse"):
            return super()._eager_call(args, kwargs)
        inputs = np.asarray(args[0])
        self._maybe_build(inputs.shape)
        self._checked_reverse_shape(inputs.shape, True)
        return self.call(inputs, *args[1:], **self._call_kwargs(kwargs))

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        kernel = self.reverse_kernel()
        inputs = np.asarray(inputs)
        if self.reverse_dtype is not None:
            inputs, kernel = inputs.astype(self.reverse_dtype), kernel.astype(self.reverse_dtype)
        logits = inputs @ kernel
        if self.logit_soft_cap is not None:
            cap = np.asarray(self.logit_soft_cap, dtype=logits.dtype)
            logits = np.tanh(logits / cap) * cap
        return logits

    def _symbolic_call(self, args: tuple, kwargs: dict):
        self._reverse_call = bool(kwargs.get("reverse"))
        try:
            return super()._symbolic_call(args, kwargs)
        finally:
            self._reverse_call = False

    def compute_mask(self, inputs, previous_mask):
        """Keras 3.15.1's `compute_mask` says None, yet its forward `call` attaches the
        `mask_zero` mask to the embeddings it returns, which the next layers then receive when
        the model runs: so the forward direction masks as Embedding does, the reverse never."""
        if getattr(self, "_reverse_call", False):
            return None
        return super().compute_mask(inputs, previous_mask)

    def get_config(self) -> dict:
        return {**super().get_config(), "tie_weights": self.tie_weights,
                "reverse_dtype": self.reverse_dtype, "logit_soft_cap": self.logit_soft_cap}
