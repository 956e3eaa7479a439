"""Keras layers with numpy kernels, one module per family. Importing registers them all, and the
operations of modelio.ops with them."""

from .. import ops
from ..graph import Input, InputLayer, Layer
from .activations import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU
from .core import (
    ActivityRegularization,
    AlphaDropout,
    Dense,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    Identity,
    Masking,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from .merge import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract
from .reshaping import (
    Cropping1D,
    Cropping2D,
    Cropping3D,
    Flatten,
    Permute,
    RepeatVector,
    Reshape,
    UpSampling1D,
    UpSampling2D,
    UpSampling3D,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)

# Layer families, each exporting its classes through __all__.
from .applications import *  # noqa: E402
from .attention import *  # noqa: E402
from .audio import *  # noqa: E402
from .augmentation import *  # noqa: E402
from .conv import *  # noqa: E402
from .einsum_dense import *  # noqa: E402
from .embedding import *  # noqa: E402
from .encoding import *  # noqa: E402
from .kernelized import *  # noqa: E402
from .locally_connected import *  # noqa: E402
from .lookup import *  # noqa: E402
from .normalization import *  # noqa: E402
from .pooling import *  # noqa: E402
from .preprocessing import *  # noqa: E402
from .recurrent import *  # noqa: E402

# The ONNX twins of modelio.ops, reachable here as before they moved there.
from ..ops import (  # noqa: E402
    OnnxCast,
    OnnxConcat,
    OnnxConstantOfShape,
    OnnxConv,
    OnnxConvTranspose,
    OnnxElementwise,
    OnnxExpand,
    OnnxFlatten,
    OnnxGather,
    OnnxGemm,
    OnnxLayerNormalization,
    OnnxLRN,
    OnnxMatMul,
    OnnxPad,
    OnnxPool,
    OnnxRange,
    OnnxReduce,
    OnnxReshape,
    OnnxResize,
    OnnxShape,
    OnnxSlice,
    OnnxSoftmax,
    OnnxSqueeze,
    OnnxTranspose,
    OnnxUnary,
    OnnxUnsqueeze,
)

__all__ = [
    "ELU", "Activation", "ActivityRegularization", "Add", "AlphaDropout", "Average",
    "Concatenate", "Dense", "Dot", "Dropout", "Flatten", "GaussianDropout", "GaussianNoise",
    "Identity", "Input", "Masking", "InputLayer", "Layer", "LeakyReLU", "Maximum", "Minimum", "Multiply",
    "PReLU", "Permute", "ReLU", "RepeatVector", "Reshape", "Softmax", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D", "Subtract", "ThresholdedReLU",
]
