"""One layer <-> its config entry `{"module", "class_name", "config", ...}`, safely.

Layer classes come only from modelio's registry, looked up by `class_name`. The `module` field is
checked, never imported: anything outside Keras's own packages is refused, as are layers that carry
Python code (Lambda; tf-keras's TFOpLambda only names a TensorFlow function, which the ops room
translates from an allowlist). Every serialized object anywhere in a layer's config
must be a layer entry or an object modelio knows (see `serialized.py`), both when a config is read
and when one is written: nothing modelio did not understand is written back.
"""

import contextlib

from ..errors import ConfigError, ModelioError, UnsafeContentError, UnsupportedError
from .custom_names import custom_layer_class, is_custom_layer_entry
from .registry import LAYER_CLASSES, OPERATION_CLASSES
from .serialized import (
    TRUSTED_MODULE_PREFIXES,
    check_nested_object,
    is_trusted_module,
    object_kind_named,
)

__all__ = ["REFUSED_LAYER_CLASSES", "REFUSED_OPERATIONS", "TRUSTED_MODULE_PREFIXES", "call_layer_in_config",
           "deserialize_layer",
           "canonical_config", "check_config_objects", "is_trusted_module", "layer_class_for",
           "serialize_layer"]

CODE_CARRYING_LAYERS = ("Lambda",)

# Keras operations modelio refuses by design, and why: the error says "... is not supported: it
# <reason>". Every Keras 3.15.1 operation is either registered or listed here
# (tests/ops/test_keras_ops_configs.py).
_CALLS_PYTHON = ("takes a Python function (a file stores it as bytecode, which modelio never "
                 "executes)")
REFUSED_OPERATIONS = {
    **{name: _CALLS_PYTHON for name in ("Map", "Scan", "Cond", "ForiLoop", "WhileLoop",
                                        "AssociativeScan", "VectorizedMap", "Switch", "JVP")},
    "Eigh": "returns eigenvectors whose signs depend on the LAPACK library Keras's backend was "
            "built with (numpy's and torch's differ), so modelio cannot reproduce them",
    "Eig": "returns complex tensors, which modelio's graphs do not carry",
    "SegmentReduction": "is the base class of SegmentSum/Max/Min/Prod, never recorded itself",
    "ViewAsComplex": "gives a complex64 tensor; modelio's graphs (and their ONNX exports) "
                     "carry real dtypes only (complex dtypes are not supported)",
    "ViewAsReal": "takes a complex tensor; modelio's graphs carry real dtypes only (complex "
                  "dtypes are not supported)",
    "Polar": "returns complex numbers (abs * cos(angle) + i * abs * sin(angle)); modelio's "
             "graphs carry real dtypes only (complex dtypes are not supported)",
    "ElasticTransform": "draws a random displacement field: under the torch backend from torch's "
                        "global random state (the seed is ignored), so no file determines its "
                        "output",
    "Argpartition": "orders each partition by the backend's unspecified tie order "
                    "(torch.topk), so its output is not reproducible",
    "Arange": "is never recorded in a graph (Keras turns its arguments into numbers)",
    "Nonzero": "has a data-dependent output length",
    "Unique": "has a data-dependent output length",
    "Bincount": "has a data-dependent output length (max(x) + 1 when above minlength)",
}

# Keras classes modelio refuses by design, and why (the README's layer table quotes these).
REFUSED_LAYER_CLASSES = {
    "Lambda": "carries Python bytecode, which modelio never executes",
    "TorchModuleWrapper": "holds a pickled PyTorch module, which modelio never unpickles",
    "JaxLayer": "wraps JAX functions stored as Python code",
    "FlaxLayer": "wraps a Flax module stored as Python code",
    "TFSMLayer": "calls a TensorFlow SavedModel outside the model file",
    "DenseFeatures": "consumes TensorFlow feature columns, which have no Keras 3 form",
    "Layer": "is the abstract base class; a file names it only for a user's own subclass "
             "(map that name with custom_objects)",
    "Wrapper": "is an abstract base class; a file names it only for a user's own subclass "
               "(map that name with custom_objects)",
    "AbstractRNNCell": "is an abstract base class; a file names it only for a user's own "
                       "subclass (map that name with custom_objects)",
    "PreprocessingLayer": "is an abstract base class; a file names it only for a user's own "
                          "subclass (map that name with custom_objects)",
}


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
    entry["config"] = canonical_config(entry["config"],
                                       f"layer '{layer.name}' ({entry['class_name']})")
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
    custom = custom_layer_class(class_name, module, entry.get("registered_name"))
    if custom is not None:  # the user's own class, mapped by custom_objects: nothing imported
        return custom
    if module is not None:
        if not isinstance(module, str):
            raise ConfigError(f"{where}layer '{name}': module must be a string, got {module!r}")
        if not is_trusted_module(module):
            raise UnsafeContentError(
                f"{where}layer '{name}': refusing class '{class_name}' from module '{module}'; "
                f"modelio only builds its own Keras layer classes and never imports from a file "
                f"(map a custom class with custom_objects)"
            )
        if names_keras_operation(module):
            operation = OPERATION_CLASSES.get(class_name)
            if operation is None:
                why = REFUSED_OPERATIONS.get(class_name)
                raise UnsupportedError(f"{where}layer '{name}': Keras operation '{class_name}' "
                                       f"({module}) is not supported"
                                       f"{': it ' + why if why else ''}")
            return operation
    elif _unmarked_operation(entry, class_name):
        return OPERATION_CLASSES[class_name]
    if class_name in CODE_CARRYING_LAYERS:
        raise UnsafeContentError(
            f"{where}layer '{name}' is a {class_name}, which carries Python code; modelio never "
            f"executes code from a model file (rewrite it with built-in layers)"
        )
    cls = LAYER_CLASSES.get(class_name)
    if cls is None and class_name in REFUSED_LAYER_CLASSES:
        raise UnsupportedError(f"{where}layer '{name}': {class_name} "
                               f"{REFUSED_LAYER_CLASSES[class_name]}")
    if cls is None:
        hint = " (a custom class? map it with custom_objects)" if ">" in class_name else ""
        raise UnsupportedError(f"{where}layer '{name}': unknown layer class '{class_name}'{hint}")
    return cls


