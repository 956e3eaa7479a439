"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
UnitNormalization, RMSNormalization and the SpectralNormalization wrapper, one module each (their shared checks in base.py).
`Normalization`, a preprocessing layer in Keras, lives in modelio.layers.preprocessing."""

from . import (
    batch_normalization,
    group_normalization,
    layer_normalization,
    rms_normalization,
    spectral_normalization,
    unit_normalization,
)
from .base import positive_axes, sorted_axes  # noqa: F401 - helpers the ONNX lowerings use
from .batch_normalization import *
from .group_normalization import *
from .layer_normalization import *
from .layer_normalization import weight_broadcast  # noqa: F401 - likewise
from .rms_normalization import *
from .spectral_normalization import *
from .unit_normalization import *

# Each module lists its public classes in its own __all__; the family exports them all.
__all__ = [name for module in (
    batch_normalization, group_normalization, layer_normalization, rms_normalization,
    spectral_normalization, unit_normalization) for name in module.__all__]

# The classes' public home is this package (`modelio.layers.normalization.X`): their `__module__` says
# so, as numpy's set_module does, whichever module of the package defines them.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
