"""ONNX lowerings of the encoding family (modelio/layers/encoding.py): Discretization (a count of
the boundaries each value reaches) and CategoryEncoding; `encode` is the categorical encoding the
lookup lowerings share."""

import numpy as np

from ..layers import encoding
from .export_support import cast_to, onnx_type, reduce
from .registry import lowers


def encode(graph, indices: str, input_shape: tuple, output_mode: str, depth: int, dtype,
           hint: str, count_weights: str | None = None) -> str:
    """int64 `indices` of `input_shape` encoded as Keras's encode_categorical_inputs does
    (ids outside [0, depth) add nothing): int, one_hot, multi_hot or count (optionally weighted
    by `count_weights`, float32) in `dtype`."""
    if output_mode == "int":
        return graph.node("Cast", [indices], hint, to=onnx_type(dtype))
    rank = len(input_shape)
    if rank == 0:
        indices = graph.node("Reshape", [indices, graph.ints([1], f"{hint}/one")], hint)
        rank = 1
    if output_mode == "one_hot" and rank > 1 and input_shape[-1] == 1:
        indices = graph.node("Squeeze", [indices, graph.ints([-1], f"{hint}/last")], hint)
    expanded = graph.node("Unsqueeze", [indices, graph.ints([-1], f"{hint}/last")], hint)
    classes = graph.ints(np.arange(depth), f"{hint}/classes")
    hits = graph.node("Cast", [graph.node("Equal", [expanded, classes], hint)], hint,
                      to=onnx_type("float32"))
    if output_mode == "one_hot":
        return graph.node("Cast", [hits], hint, to=onnx_type(dtype))
    if count_weights is not None:
        hits = graph.node("Mul", [hits, graph.node("Unsqueeze", [
            count_weights, graph.ints([-1], f"{hint}/last")], hint)], hint)
    axis = 1 if rank > 1 else 0
    reduced = reduce(graph, "ReduceMax" if output_mode == "multi_hot" else "ReduceSum", hits,
                     [axis], False, hint)
    return cast_to(graph, reduced, "float32", dtype, hint)


@lowers(encoding.Discretization)
def discretization(graph, node, args, kwargs):
    layer = node.layer
    x = cast_to(graph, args[0], node.input_tensors[0].dtype, "float32", layer.name)
    layer.bucketize(np.zeros(0, np.float32))  # refuses a layer without boundaries
    boundaries = graph.constant(np.asarray(layer.bin_boundaries, np.float32),
                                f"{layer.name}/boundaries")
    expanded = graph.node("Unsqueeze", [x, graph.ints([-1], f"{layer.name}/last")], layer.name)
    reached = graph.node("Cast", [graph.node("GreaterOrEqual", [expanded, boundaries],
                                             layer.name)], layer.name, to=onnx_type("int64"))
    indices = reduce(graph, "ReduceSum", reached, [-1], False, layer.name)
    return encode(graph, indices, node.input_tensors[0].shape, layer.output_mode, layer.depth,
                  layer.output_dtype, layer.name)


@lowers(encoding.CategoryEncoding)
def category_encoding(graph, node, args, kwargs):
    layer = node.layer
    indices = cast_to(graph, args[0], node.input_tensors[0].dtype, "int64", layer.name)
    weights = kwargs.get("count_weights")
    if weights is not None:
        weights = graph.node("Cast", [weights], layer.name, to=onnx_type("float32"))
    return encode(graph, indices, node.input_tensors[0].shape, layer.output_mode,
                  layer.num_tokens, layer.compute_dtype, layer.name, weights)
