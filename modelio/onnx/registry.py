"""The two ONNX registries, filled by decorators beside the code they register:

- `@lowers(LayerClass, ...)`: which function lowers which layer class to ONNX nodes (export),
  looked up along the class's MRO so that a subclass can reuse its parent's;
- `@converts("OpType", ...)`: which function converts which ONNX op type to layers (import).

A key registered twice is a programming error (two modules claiming one class or op): the
second registration raises `DuplicateRegistration` when its module is imported."""

import functools
from collections.abc import Callable

from ..errors import UnsupportedError

LOWERINGS: dict[type, Callable] = {}
CONVERTERS: dict[str, Callable] = {}


class DuplicateRegistration(RuntimeError):
    """A layer class or ONNX op type was given a second lowering or converter."""


def _register(table: dict, keys: tuple, function: Callable, what: str) -> None:
    """Add `function` under each of `keys`, or none of them when one is taken already."""
    for index, key in enumerate(keys):
        if key in table or key in keys[:index]:
            name = key.__name__ if isinstance(key, type) else key
            holder = table.get(key, function)
            raise DuplicateRegistration(f"{what} {name} is registered twice: by {_where(holder)} "
                                        f"and by {_where(function)}")
    table.update(dict.fromkeys(keys, function))


def _where(function: Callable) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def lowers(*layer_classes: type):
    """Register `function(graph, node, args, kwargs) -> output names` for `layer_classes`.

    `args`/`kwargs` are the node's call arguments with every tensor replaced by its ONNX name;
    `node` gives the layer (`node.layer`) and the symbolic shapes of inputs and outputs.
    Raises DuplicateRegistration for a class that already has a lowering."""

    def decorate(function: Callable) -> Callable:
        _register(LOWERINGS, layer_classes, function, "the ONNX lowering of layer class")
        return function

    return decorate


def lowers_float32(*layer_classes: type):
    """`lowers` for lowerings that write float32 constants and weights: the registered function
    refuses (UnsupportedError, when the model is exported) a layer computing in another dtype,
    and is marked `float32_only`: the exporter runs a float16 layer's lowering in float32 (its
    inputs cast, its weights stored in float16 and cast, its outputs cast back to float16)."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def checked(graph, node, args, kwargs):
            dtype = getattr(node.layer, "compute_dtype", "float32")
            if dtype != "float32":
                raise UnsupportedError(f"layer '{node.layer.name}': exporting a {dtype} "
                                       f"{type(node.layer).__name__} to ONNX is not supported yet")
            return function(graph, node, args, kwargs)

        # the exporter lowers half-precision layers of these classes in float32 between
        # half-precision casts (see export.py), so a file still holds float16 tensors
        checked.float32_only = True
        return lowers(*layer_classes)(checked)

    return decorate


def lowering_for(layer) -> Callable | None:
    """The lowering registered for `layer`'s class or its nearest base class, or None."""
    for cls in type(layer).__mro__:
        if cls in LOWERINGS:
            return LOWERINGS[cls]
    return None


def converts(*op_types: str):
    """Register `function(context, node) -> list of values` for the ONNX `op_types` (default
    domain). Raises DuplicateRegistration for an op type that already has a converter."""

    def decorate(function: Callable) -> Callable:
        _register(CONVERTERS, op_types, function, "the ONNX converter of op type")
        return function

    return decorate
