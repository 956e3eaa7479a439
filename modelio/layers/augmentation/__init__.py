"""Keras 3's image augmentation layers (`keras.layers.RandomFlip`, ..., `AutoContrast`, CLAHE,
`Pipeline`), one module per kind: geometric, color, mixing, histogram, pipeline (with
MaxNumBoundingBoxes), and keras2 (tf-keras's RandomHeight / RandomWidth and RandomCrop). Each does
at inference exactly what Keras 3.15.1 (or tf-keras 2.21, for Keras 2 configs) does with
`training=False`; see base.py for the dtype rules."""

from . import color, geometric, histogram, keras2, mixing, pipeline
from .base import AugmentationLayer
from .color import *
from .geometric import *
from .histogram import *
from .keras2 import *
from .mixing import *
from .pipeline import *

# Each module lists its public classes in its own __all__; the family exports them all.
__all__ = [name for module in (color, geometric, histogram, keras2, mixing, pipeline)
           for name in module.__all__]

# The classes' public home is this package (`modelio.layers.augmentation.X`).
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
