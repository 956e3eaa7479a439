"""Hashing and HashedCrossing: strings and integers into a fixed number of bins with
TensorFlow's string hashes (FarmHash Fingerprint64, or SipHash-2-4 under a `salt`;
modelio/kernels/hashing.py), as Keras 3 computes them."""

import numpy as np

from ...errors import ConfigError, UnsupportedError
from ...graph import Layer, SymbolicTensor, register_layer
from ...graph.dtypes import as_string_array
from ...kernels.categorical import encode_categorical, encoded_shape
from ...kernels.hashing import CROSS_HASH_KEY, cat_hashes, hash_strings
from ..arguments import check_bool, check_choice, check_int, layer_label
from ..encoding import check_encoding_rank

__all__ = ["HashedCrossing", "Hashing"]


def _utf8(values: np.ndarray) -> np.ndarray:
    """An object array of the UTF-8 bytes of each str."""
    flat = [value.encode("utf-8") for value in values.reshape(-1).tolist()]
    return np.array(flat + [None], dtype=object)[:-1].reshape(values.shape)


def hashable_bytes(layer, values: np.ndarray) -> np.ndarray:
    """What TensorFlow hashes for `values`: the UTF-8 bytes of strings, and `tf.as_string` of
    numbers (decimal integers, "true"/"false"; floats are truncated to int64 first, as Keras's
    Hashing does)."""
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)):
            raise ConfigError(f"{layer_label(layer)}: cannot hash NaN or infinite values")
        values = np.trunc(values).astype(np.int64)
    if values.dtype.kind == "b":  # tf.as_string writes booleans as words
        return _utf8(np.where(values, "true", "false"))
    if values.dtype.kind in "iu":
        return _utf8(values.astype(str))
    return _utf8(as_string_array(values, layer_label(layer)))


@register_layer()
class Hashing(Layer):
    """Hashes strings or numbers into `num_bins` bins: Fingerprint64 (or SipHash-2-4 keyed by
    `salt`) modulo the bins; `mask_value` takes bin 0 and shifts the others by one."""

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else "float32"
        super().__init__(**kwargs)
        cls = type(self)
        self.num_bins = check_int(num_bins, "num_bins", cls, self.name, minimum=1)
        self.output_mode = check_choice(output_mode, "output_mode",
                                        ("int", "one_hot", "multi_hot", "count"), cls, self.name)
        if self.output_mode == "int" and self.dtype_policy.name not in ("int32", "int64"):
            raise ConfigError(f"{layer_label(self)}: output_mode 'int' needs dtype int32 or "
                              f"int64, got {self.dtype_policy.name!r}")
        if check_bool(sparse, "sparse", cls, self.name):
            raise UnsupportedError(f"{layer_label(self)}: sparse outputs are not supported")
        self.sparse = False
        if mask_value is not None and not isinstance(mask_value, (str, int)) or isinstance(
                mask_value, bool):
            raise ConfigError(f"{layer_label(self)}: mask_value must be a string or an integer, "
                              f"got {mask_value!r}")
        self.mask_value = mask_value
        if salt is None:
            self.salt = None
        elif isinstance(salt, (list, tuple)) and len(salt) == 2 and all(
                isinstance(value, int) and not isinstance(value, bool) for value in salt):
            self.salt = [int(value) for value in salt]
        elif isinstance(salt, int) and not isinstance(salt, bool):
            self.salt = [salt, salt]
        else:
            raise ConfigError(f"{layer_label(self)}: salt must be an integer or a pair of "
                              f"integers, got {salt!r}")
        if self.salt is not None and not all(0 <= value < 2**63 for value in self.salt):
            raise UnsupportedError(f"{layer_label(self)}: salt {salt!r} is outside the int64 "
                                   f"range TensorFlow accepts")

    def compute_output_shape(self, input_shape):
        check_encoding_rank(self, input_shape, self.output_mode)
        if self.output_mode == "int":
            return tuple(input_shape)
        if not input_shape:
            return (self.num_bins,)
        return tuple(input_shape[:-1]) + (self.num_bins,)

    def compute_output_spec(self, inputs, **kwargs):
        return SymbolicTensor(self._checked_output_shape(inputs.shape), self.compute_dtype)

    def hash_bins(self, values: np.ndarray) -> np.ndarray:
        """The bin (int64) of each value."""
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            if values.dtype.kind in "iuf":
                mask = values == self.mask_value if isinstance(self.mask_value, int) else \
                    np.zeros(values.shape, bool)
            else:
                strings = as_string_array(values, layer_label(self))
                mask = strings == self.mask_value if isinstance(self.mask_value, str) else \
                    np.zeros(values.shape, bool)
        key = tuple(self.salt) if self.salt is not None else None
        hashed = hash_strings(hashable_bytes(self, values), key)
        out = (hashed % np.uint64(bins)).astype(np.int64)
        if mask is not None:
            out = np.where(mask, 0, out + 1)
        return out

    def call(self, inputs):
        if self.output_mode == "one_hot" and inputs.ndim and inputs.shape[-1] == 1:
            inputs = inputs.reshape(inputs.shape[:-1])
        return encode_categorical(self.hash_bins(inputs), self.output_mode, self.num_bins,
                                  self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt,
                "mask_value": self.mask_value, "output_mode": self.output_mode,
                "sparse": self.sparse}


