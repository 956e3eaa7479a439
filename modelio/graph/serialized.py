"""Serialized objects nested in layer configs: regularizers, constraints, initializers, dtype
policies and seed generators, checked against what modelio knows and written back canonically.

A layer argument like `kernel_regularizer` holds `{"module", "class_name", "config",
"registered_name"}`. Keras would import `module` and build `class_name` from `config`; modelio
never imports anything, and writes back only what it understood. So each object's class must be
one of Keras's own for that kind of argument (Keras 3 or Keras 2 spelling), its module one of
Keras's packages, its `registered_name` empty (not a custom object), and its config keys and
values those the class takes. Anything else is an UnsafeContentError naming the layer and the
argument. What comes back is a new mapping in the form Keras 3 writes, built only from checked
parts.
"""

import functools
import math
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import ConfigError, ModelioError, UnsafeContentError, UnsupportedError
from ..kernels.activations import KERAS2_ACTIVATIONS, KERAS3_ACTIVATIONS, MODELIO_ACTIVATIONS
from .custom_names import is_custom_function_name
from .naming import keras2_snake_case
from .quantized_dtypes import QUANTIZED_POLICY_CLASSES, quantized_policy

# Module prefixes of Keras's own packages (Keras 3, tf-keras, Keras inside TensorFlow).
KERAS_MODULE_PREFIXES = ("keras", "tf_keras", "tensorflow.keras", "tensorflow.python.keras")
# Module prefixes a genuine Keras / tf-keras / modelio file names for its layers and models.
TRUSTED_MODULE_PREFIXES = (*KERAS_MODULE_PREFIXES, "modelio")
OBJECT_KEYS = ("module", "class_name", "config", "registered_name")
# Keras 3 adds this key to an object serialized twice in one save (one initializer on two layers).
SHARED_OBJECT_KEY = "shared_object_id"
_ENTRY_KEYS = frozenset((*OBJECT_KEYS, SHARED_OBJECT_KEY))


def is_trusted_module(module: str) -> bool:
    """`keras`, `keras.layers`, `modelio.ops`, ... but not `keras_evil` or `kerasx.layers`."""
    return _has_prefix(module, TRUSTED_MODULE_PREFIXES)


def is_keras_module(module: str) -> bool:
    """A module of Keras's own packages: `keras.regularizers`, `tf_keras.initializers`, ..."""
    return _has_prefix(module, KERAS_MODULE_PREFIXES)


@functools.lru_cache(maxsize=256)  # a file repeats a few module names many times
def _has_prefix(module: str, prefixes: tuple) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


# ----- value checks: each takes (value, where) and returns what is written back -----------------

class _Refused(Exception):
    """A config value of the wrong type or range; the message says what was expected."""


def _number(value, where=""):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Refused("a finite number")
    return value


def _positive_number(value, where=""):
    if _number(value) <= 0:
        raise _Refused("a positive number")
    return value


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _axis(value, where=""):
    if _integer(value):
        return value
    if isinstance(value, list) and value and all(_integer(item) for item in value):
        return list(value)
    raise _Refused("an integer or a list of integers")


def _optional_axes(value, where=""):
    return None if value is None else _axis(value)


def _choice(*options: str) -> Callable:
    def check(value, where=""):
        if value not in options:
            raise _Refused(f"one of {', '.join(map(repr, options))}")
        return value
    return check


def _optional_seed_integer(value, where=""):
    if value is None or _integer(value):
        return value
    raise _Refused("an integer or null")


def _seed(value, where=""):
    """An integer, null, or Keras 3's serialized `SeedGenerator`."""
    if isinstance(value, dict):
        return check_object(value, SEED_GENERATOR, f"{where}: seed" if where else "seed")
    if value is None or _integer(value):
        return value
    raise _Refused("an integer, null or a serialized SeedGenerator")


_MAX_CONSTANT_RANK = 8


