"""Both ONNX directions for the keras.ops numpy family (modelio/ops/numpy/), one module per
topic as there: elementwise, unary, binary, reduction, statistics, shape, arrange, creation,
indexing, linear, sorting."""

from . import (
    arrange,
    binary,
    constructs,
    creation,
    elementwise,
    extras,
    indexing,
    linear,
    more,
    nan_quantiles,
    reduction,
    shape,
    sorting,
    spacing,
    statistics,
    unary,
    values,
)

__all__ = ["arrange", "binary", "constructs", "creation", "elementwise", "extras", "indexing", "linear",
           "more", "nan_quantiles", "reduction", "shape", "sorting", "spacing", "statistics", "unary",
           "values"]
