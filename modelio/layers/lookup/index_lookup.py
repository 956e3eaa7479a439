"""IntegerLookup and StringLookup: tokens to indices (or back, `invert=True`) through a fixed
vocabulary, with Keras 3's mask token, OOV indices (floormod or FarmHash / salted SipHash
buckets) and output modes int, one_hot, multi_hot, count and tf_idf.

Indices: `[mask]` (output_mode "int" with a mask token), then `num_oov_indices` OOV indices, then
the vocabulary. The vocabulary comes from the config (`vocabulary`, written inline by Keras when
the layer was given one) or from the `.keras` archive's `assets/.../vocabulary.txt` (an adapted
layer; see `load_assets`); tf_idf weights are the layer's variable `idf_weights`.
"""

import numbers

import numpy as np

from ...errors import ConfigError, ModelioError, UnsupportedError
from ...graph import Layer, SymbolicTensor, register_layer
from ...graph.dtypes import STRING_DTYPE
from ...kernels.categorical import encode_categorical, encoded_shape
from ...kernels.hashing import hash_strings
from ..arguments import check_bool, check_choice, check_int, layer_label
from ..encoding import check_encoding_rank
from .vocabulary import (
    VOCABULARY_FILE,
    TokenTable,
    format_vocabulary_asset,
    integer_values,
    parse_vocabulary_asset,
    string_values,
)

__all__ = ["IntegerLookup", "StringLookup"]

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
_INT64_MAX = np.iinfo(np.int64).max


def _salt(layer, salt):
    if salt is None:
        return None
    if isinstance(salt, (list, tuple)) and len(salt) == 2 and all(
            isinstance(value, int) and not isinstance(value, bool) for value in salt):
        pair = [int(value) for value in salt]
    elif isinstance(salt, int) and not isinstance(salt, bool):
        pair = [salt, salt]
    else:
        raise ConfigError(f"{layer_label(layer)}: salt must be an integer or a pair of integers, "
                          f"got {salt!r}")
    if not all(0 <= value < 2**63 for value in pair):
        raise UnsupportedError(f"{layer_label(layer)}: salt {salt!r} is outside the int64 range "
                               f"TensorFlow accepts")
    return pair


