"""Convolution layers, one module per Keras family: Conv1D/2D/3D, DepthwiseConv1D/2D,
SeparableConv1D/2D and Conv1D/2D/3DTranspose (their shared base in base.py)."""

from .conv import Conv1D, Conv2D, Conv3D
from .conv_transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
from .depthwise_conv import DepthwiseConv1D, DepthwiseConv2D
from .separable_conv import SeparableConv1D, SeparableConv2D

__all__ = [
    "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D", "Conv3DTranspose",
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
]

# The classes' public home is this package (`modelio.layers.conv.Conv1D`): their `__module__` says
# so, as numpy's set_module does, whichever module of the package defines them.
for _cls in (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose,
             DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D):
    _cls.__module__ = __name__
del _cls
