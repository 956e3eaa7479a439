"""The layer registry: class name -> modelio class. Filled by `@register_layer` beside each layer."""

LAYER_CLASSES: dict[str, type] = {}
# Keras 3 operations (`keras.src.ops.*` entries in a config, e.g. the NotEqual that computes an
# Embedding's mask). Separate from layers: `Concatenate` the op is not `Concatenate` the layer.
OPERATION_CLASSES: dict[str, type] = {}


def register_layer(*aliases: str):
    """Register a layer class under its own name and any `aliases` (older Keras class names)."""

    def decorate(cls: type) -> type:
        for name in (cls.__name__, *aliases):
            LAYER_CLASSES[name] = cls
        return cls

    return decorate


def register_operation(cls: type) -> type:
    """Register a Keras 3 operation class under its class name."""
    OPERATION_CLASSES[cls.__name__] = cls
    return cls
