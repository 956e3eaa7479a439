"""Values known while importing: telling constants from run-time tensors, folding constants,
and the size limits on folded constants and on one sample of a run-time tensor."""

import math

import numpy as np

from ...errors import FormatError
from ...graph.tensor import SymbolicTensor
from ..import_context import ImportContext

# No constant computed while importing may hold more elements than this.
MAX_FOLDED_ELEMENTS = 2**28


def is_tensor(value) -> bool:
    return isinstance(value, SymbolicTensor)


def checked_constant(context: ImportContext, node, array) -> np.ndarray:
    """`array` as a numpy array, refused when larger than MAX_FOLDED_ELEMENTS."""
    array = np.asarray(array)
    if array.size > MAX_FOLDED_ELEMENTS:
        raise FormatError(f"{context.where(node)}: a constant of shape {array.shape} is too large "
                          f"(more than {MAX_FOLDED_ELEMENTS} elements)")
    return array


def check_fold_shape(context: ImportContext, node, shape) -> tuple:
    """A shape about to be allocated: non-negative dims, not too many elements."""
    dims = tuple(int(dim) for dim in np.asarray(shape).reshape(-1))
    if any(dim < 0 for dim in dims) or math.prod(dims) > MAX_FOLDED_ELEMENTS:
        raise FormatError(f"{context.where(node)}: refusing to build a constant of shape {dims}")
    return dims


def fold(context: ImportContext, node, function, *arrays):
    """`function(*arrays)` for a node whose inputs are all constants."""
    with np.errstate(all="ignore"):
        return checked_constant(context, node, function(*arrays))


MAX_SAMPLE_ELEMENTS = 2**28


def bounded_tensor(context, node, tensor):
    """`tensor`, refused when one sample would hold more than MAX_SAMPLE_ELEMENTS values (a
    hostile Resize / Pad / ConvTranspose must fail here, not when the model first runs)."""
    size = float(np.prod([dim for dim in tensor.shape[1:] if dim is not None], dtype=np.float64))
    if size > MAX_SAMPLE_ELEMENTS:
        raise FormatError(f"{context.where(node)}: the output of shape {tuple(tensor.shape)} "
                          f"would hold {size:.3g} values per sample (at most "
                          f"{MAX_SAMPLE_ELEMENTS} are imported)")
    return tensor