def _constant_value(value, where=""):
    """A number, or nested lists of numbers (an array, as Keras 2's Constant allowed)."""
    stack = [(value, 0)]
    while stack:
        item, rank = stack.pop()
        if not isinstance(item, list):
            _number(item)
        elif rank == _MAX_CONSTANT_RANK:
            raise _Refused(f"a number or an array of at most {_MAX_CONSTANT_RANK} dimensions")
        else:
            stack.extend((inner, rank + 1) for inner in item)
    return _copied_lists(value)


def _copied_lists(value):
    return [_copied_lists(item) for item in value] if isinstance(value, list) else value


def _float_dtype_name(value, where=""):
    if value not in ("float16", "float32", "float64", "bfloat16"):
        raise _Refused("a float dtype name")
    return value


def _string(value, where=""):
    if not isinstance(value, str):
        raise _Refused("a string")
    return value


def _loss_scale(value, where=""):
    return value if value is None or value == "dynamic" else _number(value)


# ----- the kinds of nested objects -------------------------------------------------------------

@dataclass(frozen=True)
class ObjectKind:
    """One kind of serialized object: what Keras 3 writes as its module, each class (Keras 3
    and Keras 2 names) with the config keys it takes and their checks, other names Keras
    resolves to those classes, and config keys only older Keras wrote (checked, not kept)."""

    name: str
    module: str
    classes: dict
    aliases: dict = field(default_factory=dict)
    unsupported: tuple = ()
    dropped_keys: dict = field(default_factory=dict)

    def class_for(self, name: str) -> str | None:
        """The class `name` means (itself or an alias's target), or None."""
        return name if name in self.classes else self.aliases.get(name)


_SEEDED = {"seed": _seed}
_VARIANCE_SCALING_PRESET = {**_SEEDED, "input_axes": _optional_axes, "output_axes": _optional_axes}
_INITIALIZER_CLASSES = {
    "Zeros": {}, "Ones": {}, "Constant": {"value": _constant_value},
    "RandomNormal": {**_SEEDED, "mean": _number, "stddev": _number},
    "RandomUniform": {**_SEEDED, "minval": _number, "maxval": _number},
    "TruncatedNormal": {**_SEEDED, "mean": _number, "stddev": _number},
    "VarianceScaling": {**_VARIANCE_SCALING_PRESET, "scale": _positive_number,
                        "mode": _choice("fan_in", "fan_out", "fan_avg"),
                        "distribution": _choice("truncated_normal", "untruncated_normal",
                                                "normal", "uniform")},
    **{preset: _VARIANCE_SCALING_PRESET for preset in (
        "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal")},
    "Orthogonal": {**_SEEDED, "gain": _number}, "Identity": {"gain": _number},
}
INITIALIZER = ObjectKind(
    "initializer", "keras.initializers", _INITIALIZER_CLASSES,
    aliases={**{keras2_snake_case(name): name for name in _INITIALIZER_CLASSES},
             "zero": "Zeros", "one": "Ones", "normal": "RandomNormal", "uniform": "RandomUniform",
             "IdentityInitializer": "Identity", "OrthogonalInitializer": "Orthogonal"},
    unsupported=("STFT", "STFTInitializer"),
    dropped_keys={"dtype": _float_dtype_name},  # tf.keras 1.x initializers wrote their dtype
)

_REGULARIZER_CLASSES = {
    "L1": {"l1": _number}, "L2": {"l2": _number}, "L1L2": {"l1": _number, "l2": _number},
    "OrthogonalRegularizer": {"factor": _number, "mode": _choice("rows", "columns")},
}
_CONSTRAINT_CLASSES = {
    "MaxNorm": {"max_value": _number, "axis": _axis}, "NonNeg": {}, "UnitNorm": {"axis": _axis},
    "MinMaxNorm": {"min_value": _number, "max_value": _number, "rate": _number, "axis": _axis},
}


def _names_any_case(classes: dict) -> dict:
    """`l2`, `l1_l2`, `max_norm`, `maxnorm`: the names Keras 3 and Keras 2 resolve."""
    return {**{name.lower(): name for name in classes},
            **{keras2_snake_case(name): name for name in classes}}


REGULARIZER = ObjectKind("regularizer", "keras.regularizers", _REGULARIZER_CLASSES,
                         aliases=_names_any_case(_REGULARIZER_CLASSES))
