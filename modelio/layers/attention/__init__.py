"""Attention layers: MultiHeadAttention, Attention and AdditiveAttention (how each Keras masks
attention scores: scores.py)."""

from .attention import AdditiveAttention, Attention
from .multi_head_attention import MultiHeadAttention

__all__ = ["AdditiveAttention", "Attention", "MultiHeadAttention"]

# The classes' public home is this package (`modelio.layers.attention.AdditiveAttention`): their `__module__` says
# so, as numpy's set_module does, whichever module of the package defines them.
for _cls in (AdditiveAttention, Attention, MultiHeadAttention):
    _cls.__module__ = __name__
del _cls
