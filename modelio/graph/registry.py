"""The layer registry: class name -> modelio class. Filled by `@register_layer` beside each layer."""

LAYER_CLASSES: dict[str, type] = {}


def register_layer(*aliases: str):
    """Register a layer class under its own name and any `aliases` (older Keras class names)."""

    def decorate(cls: type) -> type:
        for name in (cls.__name__, *aliases):
            LAYER_CLASSES[name] = cls
        return cls

    return decorate
