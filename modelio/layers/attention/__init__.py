"""Attention layers: MultiHeadAttention, GroupQueryAttention, Attention and AdditiveAttention (how each Keras masks
attention scores: scores.py)."""

from . import attention, grouped_query_attention, multi_head_attention
from .attention import *
from .grouped_query_attention import *
from .multi_head_attention import *

# Each module lists its public classes in its own __all__; the family exports them all.
__all__ = [name for module in (attention, grouped_query_attention,
                                                  multi_head_attention) for name in module.__all__]

# The classes' public home is this package (`modelio.layers.attention.X`): their `__module__` says
# so, as numpy's set_module does, whichever module of the package defines them.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
