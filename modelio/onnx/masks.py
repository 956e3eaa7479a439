"""Masks as ONNX values: the (batch, steps) mask a layer receives, as a bool tensor."""

import numpy as np
from onnx import TensorProto

from ..graph.tensor import SymbolicTensor


def mask_of(graph, node, kwargs):
    """The node's (batch, time) mask as a bool ONNX name, or None (Keras: the first mask)."""
    mask, symbolic = kwargs.get("mask"), node.call_kwargs.get("mask")
    while isinstance(mask, (list, tuple)):
        pairs = [(item, sym) for item, sym in zip(mask, symbolic) if item is not None]
        mask, symbolic = pairs[0] if pairs else (None, None)
    if mask is None:
        return None
    if not isinstance(symbolic, SymbolicTensor):
        symbolic = np.asarray(symbolic)
        mask = graph.constant(symbolic, f"{node.layer.name}/mask")
    if np.dtype(symbolic.dtype) != np.bool_:
        mask = graph.node("Cast", [mask], node.layer.name, to=TensorProto.BOOL)
    return mask


def has_mask(kwargs) -> bool:
    """Whether the call received a mask (a list of masks counts when one is not None)."""
    mask = kwargs.get("mask")
    while isinstance(mask, (list, tuple)):
        mask = next((item for item in mask if item is not None), None)
    return mask is not None
