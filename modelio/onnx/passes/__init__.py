"""Graph passes run on an exported ONNX graph (its nodes and its constants) before it is written:
layout Transposes cancelled (transposes.py), constant arithmetic folded into the ops before it
(folding.py), Identity nodes dropped and a Pad before MaxPool guarded (cleanup.py); graph_facts.py
holds what several passes ask of a graph (producers, readers, names, static shapes)."""

from .cleanup import drop_identities, guard_zero_pads_before_max_pool
from .folding import fold_affine, fold_pads_into_convolutions, matmul_add_to_gemm
from .graph_facts import names_read, static_shapes
from .transposes import cancel_transposes, drop_transposes_before_reshape

__all__ = [
    "cancel_transposes",
    "drop_identities",
    "drop_transposes_before_reshape",
    "fold_affine",
    "fold_pads_into_convolutions",
    "guard_zero_pads_before_max_pool",
    "matmul_add_to_gemm",
    "names_read",
    "static_shapes",
]