CONSTRAINT = ObjectKind("constraint", "keras.constraints", _CONSTRAINT_CLASSES,
                        aliases=_names_any_case(_CONSTRAINT_CLASSES),
                        unsupported=("RadialConstraint",))  # tf-keras only; Keras 3 lacks it
DTYPE_POLICY = ObjectKind(
    "dtype policy", "keras",
    {"DTypePolicy": {"name": _string}, "FloatDTypePolicy": {"name": _string},
     "Policy": {"name": _string}},  # Keras 3.4-3.6 and Keras 2 names of DTypePolicy
    unsupported=("QuantizedDTypePolicy", "QuantizedFloat8DTypePolicy", "GPTQDTypePolicy",
                 "DTypePolicyMap"),
    dropped_keys={"loss_scale": _loss_scale},  # TF 2.1-2.3's experimental Policy
)
SEED_GENERATOR = ObjectKind("seed generator", "keras.random",
                            {"SeedGenerator": {"seed": _optional_seed_integer}})
OBJECT_KINDS = (INITIALIZER, REGULARIZER, CONSTRAINT, DTYPE_POLICY, SEED_GENERATOR)

# Defaults Keras 3.15 serializes for a regularizer or constraint given by name ("l2", "max_norm").
_DEFAULTS_BY_NAME = {
    "L1": {"l1": 0.009999999776482582}, "L2": {"l2": 0.01}, "L1L2": {"l1": 0.0, "l2": 0.0},
    "OrthogonalRegularizer": {"factor": 0.009999999776482582, "mode": "rows"},
    "MaxNorm": {"max_value": 2, "axis": 0}, "NonNeg": {}, "UnitNorm": {"axis": 0},
    "MinMaxNorm": {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0},
}


def argument_kind(argument: str) -> ObjectKind:
    """The kind of object a layer argument holds: `kernel_regularizer` -> REGULARIZER, ..."""
    if argument.endswith("regularizer"):
        return REGULARIZER
    if argument.endswith("constraint"):
        return CONSTRAINT
    if argument.endswith("initializer"):
        return INITIALIZER
    if argument == "dtype":
        return DTYPE_POLICY
    raise ValueError(f"{argument!r} does not hold a serialized object")


# ----- checking --------------------------------------------------------------------------------

def check_object(value: dict, kind: ObjectKind, where: str = "") -> dict:
    """The Keras 3 form of serialized `kind` object `value`, built from its checked parts.

    `where` (e.g. "layer 'dense' (Dense): kernel_regularizer") starts every message. A class
    outside Keras's own for `kind`, a module outside Keras's packages, a custom
    `registered_name`, or a config key or value the class does not take is an
    UnsafeContentError; a Keras class modelio cannot honour is an UnsupportedError; a value
    that is not a mapping with a class name string and a config mapping is a ConfigError.
    """
    prefix = f"{where}: " if where else ""
    if not isinstance(value, dict):
        raise ConfigError(f"{prefix}a serialized {kind.name} must be a mapping, got {_short(value)}")
    class_name = value.get("class_name")
    if not isinstance(class_name, str):
        raise ConfigError(f"{prefix}a serialized {kind.name} needs a class_name string, got "
                          f"{_short(class_name)}")
    canonical = _checked_class(value, class_name, kind, prefix)
    config = value.get("config")
    if not isinstance(config, dict):
        raise ConfigError(f"{prefix}{kind.name} {canonical} needs a config mapping, got "
                          f"{_short(config)}")
    return {"module": kind.module, "class_name": canonical,
            "config": _checked_config(config, canonical, kind, where, prefix),
            "registered_name": None}


