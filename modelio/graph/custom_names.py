"""The active `custom_objects` and what was built from them (see `custom_objects.py`): kept
apart, importing nothing, so that the safe config reader (`serialization`, `serialized`) can ask
about custom names without importing the graph classes that the custom objects need.
"""

import contextlib
import contextvars
import inspect

_scope = contextvars.ContextVar("modelio_custom_objects", default=None)
# Classes made to carry a custom layer's identity (file class name, module, registered name),
# by that identity: the config walk accepts their entries when a model holding them is saved.
_IDENTITIES: dict[tuple, type] = {}
# Activation function names the user mapped (the config walk accepts them when written back).
_FUNCTION_NAMES: set[str] = set()


@contextlib.contextmanager
def scope(checked: dict):
    """Make the checked mapping `checked` active (on top of an enclosing one) for the block."""
    token = _scope.set({**(_scope.get() or {}), **checked})
    try:
        yield
    finally:
        _scope.reset(token)


def lookup(name: str):
    """The custom object for `name` in the active scope, or None."""
    objects = _scope.get()
    if not objects or not isinstance(name, str):
        return None
    if name in objects:
        return objects[name]
    short = name.rsplit(">", 1)[-1]
    if short in objects:
        return objects[short]
    return next((value for key, value in objects.items() if key.endswith(f">{short}")), None)


def custom_layer_class(class_name: str, module, registered_name) -> type | None:
    """The class to build a layer entry with when the scope maps its registered name or class
    name to a Layer subclass: a subclass of it carrying the file's identity (class name, module
    and registered name, written back by `serialize_layer`), or None."""
    for key in (registered_name, class_name):
        found = lookup(key) if isinstance(key, str) else None
        if inspect.isclass(found):
            return _identity_class(found, class_name, module, registered_name)
    return None


def _identity_class(cls: type, class_name: str, module, registered_name) -> type:
    """A subclass of `cls` that writes back Keras 3's identity for the file's custom class:
    class name, module (None when the file had none) and registered name (tf-keras's
    `"pkg>Name"` class names become class "Name" registered as "pkg>Name", as Keras 3 writes)."""
    registered_name = registered_name if isinstance(registered_name, str) else None
    if registered_name is None and ">" in class_name:
        registered_name, class_name = class_name, class_name.rsplit(">", 1)[1]
    key = (cls, class_name, module if isinstance(module, str) else None, registered_name)
    made = _IDENTITIES.get(key)
    if made is None:
        made = type(cls.__name__, (cls,), {
            "__module__": cls.__module__, "__qualname__": cls.__qualname__,
            "_keras_class_name": class_name, "_keras_module": key[2],
            "_registered_name": key[3], "_custom_object": True})
        _IDENTITIES[key] = made
    return made


def is_custom_layer_entry(class_name, registered_name) -> bool:
    """Whether a layer entry names a custom class the user mapped (in the active scope, or for
    a layer built earlier that is being written back)."""
    if not isinstance(class_name, str):
        return False
    if any(name == class_name and registered == registered_name
           for _, name, _, registered in _IDENTITIES):
        return True
    return any(inspect.isclass(lookup(key)) for key in (registered_name, class_name)
               if isinstance(key, str))


def remember_function_name(name: str) -> None:
    _FUNCTION_NAMES.add(name)


def is_custom_function_name(name) -> bool:
    """Whether an activation function name is one the user mapped (now or for a layer built
    earlier), so that a config holding it may be read and written back."""
    return isinstance(name, str) and (name in _FUNCTION_NAMES or (
        lookup(name) is not None and not inspect.isclass(lookup(name))))