def _unmarked_operation(entry: dict, class_name: str) -> bool:
    """Keras 3's legacy `.h5` writer drops the `module` of a `keras.ops` call (ConvNeXt's
    `inputs + x` is `{"class_name": "Add", "config": {"name": "add"}}`), so its class name alone
    would pick the layer of that name. An operation's config never holds `trainable` or `dtype`,
    which every Keras layer's does: such an entry names the operation."""
    config = entry.get("config")
    return (class_name in OPERATION_CLASSES and isinstance(config, dict)
            and "trainable" not in config and "dtype" not in config
            and isinstance(entry.get("inbound_nodes"), list)
            and all(isinstance(node, dict) for node in entry["inbound_nodes"]))


def names_keras_operation(module: str) -> bool:
    """Whether an entry's `module` is Keras's operations (`keras.src.ops.numpy`, ...), whose
    class names are looked up among the operations. modelio's own modules (`modelio.ops` holds
    the ONNX-semantics layers) name layers."""
    if module == "modelio" or module.startswith("modelio."):
        return False
    return ".ops." in module or module.endswith(".ops")


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
        layer = cls.from_config(config)
    check_config_objects(config, f"{where}{kind} '{name}' ({entry['class_name']})")
    return layer


def canonical_config(config, where: str):
    """`config` as it is written: every nested serialized object in the form Keras 3 writes,
    built from its checked parts (see `serialized.check_object`). A mapping with a `class_name`
    or `module` must be a layer entry of modelio's registry (its contents checked the same way)
    or an object modelio knows (a Keras initializer, regularizer, constraint, dtype policy, seed
    generator, activation function or serialized-value marker); anything else is an
    UnsafeContentError starting with `where` (the layer) and giving the path of the object
    inside the config. When every object already is in that form (as layers keep them),
    `config` itself comes back; otherwise a copy. Every config written goes through here."""
    if not _walk_checked(config, where, copy=False):
        return config
    return _walk(config, where, copy=True, with_paths=False)


def check_config_objects(config, where: str) -> None:
    """Refuse, like `canonical_config`, a config holding a serialized object modelio does not
    know. Run on every config a layer is built from, after building: the arguments the layer
    checks itself fail first, with their own messages."""
    _walk_checked(config, where, copy=False)


def _walk_checked(config, where: str, copy: bool):
    try:
        return _walk(config, where, copy, with_paths=False)
    except ModelioError:  # walk again, spelling out where the refused object is
        _walk(config, where, copy, with_paths=True)
        raise


def _walk(config, where: str, copy: bool, with_paths: bool):
    """With `copy`, the canonical copy of `config`; without, whether it differs from it."""
    root = [config]
    stack = [(root, 0, None)]  # (container, key, trail): container[key] is still to check
    differs = False
    while stack:
        container, key, trail = stack.pop()
        value = container[key]
        if isinstance(value, dict):
            here = _at(where, trail) if with_paths else where
            if ("class_name" in value or "module" in value) and not _is_layer_entry(value, here):
                replacement = check_nested_object(value, here)
                if replacement is not None:
                    if copy:
                        container[key] = replacement
                    differs = differs or replacement != value
                    continue
            if copy:
                container[key] = value = dict(value)
            items = value.items()
        elif isinstance(value, (list, tuple)):
            if copy:
                container[key] = value = list(value)
            items = enumerate(value)
        else:
            continue
        for name, item in items:
            if isinstance(item, (dict, list, tuple)):
                stack.append((value, name, (trail, name) if with_paths else None))
    return root[0] if copy else differs


def _is_layer_entry(value: dict, where: str) -> bool:
    """Whether `value` names a registered layer or operation (refused if it names one from a
    foreign module or one that carries code). `Identity` is both a layer and an initializer: a
    layer config has a name."""
    class_name = value.get("class_name")
    if not isinstance(class_name, str):
        return False
    if isinstance(value.get("config"), dict) and is_custom_layer_entry(
            class_name, value.get("registered_name")):
        return True
    if class_name not in CODE_CARRYING_LAYERS and class_name not in LAYER_CLASSES \
            and class_name not in OPERATION_CLASSES:
        return False
    config = value.get("config")
    if object_kind_named(class_name) is not None and not (isinstance(config, dict)
                                                          and "name" in config):
        return False
    # Keras writes no registered_name for its own layers (or the class name, for models); any
    # other is a custom object, and an entry without a config mapping is no layer's
    registered = value.get("registered_name")
    if not isinstance(config, dict) or registered not in (None, class_name):
        return False
    layer_class_for(value, where + ": ")
    return True


def _at(where: str, trail) -> str:
    """`where` followed by the path a trail of (parent trail, key) pairs spells: `layer 'd'
    (Dense): kernel_regularizer.config.l2`, `...: layers[2].config.activity_regularizer`."""
    parts = []
    while trail is not None:
        trail, key = trail
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    path = "".join(reversed(parts)).lstrip(".")
    return f"{where}: {path}" if path else where


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
