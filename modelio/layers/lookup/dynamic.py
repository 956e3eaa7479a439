"""tf-keras's `experimental.DynamicLookup` and `experimental.DynamicEmbedding`
(tf_keras/src/layers/experimental/dynamic_lookup.py, dynamic_embedding.py) at inference.

DynamicLookup holds a vocabulary (int32, int64 or string tokens, the weight `vocabulary`) and
returns, for every input, the int64 index of its first occurrence in the vocabulary, or
`vocabulary_size` for a token it does not hold (also when the vocabulary is shorter than
`vocabulary_size`). DynamicEmbedding looks those indices up in an embedding table of
`input_dim + num_oov_indices` rows (so every unknown token takes row `input_dim`).

In training tf-keras counts token frequencies in two more weights (`vocabulary_table_keys`,
`vocabulary_table_values`, `floor(1.2 * vocabulary_size)` long, padded with -1 / "unk") and an
`UpdateEmbeddingCallback` replaces the vocabulary with the most frequent tokens (LFU). modelio
never trains: it keeps those weights as stored and the lookup reads only `vocabulary`.

Weights, in tf-keras's order: DynamicLookup `vocabulary_table_keys`, `vocabulary_table_values`,
`vocabulary`; DynamicEmbedding `embeddings` (trainable) first, then the three above.

Configs as tf-keras writes them: `initial_vocabulary` is the token list. DynamicEmbedding's
`get_config()` writes `input_dim` as the embedding's row count (`input_dim + num_oov_indices`),
so `from_config` takes that many rows back (tf-keras's own `from_config` fails on these configs
altogether: its constructor refuses a list for `initial_vocabulary`).
"""

import numbers
import random
import string

import numpy as np

from ...errors import ConfigError, UnsupportedError
from ...graph import Layer, SymbolicTensor, register_layer
from ...graph.dtypes import STRING_DTYPE
from ..arguments import check_int, layer_label
from ..initializers import get_initializer
from .vocabulary import TokenTable, integer_values, string_values

__all__ = ["DynamicEmbedding", "DynamicLookup"]

VOCABULARY_DTYPES = ("int32", "int64", STRING_DTYPE)
EVICTION_POLICIES = ("LFU",)
STRING_PADDING = "unk"
INTEGER_PADDING = -1


def table_size(vocabulary_size: int) -> int:
    """tf-keras's frequency-table length: floor(vocabulary_size * 1.2) computed in float32."""
    return int(np.floor(np.float32(vocabulary_size) * np.float32(1.2)))


def _random_vocabulary(size: int, dtype: str) -> list:
    """What tf-keras draws when given a dtype instead of tokens: 10 random ASCII letters per
    string token, or integers in [0, size). The lookup uses the stored weight anyway."""
    if dtype == STRING_DTYPE:
        return ["".join(random.choice(string.ascii_letters) for _ in range(10))
                for _ in range(size)]
    return np.random.default_rng().integers(0, max(size, 1), size).tolist()


def _check_vocabulary(owner, initial_vocabulary, size: int) -> tuple[list, str]:
    """(the token list, its dtype name) from a token list or one of the dtype names."""
    if isinstance(initial_vocabulary, str):
        if initial_vocabulary not in VOCABULARY_DTYPES:
            raise ConfigError(f"{owner}: initial_vocabulary must be a list of tokens or one of "
                              f"{list(VOCABULARY_DTYPES)}, got {initial_vocabulary!r}")
        return _random_vocabulary(size, initial_vocabulary), (
            "int64" if initial_vocabulary != STRING_DTYPE else STRING_DTYPE)
    if isinstance(initial_vocabulary, np.ndarray):
        initial_vocabulary = initial_vocabulary.tolist()
    if not isinstance(initial_vocabulary, (list, tuple)):
        raise ConfigError(f"{owner}: initial_vocabulary must be a list of tokens or one of "
                          f"{list(VOCABULARY_DTYPES)}, got {type(initial_vocabulary).__name__}")
    tokens = list(initial_vocabulary)
    if not tokens:
        raise ConfigError(f"{owner}: initial_vocabulary is empty (tf-keras cannot look up in an "
                          f"empty vocabulary: it would be float32)")
    if all(isinstance(token, str) for token in tokens):
        return tokens, STRING_DTYPE
    if all(isinstance(token, numbers.Integral) and not isinstance(token, bool)
           for token in tokens):
        if not all(-2**63 <= int(token) < 2**63 for token in tokens):
            raise ConfigError(f"{owner}: initial_vocabulary holds integers outside int64")
        return [int(token) for token in tokens], "int64"
    raise ConfigError(f"{owner}: initial_vocabulary must hold only strings or only integers, "
                      f"got {tokens[:5]!r}")


