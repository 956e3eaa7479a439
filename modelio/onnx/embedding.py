"""ONNX lowering of the embedding family (modelio/layers/embedding.py): Embedding as a Gather."""

from ..layers.embedding import Embedding
from .registry import lowers


@lowers(Embedding)
def embedding(graph, node, args, kwargs):
    """A Gather of the table rows. With `mask_zero` the mask is a separate NotEqual node of the
    graph (as Keras 3 records it), lowered on its own."""
    layer = node.layer
    indices = graph.node("Cast", [args[0]], layer.name, to=7)  # int64
    return graph.node("Gather", [graph.weight(layer.embeddings), indices], layer.name, axis=0)
