"""TextVectorization: strings to token indices (or one_hot / multi_hot / count / tf_idf vectors)
through Keras's standardize -> split -> ngrams -> StringLookup pipeline.

Standardization is TensorFlow's: `tf.strings.lower` lowercases ASCII letters only, and
"strip_punctuation" deletes the 32 ASCII punctuation characters. "whitespace" splits on ASCII
whitespace (" \\t\\n\\v\\f\\r"), "character" into Unicode code points. A callable or custom
(registered) standardize or split is refused by name.
"""

import re

import numpy as np

from ...errors import ConfigError, ModelioError, UnsupportedError
from ...graph import Layer, SymbolicTensor, register_layer
from ...graph.dtypes import as_string_array
from ..arguments import check_bool, check_choice, check_int, layer_label
from .index_lookup import OUTPUT_MODES, StringLookup

__all__ = ["TextVectorization"]

STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT = ("whitespace", "character")
# TensorFlow's regex class in Keras: the ASCII punctuation characters.
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_STRIP = str.maketrans("", "", PUNCTUATION)
LOOKUP_CHILD = "_lookup_layer"
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")


def _named_choice(layer_name, value, argument: str, choices: tuple):
    if value is None or (isinstance(value, str) and value in choices):
        return value
    if isinstance(value, str):
        raise ConfigError(f"layer '{layer_name}' (TextVectorization): {argument} must be one of "
                          f"{', '.join(map(repr, choices))} or null, got {value!r}")
    name = value.get("config", value.get("class_name")) if isinstance(value, dict) else value
    raise UnsupportedError(f"layer '{layer_name}' (TextVectorization): a custom {argument} "
                           f"({str(name)[:60]}) is not supported; modelio computes "
                           f"{', '.join(map(repr, choices))} and null")


def ngram_tokens(tokens: list, widths: tuple) -> list:
    """`tf.strings.ngrams(tokens, widths, separator=" ")`: for each width in order, every run of
    that many consecutive tokens joined by a space (none when the row is shorter)."""
    out = []
    for width in widths:
        out.extend(" ".join(tokens[i:i + width]) for i in range(len(tokens) - width + 1))
    return out