@register_layer()
class DynamicLookup(Layer):
    """Tokens to their index in the stored vocabulary; unknown tokens to `vocabulary_size`."""

    _keras_module = "keras.layers.experimental"

    def __init__(self, vocabulary_size, initial_vocabulary, eviction_policy="LFU", **kwargs):
        super().__init__(**kwargs)
        cls = type(self)
        self.vocabulary_size = check_int(vocabulary_size, "vocabulary_size", cls, self.name,
                                         minimum=1)
        if eviction_policy not in EVICTION_POLICIES:
            raise ConfigError(f"{layer_label(self)}: eviction_policy must be 'LFU' (the only "
                              f"policy tf-keras has), got {eviction_policy!r}")
        self.eviction_policy = eviction_policy
        self.initial_vocabulary, self.vocabulary_dtype = _check_vocabulary(
            layer_label(self), initial_vocabulary, self.vocabulary_size)

    @property
    def is_string(self) -> bool:
        return self.vocabulary_dtype == STRING_DTYPE

    @property
    def oov_index(self) -> int:
        return self.vocabulary_size

    def build(self, input_shape):
        self.add_vocabulary_weights(self)

    def add_vocabulary_weights(self, owner: Layer) -> None:
        """The frequency table and `vocabulary` weights, created on `owner` (this layer, or the
        DynamicEmbedding holding it) in tf-keras's order."""
        size = table_size(self.vocabulary_size)
        numpy_dtype = object if self.is_string else np.int64
        padding = STRING_PADDING if self.is_string else INTEGER_PADDING
        tokens = np.array(self.initial_vocabulary + [padding] * size, dtype=numpy_dtype)
        dtype = "object" if self.is_string else "int64"

        def fill(values):
            return lambda shape, _dtype: np.array(values, dtype=numpy_dtype)

        self.table_keys = owner.add_weight("vocabulary_table_keys", (size,), fill(tokens[:size]),
                                           dtype=dtype, trainable=False)
        counts = np.array([0] * len(self.initial_vocabulary) + [INTEGER_PADDING] * size)[:size]
        self.table_values = owner.add_weight("vocabulary_table_values", (size,),
                                             lambda shape, _dtype: counts.astype(np.int32),
                                             dtype="int32", trainable=False)
        self.vocabulary = owner.add_weight("vocabulary", (len(self.initial_vocabulary),),
                                           fill(self.initial_vocabulary), dtype=dtype,
                                           trainable=False)

    def current_vocabulary(self) -> np.ndarray:
        """The stored tokens: a `<U` array of str or an int64 array."""
        value = self.vocabulary.value
        if self.is_string:
            return string_values(value, layer_label(self))
        return integer_values(value, layer_label(self))

    def checked_inputs(self, inputs) -> np.ndarray:
        label = layer_label(self)
        array = np.asarray(inputs) if not isinstance(inputs, np.ndarray) else inputs
        if self.is_string:
            if array.dtype.kind in "iufb":
                raise ConfigError(f"{label} holds a string vocabulary and expects string inputs, "
                                  f"got {array.dtype}")
            return string_values(array, label)
        if array.dtype.kind in "USTO":
            raise ConfigError(f"{label} holds an integer vocabulary and expects integer inputs, "
                              f"got strings")
        return integer_values(array, label)

    def lookup(self, inputs) -> np.ndarray:
        """int64 index of each input's first occurrence in the vocabulary, else the OOV index."""
        values = self.checked_inputs(inputs)
        indices, found = TokenTable(self.current_vocabulary(), 0).lookup(values)
        return np.where(found, indices, self.oov_index).astype(np.int64)

    def call(self, inputs):
        return self.lookup(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_output_spec(self, inputs, **kwargs):
        return SymbolicTensor(tuple(inputs.shape), "int64")

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "initial_vocabulary": list(self.initial_vocabulary),
                "eviction_policy": self.eviction_policy}


