"""The batch shape a layer's `input_shape` / `input_dim` / `batch_input_shape` / `batch_size`
arguments declare (a Sequential's first layer, an InputLayer), checked."""

from ..errors import ConfigError

__all__ = ["as_dims", "batch_shape_argument"]


def batch_shape_argument(label, input_shape, input_dim, batch_input_shape, batch_size):
    """The (batch, ...) shape a Sequential's first layer declares, or None."""
    if batch_input_shape is not None:
        shape = batch_input_shape
    elif input_shape is not None:
        shape = [batch_size, *as_dims(label, input_shape)]
    elif input_dim is not None:
        shape = [batch_size, input_dim]
    else:
        return None
    return tuple(as_dims(label, shape))


def as_dims(label, shape) -> list:
    """`shape` (a list, tuple or one size) as a list of non-negative ints or None; a
    ConfigError naming layer `label` otherwise."""
    if not isinstance(shape, (list, tuple)):
        shape = [shape]
    dims = []
    for dim in shape:
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 0):
            raise ConfigError(f"layer '{label}': shape {shape!r} must hold non-negative integers or null")
        dims.append(dim)
    return dims

