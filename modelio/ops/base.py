"""KerasOp: the base of the Keras 3 operations whose config is Keras's auto-config — `name` and
every constructor argument with its default filled in (`ARGUMENTS`, in Keras's order) — and the
helpers their shape rules share.

A subclass gives `ARGUMENTS` (argument -> default; REQUIRED for none), `check()` (validate
`self.arguments`), `call(*args)` (numpy) and `output_spec(*args)` ((shape, dtype), or a list of
them for several outputs). Unknown or missing arguments are ConfigErrors naming the operation.
"""

import numpy as np

from ..errors import ConfigError
from ..graph.operation import Operation, spec_of
from ..graph.tensor import SymbolicTensor
from ..graph.tree import map_structure

__all__ = ["REQUIRED", "KerasOp", "axis_list", "float_dtype", "normalize_axis", "spec_of"]

REQUIRED = object()  # an argument without a default
_PLAIN = (bool, int, float, str, slice, type(Ellipsis), type(None))


class KerasOp(Operation):
    """A Keras 3 operation with Keras's auto-config (see the module docstring)."""

    ARGUMENTS: dict = {}
    _config_has_name = True  # Keras writes no `name` for ops whose __init__ takes none

    def __init__(self, name=None, **arguments):
        label = f"operation '{name or type(self).__name__}' ({type(self).__name__})"
        unknown = sorted(set(arguments) - set(self.ARGUMENTS))
        if unknown:
            raise ConfigError(f"{label}: unknown argument(s) {', '.join(unknown)}; expected "
                              f"{', '.join(self.ARGUMENTS) or 'none'}")
        values = {}
        for key, default in self.ARGUMENTS.items():
            value = arguments.get(key, default)
            if value is REQUIRED:
                raise ConfigError(f"{label}: missing argument '{key}'")
            values[key] = _lists(value)
        super().__init__(name=name)
        self.arguments = values
        self.check()

    @property
    def label(self) -> str:
        return f"operation '{self.name}' ({type(self).__name__})"

    def fail(self, message: str):
        raise ConfigError(f"{self.label}: {message}")

    def check(self) -> None:
        """Validate `self.arguments` (raise with `self.fail`)."""

    def check_int(self, key: str, allow_none: bool = False, minimum=None):
        value = self.arguments[key]
        if value is None and allow_none:
            return
        if not isinstance(value, int) or isinstance(value, bool) or (
                minimum is not None and value < minimum):
            bound = f" >= {minimum}" if minimum is not None else ""
            self.fail(f"{key} must be an integer{bound}{' or null' if allow_none else ''}, "
                      f"got {value!r}")

    def check_axes(self, key: str = "axis", allow_none: bool = True):
        value = self.arguments[key]
        if value is None and allow_none:
            return
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(item, int) and not isinstance(item, bool)
                                for item in items):
            self.fail(f"{key} must be an integer or a list of integers"
                      f"{' or null' if allow_none else ''}, got {value!r}")

    def check_number(self, key: str, allow_none: bool = False):
        value = self.arguments[key]
        if value is None and allow_none:
            return
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            self.fail(f"{key} must be a number{' or null' if allow_none else ''}, got {value!r}")

    def check_choice(self, key: str, choices):
        if self.arguments[key] not in choices:
            self.fail(f"{key} must be one of {list(choices)}, got {self.arguments[key]!r}")

    def get_config(self) -> dict:
        config = {"name": self.name} if self._config_has_name else {}
        return {**config, **{key: _lists(value) for key, value in self.arguments.items()}}

    @classmethod
    def from_config(cls, config: dict):
        if not isinstance(config, dict):
            raise ConfigError(f"operation {cls.__name__}: config must be a mapping")
        return cls(**config)

    def compute_output_spec(self, *args, **kwargs):
        spec = self.output_spec(*args, **kwargs)
        if isinstance(spec, list):
            return [SymbolicTensor(shape, dtype) for shape, dtype in spec]
        shape, dtype = spec
        return SymbolicTensor(shape, dtype)

    def _eager_call(self, args: tuple, kwargs: dict):
        def array(value):
            return value if isinstance(value, _PLAIN) else np.asarray(value)
        return self.call(*map_structure(array, args), **map_structure(array, kwargs))


def _lists(value):
    """Tuples as lists, as a config read from JSON has them."""
    if isinstance(value, (list, tuple)):
        return [_lists(item) for item in value]
    return value


def normalize_axis(op, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        op.fail(f"axis {axis} is out of range for rank {rank}")
    return axis % rank


def axis_list(op, axis, rank: int) -> list[int]:
    """`axis` (None: all, an int or a list) as sorted positive axes."""
    if axis is None:
        return list(range(rank))
    items = axis if isinstance(axis, (list, tuple)) else [axis]
    return sorted({normalize_axis(op, item, rank) for item in items})


def float_dtype(dtype: str) -> str:
    """Keras's result dtype of a float function of `dtype`: floats keep theirs, the rest float32."""
    return dtype if np.dtype(dtype).kind == "f" else "float32"