@register_layer()
class DynamicEmbedding(Layer):
    """A DynamicLookup of `input_dim` tokens feeding an embedding table of
    `input_dim + num_oov_indices` rows."""

    _keras_module = "keras.layers.experimental"

    def __init__(self, input_dim, output_dim, initial_vocabulary, eviction_policy="LFU",
                 input_length=None, embedding_initializer="uniform", num_oov_indices=1,
                 **kwargs):
        super().__init__(**kwargs)
        cls = type(self)
        self.input_dim = check_int(input_dim, "input_dim", cls, self.name, minimum=1)
        self.output_dim = check_int(output_dim, "output_dim", cls, self.name, minimum=1)
        self.num_oov_indices = check_int(num_oov_indices, "num_oov_indices", cls, self.name,
                                         minimum=0)
        if self.num_oov_indices == 0:
            raise UnsupportedError(f"{layer_label(self)}: num_oov_indices=0 leaves no embedding "
                                   f"row for the OOV index {self.input_dim} (tf-keras fails on "
                                   f"the first unknown token)")
        if input_length is not None:
            check_int(input_length, "input_length", cls, self.name, minimum=1)
        self.input_length = input_length
        try:
            get_initializer(embedding_initializer)
        except (ConfigError, UnsupportedError) as exc:
            raise ConfigError(f"{layer_label(self)}: embedding_initializer: {exc}") from exc
        self.embedding_initializer = embedding_initializer
        self.lookup_layer = DynamicLookup(self.input_dim, initial_vocabulary, eviction_policy,
                                          name=f"{self.name}_lookup")

    @classmethod
    def from_config(cls, config: dict) -> "DynamicEmbedding":
        """tf-keras's `get_config()` writes the embedding's rows as `input_dim`; take the
        vocabulary size back out."""
        if not isinstance(config, dict):
            raise ConfigError(f"{cls.__name__}: config must be a mapping, got "
                              f"{type(config).__name__}")
        config = dict(config)
        rows, oov = config.get("input_dim"), config.get("num_oov_indices", 1)
        for key, value in (("input_dim", rows), ("num_oov_indices", oov)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"layer '{config.get('name')}' (DynamicEmbedding): {key} must "
                                  f"be an integer, got {value!r}")
        if rows - oov < 1:
            raise ConfigError(f"layer '{config.get('name')}' (DynamicEmbedding): input_dim "
                              f"{rows} (the embedding rows) must exceed num_oov_indices {oov}")
        config["input_dim"] = rows - oov
        return super().from_config(config)

    @property
    def eviction_policy(self) -> str:
        return self.lookup_layer.eviction_policy

    @property
    def initial_vocabulary(self) -> list:
        return self.lookup_layer.initial_vocabulary

    @property
    def is_string(self) -> bool:
        return self.lookup_layer.is_string

    @property
    def embedding_rows(self) -> int:
        return self.input_dim + self.num_oov_indices

    def build(self, input_shape):
        initializer = get_initializer(self.embedding_initializer)
        self.embeddings = self.add_weight("embeddings", (self.embedding_rows, self.output_dim),
                                          initializer)
        self.lookup_layer.add_vocabulary_weights(self)
        self.lookup_layer.built = True

    def keras3_weight_groups(self) -> list[tuple]:
        """tf-keras's `save_weights(".weights.h5")` keeps the weights on the two sub-layers,
        visited alphabetically: `dynamic_lookup_layer/vars/0..2`, `embedding_layer/vars/0`."""
        if not self.built:
            return [("", [])]
        lookup = self.lookup_layer
        return [("", []),
                ("dynamic_lookup_layer", [lookup.table_keys, lookup.table_values,
                                          lookup.vocabulary]),
                ("embedding_layer", [self.embeddings])]

    def call(self, inputs):
        indices = self.lookup_layer.lookup(inputs)
        return np.take(self.value_of(self.embeddings), indices, axis=0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def compute_output_spec(self, inputs, **kwargs):
        return SymbolicTensor((*inputs.shape, self.output_dim), self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "input_dim": self.embedding_rows,
                "output_dim": self.output_dim, "input_length": self.input_length,
                "eviction_policy": self.eviction_policy,
                "initial_vocabulary": list(self.initial_vocabulary),
                "embedding_initializer": self.embedding_initializer,
                "num_oov_indices": self.num_oov_indices}
