"""Checks for layer constructor arguments: a wrong type is a ConfigError naming the layer."""

from ..errors import ConfigError
from ..graph.serialized import check_argument_object


def layer_label(layer) -> str:
    """`layer 'name' (Class)`: how error messages name a layer."""
    return f"layer '{layer.name}' ({type(layer).__name__})"


def _label(layer_name, class_name) -> str:
    return f"layer '{layer_name}' ({class_name})" if layer_name else class_name


def check_int(value, argument: str, cls: type, name=None, minimum: int | None = None) -> int:
    """`value` must be an int (not a bool), at least `minimum` when given."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{_label(name, cls.__name__)}: {argument} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{_label(name, cls.__name__)}: {argument} must be >= {minimum}, got {value}")
    return value


def check_float(value, argument: str, cls: type, name=None, minimum: float | None = None,
                maximum: float | None = None, allow_none: bool = False):
    """`value` must be a real number (int or float) within [minimum, maximum] when given."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{_label(name, cls.__name__)}: {argument} must be a number, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"[{minimum if minimum is not None else '-inf'}, {maximum if maximum is not None else 'inf'}]"
        raise ConfigError(f"{_label(name, cls.__name__)}: {argument} must be in {bounds}, got {value}")
    return value


def check_bool(value, argument: str, cls: type, name=None) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{_label(name, cls.__name__)}: {argument} must be true or false, got {value!r}")
    return value


def check_int_tuple(value, argument: str, cls: type, name=None, length: int | None = None,
                    minimum: int | None = None) -> tuple:
    """A list/tuple of ints (an int alone is accepted when `length` is 1)."""
    if isinstance(value, int) and not isinstance(value, bool) and length in (None, 1):
        value = (value,)
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{_label(name, cls.__name__)}: {argument} must be a list of integers, "
                          f"got {value!r}")
    for item in value:
        check_int(item, argument, cls, name, minimum)
    if length is not None and len(value) != length:
        raise ConfigError(f"{_label(name, cls.__name__)}: {argument} must have {length} "
                          f"entries, got {value!r}")
    return tuple(value)


def check_choice(value, argument: str, choices: tuple, cls: type, name=None):
    if value not in choices:
        raise ConfigError(f"{_label(name, cls.__name__)}: {argument} must be one of "
                          f"{', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_serialized(value, argument: str, cls: type, name=None):
    """A regularizer or constraint (`argument` says which) as the layer writes it back: null, a
    serialized Keras object checked against what modelio knows (an UnsafeContentError naming the
    layer and argument otherwise), or a Keras name ("l2", "max_norm", ...) turned into the config
    Keras 3 writes for it. Regularizers and constraints only matter for training."""
    return check_argument_object(value, argument, _label(name, cls.__name__))


def standardize_data_format(value, cls: type, name=None) -> str:
    if value is None:
        return "channels_last"
    value = value.lower() if isinstance(value, str) else value
    return check_choice(value, "data_format", ("channels_last", "channels_first"), cls, name)


KERNEL_BIAS_ARGUMENTS = ("kernel_initializer", "bias_initializer", "kernel_regularizer",
                         "bias_regularizer", "activity_regularizer", "kernel_constraint",
                         "bias_constraint")
"""The kernel/bias initializer, regularizer and constraint arguments, in the order Keras writes
them into a Dense-, convolution- or attention-style layer's config."""


def config_entries(layer, names: tuple) -> dict:
    """The config entries `{name: layer.<name>}` for each of `names` (attribute names equal to
    the constructor argument names), in that order."""
    return {name: getattr(layer, name) for name in names}
