"""ONNX lowering of the embedding family (modelio/layers/embedding.py): Embedding as a Gather;
ReversibleEmbedding as that Gather, or, called with `reverse=True`, as a MatMul against the
transposed table (or the untied reverse table) with the optional tanh soft cap."""

import numpy as np

from ..layers.embedding import Embedding, ReversibleEmbedding
from .export_support import cast_to
from .quantization import lower_embedding_lookup
from .registry import lowers


@lowers(Embedding)
def embedding(graph, node, args, kwargs):
    """A Gather of the table rows. With `mask_zero` the mask is a separate NotEqual node of the
    graph (as Keras 3 records it), lowered on its own."""
    layer = node.layer
    indices = graph.node("Cast", [args[0]], layer.name, to=7)  # int64
    if layer.quantization.mode is not None or layer.lora.enabled:
        return lower_embedding_lookup(graph, layer, indices)
    return graph.node("Gather", [graph.weight(layer.embeddings), indices], layer.name, axis=0)


@lowers(ReversibleEmbedding)
def reversible_embedding(graph, node, args, kwargs):
    layer = node.layer
    if not kwargs.get("reverse"):
        return embedding(graph, node, args, kwargs)
    dtype = np.dtype(layer.output_dtype(True))
    if layer.tie_weights:
        kernel = graph.weight(layer.embeddings, value=layer.embeddings.value.T.astype(dtype),
                              layout=f"transposed:{dtype}")
    else:
        kernel = graph.weight(layer.reverse_embeddings,
                              value=layer.reverse_embeddings.value.astype(dtype),
                              layout=f"as:{dtype}")
    x = cast_to(graph, args[0], node.input_tensors[0].dtype, dtype.name, layer.name)
    logits = graph.node("MatMul", [x, kernel], layer.name)
    if layer.logit_soft_cap is not None:
        cap = graph.constant(np.asarray(layer.logit_soft_cap, dtype), f"{layer.name}/soft_cap")
        logits = graph.node("Mul", [graph.node("Tanh", [graph.node(
            "Div", [logits, cap], layer.name)], layer.name), cap], layer.name)
    return logits
