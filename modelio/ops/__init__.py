"""The Keras 3 operations catalogue, mirroring `keras.ops`'s families: `numpy`, `nn`, `core`,
`image`.

Two kinds of classes live here:

* Keras 3 operations (`NotEqual`, `Any`, `Cast`, ...): what a Keras 3 functional model records
  when `keras.ops` functions are called on symbolic tensors (mask computations, arithmetic),
  registered by class name in OPERATION_CLASSES and written under Keras's own module names. The
  lower-case functions (`not_equal`, `any`, `cast`, ...) call them as `keras.ops` does;
* ONNX twins (`OnnxConv`, `OnnxReshape`, ...; base `OnnxLayer`): layers that carry an ONNX op's
  semantics where no Keras layer or operation has them, made by the ONNX importer, registered as
  layers and written under the module "modelio.ops". Each sits in the family of the `keras.ops`
  function it mirrors.

Importing this package registers them all.
"""

from . import core, image, nn, numpy, tf_functions
from .core import *  # noqa: F403
from .image import *  # noqa: F403
from .nn import *  # noqa: F403
from .numpy import *  # noqa: F403
from .onnx_layer import OnnxLayer
from .tf_functions import SlicingOpLambda, TFOpLambda

__all__ = ["OnnxLayer", "SlicingOpLambda", "TFOpLambda", "core", "image", "nn", "numpy", "tf_functions",
           *core.__all__, *image.__all__,
           *nn.__all__, *numpy.__all__]