class IndexLookup(Layer):
    """The shared machinery of IntegerLookup and StringLookup (Keras's IndexLookup)."""

    is_string = False

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=None,
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 sparse=False, pad_to_max_tokens=False, oov_method="floormod", salt=None,
                 vocabulary_size=None, has_input_vocabulary=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        self.output_mode = check_choice(output_mode, "output_mode", OUTPUT_MODES, cls, self.name)
        if max_tokens is not None:
            check_int(max_tokens, "max_tokens", cls, self.name, minimum=2)
        self.max_tokens = max_tokens
        self.num_oov_indices = check_int(num_oov_indices, "num_oov_indices", cls, self.name,
                                         minimum=0)
        self.invert = check_bool(invert, "invert", cls, self.name)
        self.pad_to_max_tokens = check_bool(pad_to_max_tokens, "pad_to_max_tokens", cls,
                                            self.name)
        if self.pad_to_max_tokens and max_tokens is None:
            raise ConfigError(f"{layer_label(self)}: pad_to_max_tokens needs max_tokens")
        if check_bool(sparse, "sparse", cls, self.name):
            raise UnsupportedError(f"{layer_label(self)}: sparse outputs are not supported")
        self.sparse = False
        self.oov_method = check_choice(oov_method, "oov_method", ("floormod", "farmhash"), cls,
                                       self.name)
        self.salt = _salt(self, salt)
        if self.invert and self.output_mode != "int":
            raise ConfigError(f"{layer_label(self)}: invert=True needs output_mode 'int'")
        if idf_weights is not None and self.output_mode != "tf_idf":
            raise ConfigError(f"{layer_label(self)}: idf_weights are only used with output_mode "
                              f"'tf_idf'")
        self.mask_token = self._token(mask_token, "mask_token")
        self.oov_token = self._token(oov_token, "oov_token")
        if isinstance(vocabulary, str):
            raise UnsupportedError(f"{layer_label(self)}: a vocabulary file path ({vocabulary!r}) "
                                   f"is not read: only a vocabulary inside the config or the "
                                   f".keras archive's assets is")
        self.input_vocabulary = None if vocabulary is None else list(vocabulary)
        self.input_idf_weights = None if idf_weights is None else list(idf_weights)
        if vocabulary_size is not None:
            check_int(vocabulary_size, "vocabulary_size", cls, self.name, minimum=0)
        self._frozen_vocabulary_size = vocabulary_size
        self.has_input_vocabulary = vocabulary is not None
        if self.output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ConfigError(f"{layer_label(self)}: output_mode 'tf_idf' with a vocabulary needs "
                              f"idf_weights")
        self.table = None
        self.idf_weights = None
        self._idf_initial = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ----- tokens and indices -------------------------------------------------------------------
    def _token(self, value, argument: str):
        if value is None:
            return None
        if self.is_string:
            if not isinstance(value, str):
                raise ConfigError(f"{layer_label(self)}: {argument} must be a string, got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ConfigError(f"{layer_label(self)}: {argument} must be an integer, got {value!r}")
        return int(value)

    def _values(self, values) -> np.ndarray:
        what = layer_label(self)
        return string_values(values, what) if self.is_string else integer_values(values, what)

    @property
    def oov_start(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    @property
    def token_start(self) -> int:
        return self.oov_start + self.num_oov_indices

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Set the tokens (special tokens at the start are recognised and skipped, as Keras
        does) and, for tf_idf, the idf weights of the tokens."""
        if isinstance(vocabulary, np.ndarray):
            vocabulary = vocabulary.tolist()
        if not isinstance(vocabulary, (list, tuple)) or not vocabulary:
            raise ConfigError(f"{layer_label(self)}: the vocabulary must be a non-empty list, got "
                              f"{str(vocabulary)[:80]}")
        for token in vocabulary:
            self._token(token, "every vocabulary entry")
        special = [self.mask_token] * self.oov_start + [self.oov_token] * self.num_oov_indices
        found_special = list(vocabulary[:self.token_start]) == special
        tokens = list(vocabulary[self.token_start:] if found_special else vocabulary)
        if len(set(tokens)) != len(tokens):
            raise ConfigError(f"{layer_label(self)}: the vocabulary repeats a token")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ConfigError(f"{layer_label(self)}: the mask token {self.mask_token!r} appears "
                              f"inside the vocabulary")
        if self.invert and self.oov_token is not None and self.oov_token in tokens:
            raise ConfigError(f"{layer_label(self)}: the OOV token {self.oov_token!r} appears "
                              f"inside the vocabulary of an inverted lookup")
        size = self.token_start + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ConfigError(f"{layer_label(self)}: a vocabulary of size {size} exceeds "
                              f"max_tokens={self.max_tokens}")
        if (self._frozen_vocabulary_size is not None and self.output_mode != "int"
                and not self.pad_to_max_tokens and size != self._frozen_vocabulary_size):
            raise ConfigError(f"{layer_label(self)}: the vocabulary has size {size}, the config "
                              f"says vocabulary_size={self._frozen_vocabulary_size}")
        array = (np.array(tokens, dtype=str) if self.is_string
                 else np.array(tokens, dtype=np.int64))
        self.table = TokenTable(array, self.token_start)
        self._frozen_vocabulary_size = size
        if self.output_mode == "tf_idf" and idf_weights is not None:
            self._idf_initial = self._padded_idf(idf_weights, found_special, len(vocabulary))

    def _padded_idf(self, idf_weights, found_special: bool, count: int) -> np.ndarray:
        weights = np.asarray(idf_weights, dtype=np.float64)
        if weights.ndim != 1 or len(weights) != count:
            raise ConfigError(f"{layer_label(self)}: idf_weights must be a list as long as the "
                              f"vocabulary ({count}), got {len(weights)} value(s)")
        front = 0 if found_special else self.token_start
        back = (self.max_tokens - front - len(weights)) if self.pad_to_max_tokens else 0
        front_value = 0.0 if found_special else float(np.mean(weights))
        padded = np.concatenate([np.full(front, front_value), weights, np.zeros(back)])
        return padded.astype(np.float32)

    def vocabulary_size(self) -> int | None:
        """The number of indices: special ones and the tokens (None before a vocabulary)."""
        if self.table is None:
            return self._frozen_vocabulary_size
        return self.token_start + len(self.table)

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        self._require_vocabulary()
        special = ([self.mask_token] if self.oov_start else []) + \
            [self.oov_token] * self.num_oov_indices
        tokens = self.table.tokens.tolist()
        return special + tokens if include_special_tokens else tokens

    def _require_vocabulary(self) -> None:
        if self.table is None:
            raise ModelioError(f"{layer_label(self)} has no vocabulary: it was adapted in Keras and "
                               f"its vocabulary lives in the .keras archive's assets, which were "
                               f"not loaded (load the .keras file, or call set_vocabulary)")

    @property
    def depth(self) -> int:
        """The width of one_hot / multi_hot / count / tf_idf outputs."""
        if self.pad_to_max_tokens:
            return self.max_tokens
        size = self.vocabulary_size()
        if size is None:
            raise ConfigError(f"{layer_label(self)}: output_mode {self.output_mode!r} needs a "
                              f"vocabulary or vocabulary_size")
        return size

    # ----- assets and variables -----------------------------------------------------------------
    def asset_names(self) -> tuple:
        """The asset files this layer reads and writes (none when the vocabulary is inline)."""
        return () if self.has_input_vocabulary else (VOCABULARY_FILE,)

    def load_assets(self, files: dict, where: str) -> None:
        """Set the vocabulary from the `vocabulary.txt` asset bytes in `files` (Keras's
        `load_assets`); `where` names the archive member in errors."""
        if self.has_input_vocabulary:
            return
        if VOCABULARY_FILE not in files:
            raise ModelioError(f"{where}: {layer_label(self)} was adapted in Keras but the archive "
                               f"holds no {VOCABULARY_FILE} for it")
        tokens = parse_vocabulary_asset(files[VOCABULARY_FILE], self.is_string, where)
        idf = None
        if self.output_mode == "tf_idf":
            idf = self.idf_weights.value.copy() if self.idf_weights is not None else None
            if idf is None or len(idf) < len(tokens):
                raise ModelioError(f"{where}: {layer_label(self)} needs idf_weights for its "
                                   f"{len(tokens)} vocabulary entries")
            idf = idf[:len(tokens)]
        try:
            self.set_vocabulary(tokens, idf)
        except ConfigError as exc:
            raise ModelioError(f"{where}: {exc}") from exc
        if idf is not None and self.idf_weights is not None:
            self._idf_initial = None  # the loaded variable stays as stored

    def save_assets(self) -> dict:
        """The asset files Keras's `save_assets` writes for this layer (name -> bytes)."""
        if self.has_input_vocabulary:
            return {}
        return {VOCABULARY_FILE: format_vocabulary_asset(self.get_vocabulary())}

    def build(self, input_shape):
        if self.output_mode == "tf_idf":
            value = self._idf_initial
            if value is None:
                value = np.zeros(self.depth, np.float32)
            self.idf_weights = self.add_weight("idf_weights", value.shape, trainable=False)
            self.idf_weights.assign(value)

    def keras3_weight_groups(self):
        """Keras stores the tf_idf weights under the name `idf_weights`, not `0`."""
        if self.idf_weights is None:
            return [("", [])]
        return [("", [self.idf_weights], None, ("idf_weights",))]

    # ----- computing ----------------------------------------------------------------------------
    @property
    def output_dtype(self) -> str:
        if self.invert:
            return STRING_DTYPE if self.is_string else "int64"
        return "float32" if self.output_mode == "tf_idf" else "int64"

    def compute_output_shape(self, input_shape):
        check_encoding_rank(self, input_shape, self.output_mode)
        if self.output_mode == "int":
            return tuple(input_shape)
        return encoded_shape(input_shape, self.output_mode, self.depth)

    def compute_output_spec(self, inputs, **kwargs):
        return SymbolicTensor(self._checked_output_shape(inputs.shape), self.output_dtype)

    def lookup_indices(self, values: np.ndarray) -> np.ndarray:
        """int64 indices of `values` (already in the vocabulary dtype): mask, OOV, tokens."""
        self._require_vocabulary()
        indices, found = self.table.lookup(values)
        if self.num_oov_indices == 0:
            if not found.all():
                missing = values[~found].reshape(-1)[:5].tolist()
                raise ModelioError(f"{layer_label(self)}: with num_oov_indices=0 every input must "
                                   f"be in the vocabulary; found {missing}")
        elif self.num_oov_indices == 1:
            indices = np.where(found, indices, self.oov_start)
        else:
            indices = np.where(found, indices, self.oov_buckets(values) + self.oov_start)
        if self.mask_token is not None:
            mask_value = 0 if self.output_mode == "int" else _INT64_MAX
            indices = np.where(values == self.mask_token, mask_value, indices)
        return indices.astype(np.int64)

    def oov_buckets(self, values: np.ndarray) -> np.ndarray:
        """The OOV bucket (0 .. num_oov_indices-1) of each value."""
        count = self.num_oov_indices
        if not self.is_string and self.oov_method == "floormod":
            return np.mod(values, count)
        text = values.astype(str) if not self.is_string else values
        encoded = np.array([item.encode("utf-8") for item in text.reshape(-1)] + [None],
                           dtype=object)[:-1].reshape(values.shape)
        key = tuple(self.salt) if self.salt is not None else None
        return (hash_strings(encoded, key) % np.uint64(count)).astype(np.int64)

    def invert_indices(self, values: np.ndarray) -> np.ndarray:
        """Tokens for int64 indices (mask index -> mask token, unknown -> OOV token)."""
        self._require_vocabulary()
        tokens = self.table.tokens
        position = values - self.token_start
        known = (position >= 0) & (position < len(tokens))
        if self.is_string:
            out = np.full(values.shape, self.oov_token if self.oov_token is not None else "",
                          dtype=object)
            out[known] = tokens.astype(object)[position[known]]
        else:
            out = np.full(values.shape, -1 if self.oov_token is None else self.oov_token,
                          dtype=np.int64)
            out[known] = tokens[position[known]]
        if self.mask_token is not None:
            out[values == 0] = self.mask_token
        return out

    def call(self, inputs):
        if self.invert:
            return self.invert_indices(integer_values(inputs, layer_label(self)))
        return self.encode(self.lookup_indices(self._values(inputs)))

    def encode(self, indices: np.ndarray) -> np.ndarray:
        """Looked-up indices in the layer's output mode."""
        if self.output_mode == "int":
            return indices
        if self.output_mode == "tf_idf":
            counts = encode_categorical(indices, "count", self.depth, np.float32)
            return (counts * self.idf_weights.value.astype(np.float32)).astype(np.float32)
        return encode_categorical(indices, self.output_mode, self.depth, np.int64)

    def get_config(self) -> dict:
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode,
                "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                "idf_weights": self.input_idf_weights, "vocabulary": self.input_vocabulary,
                "vocabulary_size": self.vocabulary_size(), "oov_method": self.oov_method,
                "salt": self.salt}


@register_layer()
class StringLookup(IndexLookup):
    """Strings to indices (or indices to strings with invert=True), Keras's StringLookup."""

    is_string = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", name=None, salt=None,
                 **kwargs):
        if encoding not in ("utf-8", "UTF-8", "utf8"):
            raise UnsupportedError(f"layer '{name}' (StringLookup): encoding {encoding!r} is not "
                                   f"supported (modelio reads UTF-8 text)")
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, **kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), "encoding": self.encoding}


@register_layer()
class IntegerLookup(IndexLookup):
    """int64 ids to indices (or back with invert=True), Keras's IntegerLookup."""

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", salt=None, name=None, **kwargs):
        if vocabulary_dtype != "int64":
            raise ConfigError(f"layer '{name}' (IntegerLookup): vocabulary_dtype must be 'int64', "
                              f"got {vocabulary_dtype!r}")
        if salt is not None and oov_method != "farmhash":
            raise ConfigError(f"layer '{name}' (IntegerLookup): salt needs oov_method 'farmhash'")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
                         oov_method=oov_method, salt=salt, name=name, **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config["vocabulary_dtype"] = "int64"
        return config
