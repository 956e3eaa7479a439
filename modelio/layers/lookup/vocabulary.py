"""Vocabularies of the lookup layers: tokens as numpy arrays, vectorized lookups, and the
`vocabulary.txt` asset Keras 3 writes into a `.keras` archive (one token a line, the special
tokens first) with its size limits."""

import numpy as np

from ...errors import ConfigError, FormatError
from ...graph.dtypes import as_string_array

# An asset vocabulary may take this many bytes and hold this many tokens (checked before the
# tokens are split into arrays; the archive reader checks the member's declared size first).
MAX_VOCABULARY_BYTES = 64 * 1024 * 1024
MAX_VOCABULARY_TOKENS = 2_000_000
VOCABULARY_FILE = "vocabulary.txt"


def parse_vocabulary_asset(data: bytes, is_string: bool, where: str) -> list:
    """The lines of a `vocabulary.txt` asset (trailing empty lines dropped, as Keras reads it):
    str tokens, or ints for an integer vocabulary; a FormatError names `where` otherwise."""
    if len(data) > MAX_VOCABULARY_BYTES:
        raise FormatError(f"{where}: the vocabulary takes {len(data):,} bytes, more than the "
                          f"{MAX_VOCABULARY_BYTES:,} modelio reads")
    if data.count(b"\n") + 1 > MAX_VOCABULARY_TOKENS:
        raise FormatError(f"{where}: the vocabulary has more than {MAX_VOCABULARY_TOKENS:,} "
                          f"lines")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{where}: the vocabulary is not UTF-8 text") from exc
    lines = text.splitlines()
    while lines and lines[-1] == "":
        lines.pop()
    if is_string:
        return lines
    try:
        return [int(line) for line in lines]
    except ValueError as exc:
        raise FormatError(f"{where}: an integer vocabulary holds a line that is not an "
                          f"integer ({exc})") from exc


def format_vocabulary_asset(tokens: list) -> bytes:
    """`vocabulary.txt` as Keras writes it: the tokens joined by newlines (no final newline)."""
    return "\n".join(str(token) for token in tokens).encode("utf-8")


class TokenTable:
    """Tokens (str or int64) mapped to consecutive indices from `start`, looked up with one
    sorted search (numpy compares str arrays by code point)."""

    def __init__(self, tokens: np.ndarray, start: int):
        self.tokens = tokens
        self.start = start
        self._order = np.argsort(tokens, kind="stable")
        self._sorted = tokens[self._order]

    def __len__(self) -> int:
        return len(self.tokens)

    def lookup(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index of each value (int64, undefined where absent), whether it was found)."""
        if not len(self.tokens):
            return np.zeros(values.shape, np.int64), np.zeros(values.shape, bool)
        position = np.searchsorted(self._sorted, values)
        position = np.minimum(position, len(self._sorted) - 1)
        found = self._sorted[position] == values
        return self._order[position].astype(np.int64) + self.start, found


def string_values(values, what: str) -> np.ndarray:
    """A numpy `<U` array of the strings in `values` (any string array form)."""
    array = as_string_array(values, what)
    if array.size == 0:
        return np.zeros(array.shape, dtype="<U1")
    return np.array(array.tolist(), dtype=str).reshape(array.shape)


def integer_values(values, what: str) -> np.ndarray:
    """`values` as int64 (integers, or floats that are whole numbers)."""
    array = np.asarray(values)
    if array.dtype.kind in "iub":
        return array.astype(np.int64)
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.array_equal(
            array, np.round(array)):
        return array.astype(np.int64)
    raise ConfigError(f"{what} expects integer values, got {array.dtype}")
