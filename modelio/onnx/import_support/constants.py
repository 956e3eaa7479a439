"""Values known while importing: telling constants from run-time tensors, folding constants,
and the size limits on folded constants and on one sample of a run-time tensor."""

import numpy as np

from ...errors import FormatError
from ...graph.tensor import SymbolicTensor
from ..import_context import ImportContext

# Sizes a converter checks that are no folded constant (Resize sizes); folded constants are
# budgeted in bytes by the import's FoldBudget (import_context.py).
MAX_FOLDED_ELEMENTS = 2**28


def is_tensor(value) -> bool:
    return isinstance(value, SymbolicTensor)


def checked_constant(context: ImportContext, node, array) -> np.ndarray:
    """`array` as a numpy array, refused when it does not fit the import's folding budget."""
    array = np.asarray(array)
    context.fold_budget.check(context.where(node), array.shape, array.dtype)
    return array


def check_fold_shape(context: ImportContext, node, shape, dtype) -> tuple:
    """A shape about to be allocated as a constant of `dtype`: non-negative dims that fit the
    import's folding budget."""
    dims = tuple(int(dim) for dim in np.asarray(shape).reshape(-1))
    if any(dim < 0 for dim in dims):
        raise FormatError(f"{context.where(node)}: refusing to build a constant of shape {dims}")
    context.fold_budget.check(context.where(node), dims, dtype)
    return dims


def fold(context: ImportContext, node, function, *arrays, shape=None, dtype=None):
    """`function(*arrays)` for a node whose inputs are all constants. Where the result may be
    larger than the inputs, pass its `shape` and `dtype`: they are checked against the import's
    folding budget before anything is computed."""
    if shape is not None:
        check_fold_shape(context, node, shape, dtype)
    with np.errstate(all="ignore"):
        return checked_constant(context, node, function(*arrays))


def broadcast_result(context: ImportContext, node, arrays) -> tuple:
    """(shape, widest dtype) of an elementwise result on constant `arrays`, for `fold`."""
    try:
        shape = np.broadcast_shapes(*(np.shape(array) for array in arrays))
    except ValueError as exc:
        raise FormatError(f"{context.where(node)}: inputs of shapes "
                          f"{[np.shape(array) for array in arrays]} do not broadcast") from exc
    return shape, widest_dtype(arrays)


def widest_dtype(arrays) -> np.dtype:
    """The widest of the dtypes of `arrays` and of their common type (a bound on the itemsize
    of a result computed from them)."""
    dtypes = [np.asarray(array).dtype for array in arrays]
    try:
        dtypes.append(np.result_type(*dtypes))
    except TypeError:  # no common type: the function refuses these inputs
        pass
    return max(dtypes, key=lambda dtype: dtype.itemsize)


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
