"""Numeric categorical encoding layers: Discretization (bucketing floats by bin boundaries) and
CategoryEncoding (integer ids to one-hot, multi-hot or count vectors)."""

import numbers

import numpy as np

from ..errors import ConfigError, UnsupportedError
from ..graph import Layer, SymbolicTensor, register_layer
from ..kernels.categorical import encode_categorical, encoded_shape
from .arguments import check_bool, check_choice, check_float, check_int, layer_label

__all__ = ["CategoryEncoding", "Discretization"]


def check_encoding_rank(layer, input_shape, output_mode: str) -> None:
    """multi_hot / count / tf_idf outputs are computed for inputs of rank 2 at most (Keras's
    backends disagree beyond that: TensorFlow refuses, PyTorch reduces axis 1)."""
    if output_mode in ("multi_hot", "count", "tf_idf") and len(input_shape) > 2:
        raise UnsupportedError(f"{layer_label(layer)}: output_mode {output_mode!r} takes inputs "
                               f"of rank 2 at most, got shape {tuple(input_shape)}")


def _check_sparse(layer, sparse) -> bool:
    check_bool(sparse, "sparse", type(layer), layer.name)
    if sparse:
        raise UnsupportedError(f"{layer_label(layer)}: sparse outputs are not supported (modelio "
                               f"computes dense arrays)")
    return sparse


@register_layer()
class Discretization(Layer):
    """Buckets values by `bin_boundaries`: index i where boundaries[i-1] <= x < boundaries[i]
    (int32), or that index encoded as one_hot / multi_hot / count in the layer's dtype.

    A layer adapted in Keras stores both `num_bins` and the learned `bin_boundaries` in its
    config; `adapt()` itself (Keras's approximate quantile summary) is not reimplemented, so a
    layer given only `num_bins` refuses to compute."""

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, dtype=None, name=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        cls = type(self)
        self.output_mode = check_choice(output_mode, "output_mode",
                                        ("int", "one_hot", "multi_hot", "count"), cls, self.name)
        self.sparse = _check_sparse(self, sparse)
        if num_bins is not None:
            check_int(num_bins, "num_bins", cls, self.name, minimum=0)
        if num_bins is None and bin_boundaries is None:
            raise ConfigError(f"{layer_label(self)}: set either num_bins or bin_boundaries")
        if bin_boundaries is not None:
            if not isinstance(bin_boundaries, (list, tuple)) or not all(
                    isinstance(value, numbers.Real) and not isinstance(value, bool)
                    for value in bin_boundaries):
                raise ConfigError(f"{layer_label(self)}: bin_boundaries must be a list of numbers, "
                                  f"got {bin_boundaries!r}")
            bin_boundaries = [float(value) for value in bin_boundaries]
            if any(b < a for a, b in zip(bin_boundaries, bin_boundaries[1:])):
                raise ConfigError(f"{layer_label(self)}: bin_boundaries must be sorted, got "
                                  f"{bin_boundaries}")
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = check_float(epsilon, "epsilon", cls, self.name, minimum=0.0)

    @property
    def depth(self) -> int:
        """The number of buckets (the encoded width)."""
        if self.bin_boundaries is not None:
            return len(self.bin_boundaries) + 1
        return self.num_bins

    @property
    def output_dtype(self) -> str:
        return "int32" if self.output_mode == "int" else self.compute_dtype

    def compute_output_shape(self, input_shape):
        check_encoding_rank(self, input_shape, self.output_mode)
        return encoded_shape(input_shape, self.output_mode, self.depth)

    def compute_output_spec(self, inputs, **kwargs):
        return SymbolicTensor(self._checked_output_shape(inputs.shape), self.output_dtype)

    def bucketize(self, inputs: np.ndarray) -> np.ndarray:
        """The bucket index (int32) of each input value."""
        if self.bin_boundaries is None:
            raise UnsupportedError(f"{layer_label(self)} has no bin_boundaries: it was given only "
                                   f"num_bins and never adapted (modelio does not adapt)")
        if inputs.dtype.kind not in "fiub":
            raise ConfigError(f"{layer_label(self)} expects numeric inputs, got {inputs.dtype}")
        boundaries = np.asarray(self.bin_boundaries, dtype=np.float32)
        return np.searchsorted(boundaries, inputs.astype(np.float32), side="right").astype(np.int32)

    def call(self, inputs):
        return encode_categorical(self.bucketize(inputs), self.output_mode, self.depth,
                                  self.output_dtype)

    def get_config(self) -> dict:
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode, "sparse": self.sparse,
                "name": self.name, "dtype": self.dtype_policy.name}


@register_layer()
class CategoryEncoding(Layer):
    """Integer ids in [0, num_tokens) as one_hot, multi_hot ("binary") or count vectors in the
    layer's dtype; `count_weights` (count mode) weights each id. Ids outside the range add
    nothing (TensorFlow's behaviour; Keras's PyTorch backend raises for ids >= num_tokens)."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        cls = type(self)
        if output_mode == "binary":
            output_mode = "multi_hot"
        self.output_mode = check_choice(output_mode, "output_mode",
                                        ("count", "one_hot", "multi_hot"), cls, self.name)
        if num_tokens is None:
            raise ConfigError(f"{layer_label(self)}: num_tokens must be set")
        self.num_tokens = check_int(num_tokens, "num_tokens", cls, self.name, minimum=1)
        self.sparse = _check_sparse(self, sparse)

    def compute_output_shape(self, input_shape):
        check_encoding_rank(self, input_shape, self.output_mode)
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def compute_output_spec(self, inputs, count_weights=None, **kwargs):
        return SymbolicTensor(self._checked_output_shape(inputs.shape), self.compute_dtype)

    def call(self, inputs, count_weights=None):
        if inputs.dtype.kind not in "iub" and not (
                inputs.dtype.kind == "f" and np.array_equal(inputs, np.round(inputs))):
            raise ConfigError(f"{layer_label(self)} expects integer ids, got {inputs.dtype} values")
        if count_weights is not None:
            if self.output_mode != "count":
                raise ConfigError(f"{layer_label(self)}: count_weights is only used with "
                                  f"output_mode 'count'")
            count_weights = np.asarray(count_weights, dtype=self.compute_dtype)
            if count_weights.shape != inputs.shape:
                raise ConfigError(f"{layer_label(self)}: count_weights of shape "
                                  f"{count_weights.shape} do not match inputs of shape "
                                  f"{inputs.shape}")
        return encode_categorical(inputs.astype(np.int64), self.output_mode, self.num_tokens,
                                  self.compute_dtype, count_weights)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode}
