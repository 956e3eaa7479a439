"""`keras.ops.numpy`'s operations that Keras 3 graphs record, and the ONNX twins of numpy-like
functions, one module per topic."""

from .arrange import *  # noqa: F403
from .arrange import __all__ as _arrange
from .binary import *  # noqa: F403
from .binary import __all__ as _binary
from .constructs import *  # noqa: F403
from .constructs import __all__ as _constructs
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
from .nan_quantiles import *  # noqa: F403
from .nan_quantiles import __all__ as _nan_quantiles
from .reduction import *  # noqa: F403
from .reduction import __all__ as _reduction
from .shape import *  # noqa: F403
from .shape import __all__ as _shape
from .sorting import *  # noqa: F403
from .sorting import __all__ as _sorting
from .spacing import *  # noqa: F403
from .spacing import __all__ as _spacing
from .statistics import *  # noqa: F403
from .statistics import __all__ as _statistics
from .unary import *  # noqa: F403
from .unary import __all__ as _unary
from .values import *  # noqa: F403
from .values import __all__ as _values

__all__ = [*_arrange, *_binary, *_creation, *_elementwise, *_extras, *_indexing, *_linear, *_more, *_reduction,
           *_shape, *_sorting, *_statistics, *_unary, *_constructs, *_nan_quantiles,
           *_spacing, *_values]
