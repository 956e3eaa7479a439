"""Both ONNX directions for the keras.ops numpy family (modelio/ops/numpy/), one module per
topic as there: elementwise, reduction, shape, creation, indexing, linear."""

from . import creation, elementwise, indexing, linear, reduction, shape

__all__ = ["creation", "elementwise", "indexing", "linear", "reduction", "shape"]
