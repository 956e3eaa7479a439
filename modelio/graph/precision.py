"""Half precision carried in float32: how numpy runs bfloat16 layers, and how the ONNX exporter
lowers float16 layers whose lowerings are written for float32."""

import contextlib
import contextvars

import numpy as np

from .dtypes import is_float_dtype
from .tree import map_structure

# Layers (by id) whose half-precision arithmetic is carried out in float32 just now: their
# `compute_dtype` reads float32 and `value_of` gives weights rounded to the policy's compute
# dtype and widened back, so kernels and ONNX lowerings written for float32 serve them unchanged.
_float32_carried = contextvars.ContextVar("float32_carried", default=frozenset())


@contextlib.contextmanager
def float32_carrier(layer):
    """Inside this block `layer` (computing in float16 or bfloat16) computes in float32 on
    values rounded to its compute dtype: `layer.compute_dtype` reads "float32" and
    `layer.value_of(weight)` is the weight cast to the policy's compute dtype (as Keras casts
    variables when a layer is called) and widened exactly to float32. Whoever opens the block
    rounds the layer's inputs and outputs to the policy's compute dtype. numpy runs bfloat16
    layers so (numpy has no bfloat16 arithmetic; `ml_dtypes`' is element by element), and the
    ONNX exporter lowers so the layers whose lowerings write float32 constants."""
    token = _float32_carried.set(_float32_carried.get() | {id(layer)})
    try:
        yield
    finally:
        _float32_carried.reset(token)


def is_carried(layer) -> bool:
    """True inside a `float32_carrier` block for `layer`."""
    return id(layer) in _float32_carried.get()


def carried_call(layer, args: tuple, kwargs: dict):
    """A bfloat16 layer's eager call: float inputs rounded to bfloat16 (Keras's autocast at
    layer entry), the arithmetic in float32 (`float32_carrier`), float outputs rounded to
    bfloat16. Keras rounds after every operation inside the layer too: the results differ by a
    few bfloat16 steps at most (2**-8 relative each)."""
    dtype = layer.dtype_policy.compute_dtype

    def entering(value):
        if not isinstance(value, (np.ndarray, np.generic)) or not is_float_dtype(value.dtype):
            return value
        return value.astype(dtype).astype(np.float32)

    def leaving(value):
        if isinstance(value, np.ndarray) and is_float_dtype(value.dtype):
            return value.astype(dtype)
        return value

    first = map_structure(layer._to_array, args[0])
    args = (map_structure(entering, first), *map_structure(entering, args[1:]))
    kwargs = {key: map_structure(entering, value) for key, value in kwargs.items()}
    with float32_carrier(layer):
        outputs = layer._eager_call(args, kwargs)
    return map_structure(leaving, outputs)
