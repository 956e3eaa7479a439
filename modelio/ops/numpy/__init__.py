"""`keras.ops.numpy`'s operations that Keras 3 graphs record, and the ONNX twins of numpy-like
functions, one module per topic."""

from .arrange import *  # noqa: F403
from .arrange import __all__ as _arrange
from .binary import *  # noqa: F403
from .binary import __all__ as _binary
from .creation import *  # noqa: F403
from .creation import __all__ as _creation
from .elementwise import *  # noqa: F403
from .elementwise import __all__ as _elementwise
from .extras import *  # noqa: F403
from .extras import __all__ as _extras
from .indexing import *  # noqa: F403
from .indexing import __all__ as _indexing
from .linear import *  # noqa: F403
from .linear import __all__ as _linear
from .more import *  # noqa: F403
from .more import __all__ as _more
from .reduction import *  # noqa: F403
from .reduction import __all__ as _reduction
from .shape import *  # noqa: F403
from .shape import __all__ as _shape
from .sorting import *  # noqa: F403
from .sorting import __all__ as _sorting
from .statistics import *  # noqa: F403
from .statistics import __all__ as _statistics
from .unary import *  # noqa: F403
from .unary import __all__ as _unary

__all__ = [*_arrange, *_binary, *_creation, *_elementwise, *_extras, *_indexing, *_linear, *_more, *_reduction,
           *_shape, *_sorting, *_statistics, *_unary]
