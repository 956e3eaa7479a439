"""Convolution layers, one module per Keras family: Conv1D/2D/3D, DepthwiseConv1D/2D,
SeparableConv1D/2D and Conv1D/2D/3DTranspose (their shared base in base.py)."""

from . import conv, conv_transpose, depthwise_conv, separable_conv
from .conv import *
from .conv_transpose import *
from .depthwise_conv import *
from .separable_conv import *

# Each module lists its public classes in its own __all__; the family exports them all.
__all__ = [name for module in (conv, conv_transpose, depthwise_conv, separable_conv) for name in module.__all__]

# The classes' public home is this package (`modelio.layers.conv.X`): their `__module__` says
# so, as numpy's set_module does, whichever module of the package defines them.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
