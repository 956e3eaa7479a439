"""Operations: the Keras 3 `keras.ops` calls that appear in a functional graph.

Keras 3 records some computations as operation nodes rather than layers — most importantly masks
(`Embedding(mask_zero=True)` adds a `NotEqual` node whose output reaches later layers as `mask=`).
An Operation is a weightless Layer whose config is only its name and arguments, whose call takes
several positional arguments, and which `model.layers` leaves out (as Keras does).
"""

import numpy as np

from ..errors import ConfigError
from .layer import Layer
from .node import Node
from .tensor import SymbolicTensor
from .tree import map_structure


class Operation(Layer):
    """Base of Keras 3 operations. Subclasses give `call(*args)` (numpy) and `output_spec(*args)`
    (returns (shape, dtype) for symbolic args; shapes use None for unknown sizes)."""

    _keras_module = "keras.src.ops.numpy"
    _is_operation = True
    _config_arguments: tuple[str, ...] = ()  # constructor arguments written to the config

    def __init__(self, name: str | None = None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.built = True

    @property
    def _registered_name(self):  # Keras 3 writes the class name here for operations
        return type(self).__name__

    def get_config(self) -> dict:
        return {"name": self.name, **{key: getattr(self, key) for key in self._config_arguments}}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def get_build_config(self):
        return None

    def compute_output_spec(self, *args, **kwargs):
        shape, dtype = self.output_spec(*args, **kwargs)
        return SymbolicTensor(shape, dtype)

    def output_spec(self, *args, **kwargs):
        raise NotImplementedError

    def _eager_call(self, args: tuple, kwargs: dict):
        arrays = map_structure(lambda value: value if value is None else np.asarray(value), args)
        return self.call(*arrays, **kwargs)

    def _symbolic_call(self, args: tuple, kwargs: dict):
        self._check_call_arguments(args, kwargs)
        outputs = self.compute_output_spec(*args, **kwargs)
        Node(self, args, kwargs, outputs)
        return outputs


def spec_of(value) -> tuple[tuple, str]:
    """(shape, dtype) of a symbolic tensor, array or Python scalar."""
    if isinstance(value, SymbolicTensor):
        return value.shape, value.dtype
    array = np.asarray(value)
    return array.shape, array.dtype.name


def broadcast_shapes(*shapes, where: str = "") -> tuple:
    """The shape numpy broadcasting gives `shapes`, whose sizes may be None (unknown).

    Raises ConfigError, its message led by `where` (e.g. "layer 'x': "), when they do not
    broadcast."""
    rank = max((len(shape) for shape in shapes), default=0)
    result = []
    for axis in range(rank):
        sizes = [shape[axis - rank + len(shape)] for shape in shapes
                 if axis - rank + len(shape) >= 0]
        known = {size for size in sizes if size is not None and size != 1}
        if len(known) > 1:
            raise ConfigError(f"{where}shapes {[tuple(shape) for shape in shapes]} do not "
                              f"broadcast")
        if known:
            result.append(known.pop())
        elif None in sizes:
            result.append(None)
        else:
            result.append(1)
    return tuple(result)
