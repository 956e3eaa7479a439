"""The lookup family: Hashing, HashedCrossing, IntegerLookup, StringLookup and
TextVectorization (Keras 3 layers that hash or look up strings and integers), and tf-keras's
experimental DynamicLookup and DynamicEmbedding."""

from .dynamic import DynamicEmbedding, DynamicLookup
from .hashing import HashedCrossing, Hashing
from .index_lookup import IndexLookup, IntegerLookup, StringLookup
from .text_vectorization import TextVectorization

__all__ = ["DynamicEmbedding", "DynamicLookup", "HashedCrossing", "Hashing", "IntegerLookup",
           "StringLookup", "TextVectorization"]
