"""The Keras 3 operations catalogue, mirroring `keras.ops`'s families: `numpy`, `nn`
(+ `nn_activations`), `core`, `image` (+ `image_ops`), `linalg` (`keras.ops.math`'s operations
sit beside their numpy kin: `Erf`, `Rsqrt` in numpy/unary.py, `Logsumexp` in
numpy/statistics.py, `TopK` in numpy/sorting.py; its Fourier transforms in spectral.py).

Two kinds of classes live here:

* Keras 3 operations (`NotEqual`, `Matmul`, `GetItem`, `Softmax`, `Resize`, ...): what a Keras
  3 functional model records when `keras.ops` functions are called on symbolic tensors,
  registered by class name in OPERATION_CLASSES and written under Keras's own module names
  (most derive from `KerasOp`, whose config is Keras's auto-config). The lower-case functions
  (`not_equal`, `any`, `cast`, ...) call some of them as `keras.ops` does;
* ONNX twins (`OnnxConv`, `OnnxReshape`, ...; base `OnnxLayer`): layers that carry an ONNX op's
  semantics where no Keras layer or operation has them, made by the ONNX importer, registered as
  layers and written under the module "modelio.ops". Each sits in the family of the `keras.ops`
  function it mirrors.

Importing this package registers them all.
"""

from . import (
           core,
           decompositions,
           image,
           image_more,
           image_ops,
           image_sampling,
           linalg,
           math_functions,
           nn,
           nn_activations,
           nn_ctc,
           nn_functions,
           nn_losses,
           nn_windows,
           numpy,
           onnx_ops,
           scatter,
           spectral,
           tf_function_forms,  # registers the Keras 2 (TFOpLambda) forms of operations
           tf_functions,
)
from .base import KerasOp
from .core import *  # noqa: F403
from .decompositions import *  # noqa: F403
from .image import *  # noqa: F403
from .image_more import *  # noqa: F403
from .image_ops import *  # noqa: F403
from .image_sampling import *  # noqa: F403
from .linalg import *  # noqa: F403
from .math_functions import *  # noqa: F403
from .nn import *  # noqa: F403
from .nn_activations import *  # noqa: F403
from .nn_ctc import *  # noqa: F403
from .nn_functions import *  # noqa: F403
from .nn_losses import *  # noqa: F403
from .nn_windows import *  # noqa: F403
from .numpy import *  # noqa: F403
from .onnx_layer import OnnxLayer
from .onnx_ops import *  # noqa: F403
from .scatter import *  # noqa: F403
from .spectral import *  # noqa: F403
from .tf_functions import SlicingOpLambda, TFOpLambda

__all__ = ["KerasOp", "OnnxLayer", "SlicingOpLambda", "TFOpLambda", "tf_function_forms", "tf_functions", "core", "decompositions", "image", "image_more", "image_ops",
           "image_sampling", "linalg", "math_functions", "nn", "nn_activations", "nn_ctc", "nn_functions", "nn_losses", "nn_windows", "numpy",
           "onnx_ops", "scatter", "spectral", *core.__all__, *decompositions.__all__, *image.__all__, *image_more.__all__, *image_ops.__all__,
           *image_sampling.__all__, *linalg.__all__, *math_functions.__all__, *scatter.__all__, *nn.__all__, *nn_activations.__all__,
           *nn_ctc.__all__, *nn_functions.__all__, *nn_losses.__all__, *nn_windows.__all__, *numpy.__all__, *onnx_ops.__all__,
           *spectral.__all__]
