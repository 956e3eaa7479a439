"""The layer registry: class name -> modelio class. Filled by `@register_layer` beside each layer.

A name is registered once: a second class under a name already taken is a programming error
(two layers would answer to one `class_name` in a file), refused when the module is imported.
"""

LAYER_CLASSES: dict[str, type] = {}
# Keras 3 operations (`keras.src.ops.*` entries in a config, e.g. the NotEqual that computes an
# Embedding's mask). Separate from layers: `Concatenate` the op is not `Concatenate` the layer.
OPERATION_CLASSES: dict[str, type] = {}
# Keras 3 operation class name -> its form in tf-keras's dialect (a TFOpLambda call), consulted by
# keras2_config; filled by modelio/ops/tf_function_forms.py. A form is
# `form(class_name, config, args, kwargs) -> (keras2 class name, function, first, arguments)`,
# raising UnsupportedError where TensorFlow's function would compute something else.
KERAS2_OPERATION_FORMS: dict = {}


def _register(registry: dict[str, type], what: str, name: str, cls: type) -> None:
    taken = registry.get(name)
    if taken is not None:
        raise ValueError(f"{what} name {name!r} is already registered to "
                         f"{taken.__module__}.{taken.__qualname__}; cannot register "
                         f"{cls.__module__}.{cls.__qualname__} under it too")
    registry[name] = cls


def register_layer(*aliases: str):
    """Register a layer class under its own name and any `aliases` (older Keras class names).

    Raises ValueError when one of those names already belongs to another class."""

    def decorate(cls: type) -> type:
        for name in (cls.__name__, *aliases):
            _register(LAYER_CLASSES, "layer", name, cls)
        return cls

    return decorate


def register_operation(cls: type) -> type:
    """Register a Keras 3 operation class under its class name.

    Raises ValueError when that name already belongs to another operation class."""
    _register(OPERATION_CLASSES, "operation", cls.__name__, cls)
    return cls


def register_keras2_operation_form(class_name: str, form) -> None:
    """Register how the Keras 3 operation `class_name` is written in the Keras 2 dialect.

    Raises ValueError when `class_name` already has a form."""
    if class_name in KERAS2_OPERATION_FORMS:
        raise ValueError(f"operation {class_name!r} already has a Keras 2 form")
    KERAS2_OPERATION_FORMS[class_name] = form