@register_layer()
class TextVectorization(Layer):
    """Keras's TextVectorization at inference: standardize, split, ngrams, then a StringLookup
    with mask token "" (index 0 pads int outputs)."""

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int", output_sequence_length=None,
                 pad_to_max_tokens=False, vocabulary=None, idf_weights=None, sparse=False,
                 ragged=False, encoding="utf-8", name=None, vocabulary_size=None, **kwargs):
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", None)
        super().__init__(name=name, **kwargs)
        cls = type(self)
        self.standardize = _named_choice(self.name, standardize, "standardize", STANDARDIZE)
        self.split = _named_choice(self.name, split, "split", SPLIT)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        self.output_mode = check_choice(output_mode, "output_mode", OUTPUT_MODES, cls, self.name)
        if ngrams is None:
            self.ngrams_widths = None
        elif isinstance(ngrams, int) and not isinstance(ngrams, bool):
            check_int(ngrams, "ngrams", cls, self.name, minimum=1)
            self.ngrams_widths = tuple(range(1, ngrams + 1))
        elif isinstance(ngrams, (list, tuple)) and ngrams and all(
                isinstance(width, int) and not isinstance(width, bool) and width >= 1
                for width in ngrams):
            self.ngrams_widths = tuple(ngrams)
        else:
            raise ConfigError(f"{layer_label(self)}: ngrams must be null, an integer or a list of "
                              f"positive integers, got {ngrams!r}")
        self.ngrams = list(ngrams) if isinstance(ngrams, (list, tuple)) else ngrams
        if output_sequence_length is not None:
            if self.output_mode != "int":
                raise ConfigError(f"{layer_label(self)}: output_sequence_length needs output_mode "
                                  f"'int'")
            check_int(output_sequence_length, "output_sequence_length", cls, self.name, minimum=0)
        self.output_sequence_length = output_sequence_length
        if check_bool(ragged, "ragged", cls, self.name):
            raise UnsupportedError(f"{layer_label(self)}: ragged outputs are not supported")
        self.ragged = False
        self.encoding = encoding
        self.lookup = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            sparse=sparse, encoding=encoding, vocabulary_size=vocabulary_size,
            name=f"{self.name}_lookup")
        if has_input_vocabulary is not None:
            self.lookup.has_input_vocabulary = bool(has_input_vocabulary)

    # ----- the lookup's vocabulary, assets and variables ----------------------------------------
    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        return self.lookup.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self.lookup.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        self.lookup.set_vocabulary(vocabulary, idf_weights)

    # Keras 3 saves the inner StringLookup as a child object `_lookup_layer`: its vocabulary.txt
    # and idf_weights are stored twice, for the layer and under `_lookup_layer/`.
    def asset_names(self) -> tuple:
        return tuple(name for own in self.lookup.asset_names()
                     for name in (own, f"{LOOKUP_CHILD}/{own}"))

    def load_assets(self, files: dict, where: str) -> None:
        own = {name: data for name, data in files.items() if "/" not in name}
        for name, data in files.items():
            if name.startswith(f"{LOOKUP_CHILD}/"):
                own.setdefault(name[len(LOOKUP_CHILD) + 1:], data)
        self.lookup.load_assets(own, where)

    def save_assets(self) -> dict:
        files = self.lookup.save_assets()
        return {**files, **{f"{LOOKUP_CHILD}/{name}": data for name, data in files.items()}}

    def build(self, input_shape):
        self.lookup._maybe_build(input_shape)

    @property
    def weights(self):
        return self.lookup.weights

    def keras3_weight_groups(self):
        own = self.lookup.keras3_weight_groups()[0]
        child = (LOOKUP_CHILD, *own[1:2], "string_lookup", *own[3:])
        return [own, child]

    # ----- computing ----------------------------------------------------------------------------
    @property
    def output_dtype(self) -> str:
        return self.lookup.output_dtype

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.split is not None and len(input_shape) > 1 and input_shape[-1] not in (1, None):
            raise ConfigError(f"{layer_label(self)}: to split strings the input must have rank 1 "
                              f"or a last dimension of 1, got {input_shape}")
        if len(input_shape) > 2:
            raise UnsupportedError(f"{layer_label(self)} takes inputs of rank 1 or 2, got "
                                   f"{input_shape}")
        if self.output_mode == "int":
            return (input_shape[0] if input_shape else None, self.output_sequence_length)
        if self.split is None and self.ngrams_widths is None:
            if len(input_shape) <= 1:
                input_shape = input_shape + (1,)
        else:
            input_shape = input_shape[:1] + (None,)
        return self.lookup.compute_output_shape(input_shape)

    def compute_output_spec(self, inputs, **kwargs):
        return SymbolicTensor(self._checked_output_shape(inputs.shape), self.output_dtype)

    def standardized(self, texts: np.ndarray) -> np.ndarray:
        """`texts` (a `<U` array) after the configured standardization."""
        if texts.size == 0:
            return texts
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            texts = np.char.translate(texts, _LOWER)
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            texts = np.char.translate(texts, _STRIP)
        return texts

    def tokens(self, texts: np.ndarray) -> list:
        """The token list of each text (rows of a 1-D array). Splitting gives every text its own
        number of tokens, so it runs per text in Python."""
        if self.split == "whitespace":
            rows = [[token for token in _WHITESPACE.split(text) if token] for text in texts]
        elif self.split == "character":
            rows = [list(text) for text in texts]
        else:
            rows = [list(row) for row in texts]
        if self.ngrams_widths is not None:
            rows = [ngram_tokens(row, self.ngrams_widths) for row in rows]
        return rows

    def call(self, inputs):
        if self.lookup.table is None:
            raise ModelioError(f"{layer_label(self)} has no vocabulary: it was adapted in Keras "
                               f"and its vocabulary lives in the .keras archive's assets, which "
                               f"were not loaded (load the .keras file, or call set_vocabulary)")
        texts = as_string_array(inputs, layer_label(self))
        texts = np.array(texts.tolist(), dtype=str).reshape(texts.shape) if texts.size else \
            np.zeros(texts.shape, dtype="<U1")
        texts = self.standardized(texts)
        if self.split is None and self.ngrams_widths is None:
            out = self.lookup.encode(self.lookup.lookup_indices(texts))
            width = self.output_sequence_length
            if self.output_mode == "int" and width is not None and out.ndim:
                out = out[..., :width]
                pad = [(0, 0)] * (out.ndim - 1) + [(0, width - out.shape[-1])]
                out = np.pad(out, pad)
            return out
        if self.split is not None and texts.ndim == 2:
            texts = texts.reshape(texts.shape[0])
        if self.split is None and texts.ndim == 1:
            texts = texts.reshape(-1, 1)
        rows = self.tokens(texts)
        lengths = np.array([len(row) for row in rows], dtype=np.int64)
        flat = np.array([token for row in rows for token in row] or [""], dtype=str)
        flat = flat[:int(lengths.sum())]
        indices = self.lookup.lookup_indices(flat)
        row_ids = np.repeat(np.arange(len(rows)), lengths)
        if self.output_mode == "int":
            width = self.output_sequence_length
            if width is None:
                width = int(lengths.max()) if len(lengths) else 0
            column = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            keep = column < width
            out = np.zeros((len(rows), width), dtype=np.int64)
            out[row_ids[keep], column[keep]] = indices[keep]
            return out
        if self.output_mode == "one_hot":
            raise UnsupportedError(f"{layer_label(self)}: output_mode 'one_hot' with split or "
                                   f"ngrams gives ragged outputs in Keras; not supported")
        # multi_hot / count / tf_idf: every row's indices, counted into its own slots
        depth = self.lookup.depth
        valid = (indices >= 0) & (indices < depth)
        slots = row_ids[valid] * depth + indices[valid]
        counts = np.bincount(slots, minlength=len(rows) * depth).reshape(len(rows), depth)
        if self.output_mode == "multi_hot":
            return (counts > 0).astype(np.int64)
        if self.output_mode == "count":
            return counts.astype(np.int64)
        return (counts.astype(np.float32)
                * self.lookup.idf_weights.value.astype(np.float32)).astype(np.float32)

    def get_config(self) -> dict:
        lookup = self.lookup
        return {**super().get_config(), "max_tokens": lookup.max_tokens,
                "standardize": self.standardize, "split": self.split, "ngrams": self.ngrams,
                "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length,
                "pad_to_max_tokens": lookup.pad_to_max_tokens, "sparse": lookup.sparse,
                "ragged": self.ragged, "vocabulary": lookup.input_vocabulary,
                "idf_weights": lookup.input_idf_weights, "encoding": self.encoding,
                "vocabulary_size": self.vocabulary_size()}
