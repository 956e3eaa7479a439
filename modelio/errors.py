"""The errors modelio raises. Every refusal is a ModelioError subclass."""


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
