"""Both ONNX directions for the keras.ops numpy family (modelio/ops/numpy/), one module per
topic as there: elementwise, unary, binary, reduction, statistics, shape, arrange, creation,
indexing, linear, sorting."""

from . import (
    arrange,
    binary,
    creation,
    elementwise,
    extras,
    indexing,
    linear,
    more,
    reduction,
    shape,
    sorting,
    statistics,
    unary,
)

__all__ = ["arrange", "binary", "creation", "elementwise", "extras", "indexing", "linear", "more", "reduction",
           "shape", "sorting", "statistics", "unary"]
