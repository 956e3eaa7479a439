"""`custom_objects`: names a file uses that only the user's own code explains, mapped by the
user (`modelio.load_model(path, custom_objects={...})`, `modelio --custom-objects module:attr`).

A file never brings code: a custom activation is saved by *name* (`"my_act"`, `"pkg>my_act"`,
tf-keras's `"<lambda>"`), a custom layer by class name (`"MyScale"`, registered name
`"pkg>MyScale"`). Without a mapping those stay refused as before. With one, the name means what
the user says; a value is

- a function of one symbolic tensor built from modelio layers and ops, e.g.
  `lambda x: modelio.layers.Multiply()([x, modelio.layers.Activation("sigmoid")(x)])`: the
  activation is traced into a small graph of those layers (once per input shape), which computes
  it in numpy and which the ONNX exporter lowers node by node (so it exports like any layer);
- a built-in activation with arguments: `"relu"`, or `("leaky_relu", {"negative_slope": 0.2})`
  (resolved by modelio/layers/activations.py into such a function);
- a subclass of `modelio.Layer`, for a layer class name: the layer is built by its
  `from_config` (config keys go to its constructor). It is written back under the file's class
  name, module and registered name, so Keras with the same custom class loads modelio's file.

Keys are looked up as Keras does: the exact name (registered name first for layers), then the
name after `>`, then a key ending in `>name`. This module holds the scope and the activation
object; the layers and the safe config reader consult it.
"""

import contextlib
import inspect
from collections.abc import Callable

import numpy as np

from ..errors import ConfigError
from .custom_names import (
    custom_layer_class,
    is_custom_layer_entry,
    lookup,
    remember_function_name,
    scope,
)
from .functional import Functional
from .input_layer import Input
from .layer import Layer
from .tensor import SymbolicTensor


def check_custom_objects(objects) -> dict:
    """`objects` checked: a mapping of non-empty names to a function, a Layer subclass, an
    activation name or an `(activation name, {arguments})` pair. A ConfigError otherwise."""
    if objects is None:
        return {}
    if not isinstance(objects, dict):
        raise ConfigError(f"custom_objects must be a dict of names to objects, got "
                          f"{type(objects).__name__}")
    for name, value in objects.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"custom_objects: every key must be a non-empty name, got {name!r}")
        if inspect.isclass(value):
            if not issubclass(value, Layer):
                raise ConfigError(f"custom_objects[{name!r}]: a class must be a subclass of "
                                  f"modelio.Layer, got {value.__qualname__}")
        elif isinstance(value, str) or _is_spec(value):
            continue
        elif not callable(value):
            raise ConfigError(f"custom_objects[{name!r}]: expected a function of modelio layers "
                              f"and ops, a modelio.Layer subclass, an activation name or an "
                              f"(activation name, {{arguments}}) pair; got {value!r}")
    return dict(objects)


def _is_spec(value) -> bool:
    return (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)
            and isinstance(value[1], dict))


@contextlib.contextmanager
def custom_object_scope(objects):
    """Within this block, names in `objects` (see the module docstring) resolve while configs
    are read. Scopes nest; the inner one's names win."""
    with scope(check_custom_objects(objects)):
        yield


class CustomActivation(str):
    """An activation the file names (`str(self)`, what `activation_name` compares with) and the
    user defined with `function`, a function of one symbolic tensor built from modelio layers
    and ops. `serialized` is what the layer writes back (the file's own identifier).

    Traced into a graph per input shape (`graph_for`); the numpy call runs that graph and the
    ONNX exporter lowers it (`traced_graphs`)."""

    def __new__(cls, name: str, function: Callable, serialized, layer_name: str | None = None):
        self = super().__new__(cls, name)
        self.function, self.serialized, self.layer_name = function, serialized, layer_name
        self._graphs: dict[tuple, Functional] = {}
        remember_function_name(name)
        return self

    def graph_for(self, shape: tuple, dtype: str = "float32") -> Functional:
        """The traced graph for inputs of `shape` (its batch axis free)."""
        key = (len(shape), shape[-1] if shape else None, dtype)
        graph = self._graphs.get(key)
        if graph is None:
            graph = self._trace((None, *shape[1:]) if shape else (), dtype)
            self._graphs[key] = graph
        return graph

    def _trace(self, batch_shape: tuple, dtype: str) -> Functional:
        where = (f"layer '{self.layer_name}': " if self.layer_name else "") + \
            f"custom activation {str(self)!r}"
        inputs = Input(batch_shape=batch_shape, dtype=dtype)
        try:
            outputs = self.function(inputs)
        except Exception as exc:  # the user's function: any failure is reported, one line
            raise ConfigError(f"{where}: calling it on a symbolic tensor failed "
                              f"({type(exc).__name__}: {str(exc)[:200]}); it must be built from "
                              f"modelio layers and ops") from exc
        if not isinstance(outputs, SymbolicTensor):
            raise ConfigError(f"{where}: it must return the symbolic tensor its modelio layers "
                              f"and ops computed, got {type(outputs).__name__}")
        graph = Functional(inputs, outputs, name=f"custom_activation_{str(self)}"[:200])
        if graph.weights:
            raise ConfigError(f"{where}: it creates weights, which an activation has none of "
                              f"(use a custom layer)")
        if tuple(outputs.shape) != tuple(inputs.shape):
            raise ConfigError(f"{where}: it changes the shape {tuple(inputs.shape)} to "
                              f"{tuple(outputs.shape)}; an activation keeps it")
        return graph

    def output_shape(self, shape: tuple) -> tuple:
        """`shape`, after checking that the activation traces on it."""
        self.graph_for(tuple(shape))
        return tuple(shape)

    def __call__(self, x):
        x = np.asarray(x)
        return self.graph_for(x.shape, x.dtype.name).call(x)

    def traced_graphs(self) -> list[Functional]:
        """The graphs traced so far (the ONNX exporter lowers the first)."""
        return list(self._graphs.values())

    def __getnewargs__(self):  # copy.copy / deepcopy rebuild it (the traced graphs are redone)
        return str(self), self.function, self.serialized, self.layer_name

    def __getstate__(self):
        return None


LAMBDA_NAME = "<lambda>"


def is_lambda_code(identifier) -> bool:
    """A lambda activation saved as its bytecode: tf-keras's `{"value": [code, defaults,
    closure]}` or Keras 3's `{"class_name": "__lambda__", ...}` (never run: a custom_objects
    entry for "<lambda>" replaces it)."""
    return isinstance(identifier, dict) and (
        identifier.get("class_name") == "__lambda__"
        or ("value" in identifier and "class_name" not in identifier))


def activation_identifier_name(identifier):
    """The name an activation identifier looks up in custom_objects: the string itself, the
    function name of Keras's `{"class_name": "function", "config": name}`, "<lambda>" for a
    lambda's bytecode; None for anything else."""
    if isinstance(identifier, str):
        return identifier
    if is_lambda_code(identifier):
        return LAMBDA_NAME
    if isinstance(identifier, dict) and identifier.get("class_name") == "function":
        name = identifier.get("config")
        return name if isinstance(name, str) else None
    return None


def custom_activation_for(identifier) -> object | None:
    """The custom object the scope maps an activation identifier (a name, or Keras's
    `{"class_name": "function", "config": name}`) to, or None."""
    name = activation_identifier_name(identifier)
    if not isinstance(name, str):
        return None
    found = lookup(name)
    return None if inspect.isclass(found) else found


__all__ = ["CustomActivation", "check_custom_objects", "custom_activation_for",
           "custom_layer_class", "custom_object_scope", "is_custom_layer_entry", "lookup"]