def _checked_class(value: dict, class_name: str, kind: ObjectKind, prefix: str) -> str:
    if not value.keys() <= _ENTRY_KEYS:
        unexpected = sorted(str(key) for key in value.keys() - _ENTRY_KEYS)
        raise UnsafeContentError(f"{prefix}unexpected key(s) {_short(unexpected)} in serialized "
                                 f"{kind.name} {class_name[:60]!r}")
    module = value.get("module")
    if module is not None and not isinstance(module, str):
        raise ConfigError(f"{prefix}module must be a string, got {_short(module)}")
    if module is not None and not is_keras_module(module):
        raise UnsafeContentError(
            f"{prefix}refusing {kind.name} {class_name[:60]!r} from module {module[:60]!r}; "
            f"modelio never imports code named in a file and knows only Keras's own {kind.name} "
            f"classes")
    canonical = kind.class_for(class_name)
    if canonical is None and class_name in kind.unsupported:
        raise UnsupportedError(f"{prefix}Keras {kind.name} {class_name!r} is not supported")
    if canonical is None:
        raise UnsafeContentError(
            f"{prefix}{class_name[:60]!r} is not a Keras {kind.name} modelio knows (expected one "
            f"of {', '.join(kind.classes)}); modelio writes back only what it understands")
    registered = value.get("registered_name")
    if registered is not None and registered not in (class_name, canonical):
        raise UnsafeContentError(
            f"{prefix}registered_name {_short(registered)} names a custom object; modelio knows "
            f"only Keras's own {kind.name} classes and never imports code named in a file")
    return canonical


def _checked_config(config: dict, class_name: str, kind: ObjectKind, where: str,
                    prefix: str) -> dict:
    takes = kind.classes[class_name]
    checked = {}
    for key, item in config.items():
        check = takes.get(key) or kind.dropped_keys.get(key)
        if check is None:
            raise UnsafeContentError(
                f"{prefix}{kind.name} {class_name} takes no config key {str(key)[:60]!r} (it "
                f"takes {', '.join(takes) or 'none'}); modelio writes back only what it "
                f"understands")
        try:
            value = check(item, where)
        except _Refused as exc:
            raise UnsafeContentError(f"{prefix}{kind.name} {class_name} config {key!r} must be "
                                     f"{exc}, got {_short(item)}") from None
        if key in takes:
            checked[key] = value
    return checked


def check_argument_object(value, argument: str, where: str):
    """A regularizer or constraint argument (`argument` says which) as written back: null, a
    checked serialized object (see `check_object`), or the config Keras 3 writes for a name
    ("l2", "max_norm", ...). `where` names the layer."""
    kind = argument_kind(argument)
    here = f"{where}: {argument}"
    if value is None:
        return None
    if isinstance(value, dict):
        return check_object(value, kind, here)
    if not isinstance(value, str):
        raise ConfigError(f"{here} must be null, a name or a mapping, got {_short(value)}")
    refuse_module_path(value, kind.name, here)
    class_name = kind.class_for(value) or kind.class_for(value.lower())
    if class_name is None:
        raise ConfigError(f"{here}: unknown {kind.name} {value[:60]!r}; expected one of "
                          f"{', '.join(sorted(kind.aliases))}")
    return {"module": kind.module, "class_name": class_name,
            "config": dict(_DEFAULTS_BY_NAME[class_name]), "registered_name": None}


def refuse_module_path(name: str, what: str, where: str) -> None:
    """A name like "subprocess.Popen" or "package>function" points into code: refused."""
    if "." in name or ">" in name:
        raise UnsafeContentError(f"{where}: refusing {what} {name[:60]!r}, which names code in a "
                                 f"module; modelio never imports code named in a file")


# ----- objects met anywhere in a config --------------------------------------------------------

# Keras's serialized markers for values that are not objects, and their config keys.
_MARKERS = {"__keras_tensor__": ("shape", "dtype", "keras_history"),
            "__numpy__": ("value", "dtype"), "__tuple__": ("value",),
            "__slice__": ("start", "stop", "step"), "__ellipsis__": ()}
_FUNCTION_NAMES = {*KERAS3_ACTIVATIONS, *KERAS2_ACTIVATIONS, *MODELIO_ACTIVATIONS}