@register_layer()
class HashedCrossing(Layer):
    """Crosses two or more categorical inputs (strings or integers of shape (), (batch,) or
    (batch, 1)) into `num_bins` bins, as `tf.sparse.cross_hashed` does: strings enter by their
    Fingerprint64, integers by value, combined with FingerprintCat64 from TensorFlow's key."""

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None,
                 **kwargs):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        cls = type(self)
        self.num_bins = check_int(num_bins, "num_bins", cls, self.name, minimum=1)
        self.output_mode = check_choice(output_mode, "output_mode", ("int", "one_hot"), cls,
                                        self.name)
        if check_bool(sparse, "sparse", cls, self.name):
            raise UnsupportedError(f"{layer_label(self)}: sparse outputs are not supported")
        self.sparse = False

    def _check_shapes(self, shapes) -> tuple:
        if not isinstance(shapes, (list, tuple)) or len(shapes) < 2 or not all(
                isinstance(shape, (list, tuple)) for shape in shapes):
            raise ConfigError(f"{layer_label(self)} is called on a list of at least two inputs")
        first = tuple(shapes[0])
        if len(first) > 2 or (len(first) == 2 and first[-1] != 1):
            raise ConfigError(f"{layer_label(self)}: inputs must have shape (), (batch,) or "
                              f"(batch, 1), got {first}")
        if any(tuple(shape) != first for shape in shapes[1:]):
            raise ConfigError(f"{layer_label(self)}: all inputs must have the same shape, got "
                              f"{[tuple(shape) for shape in shapes]}")
        return first

    def compute_output_shape(self, input_shape):
        first = self._check_shapes(input_shape)
        return encoded_shape(first, self.output_mode, self.num_bins)

    def compute_output_spec(self, inputs, **kwargs):
        return SymbolicTensor(self._checked_output_shape([tensor.shape for tensor in inputs]),
                              self.compute_dtype)

    def cross_bins(self, inputs: list) -> np.ndarray:
        """The crossed bin (int64) of each row."""
        combined = None
        for values in inputs:
            if values.dtype.kind in "iub":
                feature = values.astype(np.int64).view(np.uint64)
            elif values.dtype.kind == "f":
                raise ConfigError(f"{layer_label(self)}: inputs must be integers or strings, got "
                                  f"{values.dtype}")
            else:
                feature = hash_strings(_utf8(as_string_array(values, layer_label(self))))
            if combined is None:
                combined = np.full(feature.shape, CROSS_HASH_KEY, dtype=np.uint64)
            combined = cat_hashes(combined, feature)
        return (combined % np.uint64(self.num_bins)).astype(np.int64)

    def call(self, inputs):
        self._check_shapes([value.shape for value in inputs])
        return encode_categorical(self.cross_bins(list(inputs)), self.output_mode, self.num_bins,
                                  self.compute_dtype)

    def get_config(self) -> dict:
        return {"num_bins": self.num_bins, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name, "dtype": self.dtype_policy.name}
