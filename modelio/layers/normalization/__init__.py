"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
UnitNormalization and RMSNormalization, one module each (their shared checks in base.py).
`Normalization`, a preprocessing layer in Keras, lives in modelio.layers.preprocessing."""

from .base import positive_axes, sorted_axes  # noqa: F401 - helpers the ONNX lowerings use
from .batch_normalization import BatchNormalization
from .group_normalization import GroupNormalization
from .layer_normalization import LayerNormalization, weight_broadcast  # noqa: F401
from .rms_normalization import RMSNormalization
from .unit_normalization import UnitNormalization

__all__ = [
    "BatchNormalization", "GroupNormalization", "LayerNormalization", "RMSNormalization",
    "UnitNormalization",
]

# The classes' public home is this package (`modelio.layers.normalization.BatchNormalization`): their `__module__` says
# so, as numpy's set_module does, whichever module of the package defines them.
for _cls in (BatchNormalization, GroupNormalization, LayerNormalization, RMSNormalization,
             UnitNormalization):
    _cls.__module__ = __name__
del _cls