def check_nested_object(value: dict, where: str) -> dict | None:
    """The checked form of a mapping met inside a layer config that has a `class_name` or
    `module` and is not a layer entry: for an object of a known kind, its Keras 3 form (see
    `check_object`); for an activation function, a copy; for a Keras marker of a value
    (`__numpy__`, `__keras_tensor__`, `__tuple__`), None: its config is to be walked like the
    rest of the layer config. Anything else is an UnsafeContentError starting with `where`."""
    class_name = value.get("class_name")
    if not isinstance(class_name, str):
        raise UnsafeContentError(f"{where}: an object without a class_name string "
                                 f"({_short(value)}); modelio writes back only what it understands")
    if class_name in _MARKERS:
        _check_marker(value, class_name, where)
        return None
    if class_name == "function":
        _check_function(value, where)
        return dict(value)
    if class_name == "__lambda__" and is_custom_function_name("<lambda>"):
        return None  # replaced by the user's custom_objects["<lambda>"]; its code never runs
    if class_name in QUANTIZED_POLICY_CLASSES:
        try:
            return quantized_policy(value).get_config()
        except ModelioError as exc:
            raise type(exc)(f"{where}: {exc}") from exc
    if class_name in QUANTIZATION_OBJECTS:
        _check_quantization_object(value, where)
        return dict(value)
    kind = object_kind_named(class_name)
    if kind is not None:
        return check_object(value, kind, where)
    module = value.get("module")
    raise UnsafeContentError(f"{where}: refusing {class_name[:60]!r}"
                             + (f" from module {str(module)[:60]!r}" if module is not None else "")
                             + ", which is not a Keras object modelio knows; modelio writes back "
                               "only what it understands")


# Keras's quantization configs and quantizers (`quantization_config` of Dense, EinsumDense,
# Embedding). The layer holding one checks its contents (modelio/layers/quantization.py).
QUANTIZATION_OBJECTS = ("Int8QuantizationConfig", "Int4QuantizationConfig",
                        "Float8QuantizationConfig", "AbsMaxQuantizer")


def _check_quantization_object(value: dict, where: str) -> None:
    class_name = value["class_name"]
    if (value.get("module") not in ("keras", "keras.quantizers")
            or value.get("registered_name") not in (None, class_name)
            or not isinstance(value.get("config"), dict)):
        raise UnsafeContentError(f"{where}: refusing {class_name!r} with module "
                                 f"{str(value.get('module'))[:60]!r} / registered_name "
                                 f"{str(value.get('registered_name'))[:60]!r}; modelio reads "
                                 f"only Keras's own quantization objects")
    for nested in value["config"].values():
        if isinstance(nested, dict):
            if nested.get("class_name") != "AbsMaxQuantizer":
                raise UnsafeContentError(f"{where}: refusing {_short(nested)} inside "
                                         f"{class_name!r}")
            _check_quantization_object(nested, where)


def object_kind_named(class_name: str) -> ObjectKind | None:
    """The kind of object `class_name` names (`L2` -> REGULARIZER), or None."""
    return next((kind for kind in OBJECT_KINDS if kind.class_for(class_name) is not None), None)


def _check_marker(value: dict, class_name: str, where: str) -> None:
    if class_name == "__ellipsis__" and set(value) == {"class_name"}:
        return  # tf-keras writes `...` in a slice spec without a config
    config = value.get("config")
    if (set(value) != {"class_name", "config"} or not isinstance(config, dict)
            or not set(config) <= set(_MARKERS[class_name])):
        raise UnsafeContentError(f"{where}: malformed {class_name} ({_short(value)}); modelio "
                                 f"writes back only what it understands")


def _check_function(value: dict, where: str) -> None:
    """Keras's form of a named activation function: `{"class_name": "function", "config":
    "relu", ...}`, with a Keras module, `builtins` or none."""
    name, module = value.get("config"), value.get("module")
    known_keys = set(value) <= set(OBJECT_KEYS)
    module_ok = module in (None, "builtins") or (isinstance(module, str) and is_keras_module(module))
    if (known_keys and module_ok and value.get("registered_name") in (None, "function")
            and isinstance(name, str)
            and (name in _FUNCTION_NAMES or is_custom_function_name(name))):
        return
    raise UnsafeContentError(f"{where}: refusing function {_short(name)} from module "
                             f"{_short(module)}; modelio never imports code named in a file")


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, 60, 60


def _short(value) -> str:
    """A bounded repr of a value from a file, for messages (any size, any depth)."""
    return _SHORT.repr(value)
