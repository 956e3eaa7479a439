"""Sorting: `keras.ops.numpy`'s `Sort` and `Argsort` and `keras.ops.math`'s `TopK`, each its
own registered class with Keras's config. Indices are int32, as Keras gives them."""

import numpy as np

from ...graph.registry import register_operation
from ..base import REQUIRED, KerasOp, normalize_axis, spec_of

__all__ = ["Argsort", "Sort", "TopK"]


class _AxisSort(KerasOp):
    ARGUMENTS = {"axis": -1}

    def check(self):
        self.check_int("axis", allow_none=True)

    def _flat(self, x):
        axis = self.arguments["axis"]
        return (x.reshape(-1), 0) if axis is None else (x, normalize_axis(self, axis, x.ndim))

    def _shape(self, shape):
        if self.arguments["axis"] is None:
            return (None if None in shape else int(np.prod(shape)),)
        normalize_axis(self, self.arguments["axis"], len(shape))
        return tuple(shape)


@register_operation
class Sort(_AxisSort):
    """`x` sorted ascending along `axis` (None: flattened)."""

    def call(self, x):
        return np.sort(*self._flat(x))

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        return self._shape(shape), dtype


@register_operation
class Argsort(_AxisSort):
    """The indices (int32) that sort `x` ascending along `axis` (stable)."""

    def call(self, x):
        values, axis = self._flat(x)
        return np.argsort(values, axis=axis, kind="stable").astype(np.int32)

    def output_spec(self, x):
        shape, _ = spec_of(x)
        return self._shape(shape), "int32"


@register_operation
class TopK(KerasOp):
    """The `k` largest values of the last axis and their indices (int32), largest first (ties:
    the lower index first)."""

    _keras_module = "keras.src.ops.math"
    ARGUMENTS = {"k": REQUIRED, "sorted": True}

    def check(self):
        self.check_int("k", minimum=1)
        if not isinstance(self.arguments["sorted"], bool):
            self.fail(f"sorted must be true or false, got {self.arguments['sorted']!r}")

    def call(self, x):
        k = self.arguments["k"]
        if x.shape[-1] < k:
            self.fail(f"k={k} exceeds the last axis ({x.shape[-1]})")
        # ~x reverses the order of bools and of signed and unsigned integers without overflow
        order = np.argsort(~x if x.dtype.kind in "biu" else -x, axis=-1, kind="stable")[..., :k]
        return [np.take_along_axis(x, order, axis=-1), order.astype(np.int32)]

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        if not shape:
            self.fail("top_k needs a tensor of rank >= 1")
        if shape[-1] is not None and shape[-1] < self.arguments["k"]:
            self.fail(f"k={self.arguments['k']} exceeds the last axis ({shape[-1]})")
        out = tuple(shape[:-1]) + (self.arguments["k"],)
        return [(out, dtype), (out, "int32")]
