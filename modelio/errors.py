"""The errors modelio raises. Every refusal is a ModelioError subclass."""

import contextlib
from collections.abc import Iterator


class ModelioError(Exception):
    """Base class of every error modelio raises on purpose."""


class FormatError(ModelioError):
    """A file or config is not in the format it claims to be, or is malformed."""


class ConfigError(FormatError):
    """A model or layer config holds a wrong type, a missing key or an impossible value."""


class GraphError(ModelioError):
    """A model graph is invalid: a cycle, a disconnected tensor, a missing inbound layer."""


class UnsupportedError(ModelioError):
    """A layer, argument or feature that modelio does not support (yet)."""


class WeightMismatchError(ModelioError):
    """Stored weights do not match what a layer expects (count, shape or dtype)."""


class UnsafeContentError(ModelioError):
    """A file asks for code to be executed or imported (Python YAML tags, Lambda bytecode,
    modules outside Keras). modelio never runs code from a file."""


@contextlib.contextmanager
def naming_source(source) -> Iterator[None]:
    """A block whose ModelioErrors name `source` (a file): the message gains a `source: ` prefix
    unless it already names it; the error keeps its type."""
    try:
        yield
    except ModelioError as exc:
        if str(source) in str(exc):
            raise
        raise type(exc)(f"{source}: {exc}") from exc
