"""One layer <-> its config entry `{"module", "class_name", "config", ...}`, safely.

Layer classes come only from modelio's registry, looked up by `class_name`. The `module` field is
checked, never imported: anything outside Keras's own packages is refused, as are layers that carry
Python code (Lambda and Keras 2's TFOpLambda).
"""

import contextlib

from ..errors import ConfigError, ModelioError, UnsafeContentError, UnsupportedError
from .registry import LAYER_CLASSES, OPERATION_CLASSES

# Module prefixes a genuine Keras / tf-keras / modelio file names for its layers and models.
TRUSTED_MODULE_PREFIXES = ("keras", "tf_keras", "tensorflow.keras", "tensorflow.python.keras",
                           "modelio")
CODE_CARRYING_LAYERS = ("Lambda", "TFOpLambda", "SlicingOpLambda")


def serialize_layer(layer) -> dict:
    """The config entry Keras 3 writes for `layer` (without graph keys like `inbound_nodes`)."""
    entry = {
        "module": type(layer)._keras_module,
        "class_name": getattr(type(layer), "_keras_class_name", None) or type(layer).__name__,
        "config": layer.get_config(),
        "registered_name": getattr(layer, "_registered_name", None),
    }
    build_config = layer.get_build_config()
    if build_config is not None:
        entry["build_config"] = build_config
    if hasattr(layer, "_layers"):
        entry["compile_config"] = {}
    if getattr(layer, "_is_operation", False):
        entry.pop("build_config", None)
    return entry


def layer_class_for(entry: dict, where: str = "") -> type:
    """The registered class named by a config entry, after the safety checks."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}layer entry must be a mapping, got {type(entry).__name__}")
    class_name = entry.get("class_name")
    if not isinstance(class_name, str):
        raise ConfigError(f"{where}layer entry has no class_name string: {_short(entry)}")
    module = entry.get("module")
    name = _entry_name(entry)
    if module is not None:
        if not isinstance(module, str):
            raise ConfigError(f"{where}layer '{name}': module must be a string, got {module!r}")
        if not is_trusted_module(module):
            raise UnsafeContentError(
                f"{where}layer '{name}': refusing class '{class_name}' from module '{module}'; "
                f"modelio only builds its own Keras layer classes and never imports from a file"
            )
        if names_keras_operation(module):
            operation = OPERATION_CLASSES.get(class_name)
            if operation is None:
                raise UnsupportedError(f"{where}layer '{name}': Keras operation '{class_name}' "
                                       f"({module}) is not supported")
            return operation
    if class_name in CODE_CARRYING_LAYERS:
        raise UnsafeContentError(
            f"{where}layer '{name}' is a {class_name}, which carries Python code; modelio never "
            f"executes code from a model file (rewrite it with built-in layers)"
        )
    cls = LAYER_CLASSES.get(class_name)
    if cls is None:
        raise UnsupportedError(f"{where}layer '{name}': unknown layer class '{class_name}'")
    return cls


def names_keras_operation(module: str) -> bool:
    """Whether an entry's `module` is Keras's operations (`keras.src.ops.numpy`, ...), whose
    class names are looked up among the operations. modelio's own modules (`modelio.ops` holds
    the ONNX-semantics layers) name layers."""
    if module == "modelio" or module.startswith("modelio."):
        return False
    return ".ops." in module or module.endswith(".ops")


def is_trusted_module(module: str) -> bool:
    """`keras`, `keras.layers`, ... but not `keras_evil` or `kerasx.layers`."""
    return any(module == prefix or module.startswith(prefix + ".")
               for prefix in TRUSTED_MODULE_PREFIXES)


def deserialize_layer(entry: dict, where: str = ""):
    """Build a layer from its config entry. Failures become ModelioError naming the layer."""
    cls = layer_class_for(entry, where)
    config = entry.get("config")
    bare_layer_list = isinstance(config, list) and cls.__name__ == "Sequential"  # Keras <= 2.2
    if not isinstance(config, dict) and not bare_layer_list:
        raise ConfigError(f"{where}layer '{_entry_name(entry)}': config must be a mapping")
    kind = "model" if hasattr(cls, "_init_graph") else "layer"
    name = _entry_name(entry)
    with _errors_naming(name, f"{where}{kind} '{name}': ",
                        f"{where}layer '{name}' ({entry['class_name']}): bad config"):
        return cls.from_config(config)


def call_layer_in_config(layer, args: tuple, kwargs: dict, where: str = ""):
    """Call `layer` while rebuilding a model; failures become ModelioError naming the layer."""
    with _errors_naming(layer.name, f"{where}layer '{layer.name}': ",
                        f"{where}layer '{layer.name}' ({type(layer).__name__}) cannot be called "
                        f"as the config says"):
        return layer(*args, **kwargs)


@contextlib.contextmanager
def _errors_naming(name: str, prefix: str, failure: str):
    """A ModelioError that does not name layer `name` yet gains `prefix`; a TypeError,
    ValueError, KeyError, IndexError or AttributeError becomes a ConfigError `failure: ...`."""
    try:
        yield
    except ModelioError as exc:
        if f"'{name}'" in str(exc):
            raise
        raise type(exc)(f"{prefix}{exc}") from exc
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise ConfigError(f"{failure}: {exc}") from exc


def _entry_name(entry: dict) -> str:
    name = entry.get("name")
    if not isinstance(name, str):
        config = entry.get("config")
        name = config.get("name") if isinstance(config, dict) else None
    return name if isinstance(name, str) else "?"


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
