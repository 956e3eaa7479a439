"""ONNX lowerings of the attention family (modelio/layers/attention/): MultiHeadAttention (masks,
causal, attention_axes), GroupQueryAttention, Attention and AdditiveAttention as MatMul/Softmax
graphs."""

import inspect
import math

import numpy as np

from ..layers import attention
from .export_support import onnx_type, refuse_export
from .registry import lowers


def _projection(graph, layer, x, kernel, bias, scale=None):
    """x (batch, time, d) @ kernel (d, H, c) + bias (H, c) -> (batch, time, H * c)."""
    weight = layer.value_of(kernel)
    matrix = weight.reshape(weight.shape[0], -1)
    offset = None if bias is None else layer.value_of(bias).reshape(-1)
    if scale is not None:  # folded into the weights: (x W + b) s = x (W s) + b s
        matrix = matrix * np.asarray(scale, matrix.dtype)
        offset = None if offset is None else offset * np.asarray(scale, offset.dtype)
    y = graph.node("MatMul", [x, graph.weight(kernel, matrix)], layer.name)
    if offset is not None:
        y = graph.node("Add", [y, graph.weight(bias, offset)], layer.name)
    return y


def _heads(graph, layer, x, channels, perm):
    """(batch, time, H * c) -> (batch, H, time, c) (perm [0, 2, 1, 3]) or (batch, H, c, time)."""
    split = graph.node("Reshape", [x, graph.ints([0, 0, layer.num_heads, channels],
                                                 f"{layer.name}/heads_shape")], layer.name)
    return graph.node("Transpose", [split], layer.name, perm=perm)


def _causal(graph, query, key, hint, window=None):
    """(query time, key time) booleans: query step i sees key steps j <= i, or with `window`
    the steps with |i - j| < window."""
    def positions(x):
        length = graph.node("Gather", [graph.node("Shape", [x], hint),
                                       graph.constant(np.int64(1), f"{hint}/time_axis")], hint, axis=0)
        return graph.node("Range", [graph.constant(np.int64(0), f"{hint}/zero"), length,
                                    graph.constant(np.int64(1), f"{hint}/one")], hint)

    rows = graph.node("Unsqueeze", [positions(query), graph.ints([1], f"{hint}/axis")], hint)
    if window is not None:
        distance = graph.node("Abs", [graph.node("Sub", [rows, positions(key)], hint)], hint)
        return graph.node("Less", [distance, graph.constant(np.int64(window), f"{hint}/window")], hint)
    return graph.node("LessOrEqual", [positions(key), rows], hint)


def _attention_output(graph, layer, query, attended, position_dims):
    """Gate, then the output projection of (batch, positions..., H * v) attended values."""
    hint = layer.name
    if layer.use_gate:
        gate = _projection(graph, layer, query, layer.gate_kernel, layer.gate_bias)
        attended = graph.node("Mul", [attended, graph.node("Sigmoid", [gate], hint)], hint)
    output_weight = layer.value_of(layer.output_kernel)
    output_dims = output_weight.shape[2:]
    matrix = output_weight.reshape(-1, math.prod(output_dims))
    y = graph.node("MatMul", [attended, graph.weight(layer.output_kernel, matrix)], hint)
    if layer.output_bias is not None:
        y = graph.node("Add", [y, graph.weight(layer.output_bias,
                                                layer.value_of(layer.output_bias).reshape(-1))], hint)
    if len(output_dims) > 1:
        y = graph.node("Reshape", [y, graph.ints([0, *position_dims, *output_dims],
                                                 f"{hint}/output_shape")], hint)
    return y


def _attention_over_axes(graph, layer, query, key, value, arguments, symbolic, return_scores):
    """MultiHeadAttention over any `attention_axes` (inputs of known non-batch sizes, no masks):
    the projected tensors are put in (batch axes, attention axes, channels) order and flattened
    to one batch of (positions, channels) matrices, as Keras's einsum equations do."""
    hint = layer.name
    if (arguments.get("attention_mask") is not None or arguments.get("use_causal_mask")
            or layer.sliding_window is not None):
        refuse_export(layer, f"masks (attention_mask, use_causal_mask, sliding_window) with attention_axes {list(layer.attention_axes)}")
    shapes = {name: symbolic[name].shape for name in ("query", "value")}
    shapes["key"] = symbolic["key"].shape if symbolic.get("key") is not None else shapes["value"]
    if any(dim is None for shape in shapes.values() for dim in shape[1:]):
        refuse_export(layer, f"attention_axes {list(layer.attention_axes)} on inputs of unknown sizes")
    heads = layer.num_heads
    rank = len(shapes["query"]) + 1
    batch, axes, order = layer.layout(rank)

    def arranged(x, shape, channels, kernel, bias, scale=None, channels_first=False):
        projected = _projection(graph, layer, x, kernel, bias, scale)
        dims = (*shape[:-1], heads, channels)
        split = graph.node("Reshape", [projected, graph.ints([0, *dims[1:]], f"{hint}/heads_shape")],
                           hint)
        perm = (*batch, rank - 1, *axes) if channels_first else order
        moved = graph.node("Transpose", [split], hint, perm=list(perm))
        rest = [dims[axis] for axis in batch[1:]]
        positions = math.prod(dims[axis] for axis in axes)
        flat = [channels, positions] if channels_first else [positions, channels]
        return graph.node("Reshape", [moved, graph.ints([0, *rest, *flat], f"{hint}/flat_shape")],
                          hint), rest, [dims[axis] for axis in axes]

    q, rest, query_positions = arranged(query, shapes["query"], layer.key_dim, layer.query_kernel,
                                        layer.query_bias, 1.0 / math.sqrt(float(layer.key_dim)))
    k, _, key_positions = arranged(key, shapes["key"], layer.key_dim, layer.key_kernel,
                                   layer.key_bias, channels_first=True)
    v, _, _ = arranged(value, shapes["value"], layer.value_dim, layer.value_kernel, layer.value_bias)
    weights = graph.node("Softmax", [graph.node("MatMul", [q, k], hint)], hint, axis=-1)
    attended = graph.node("Reshape", [graph.node("MatMul", [weights, v], hint), graph.ints(
        [0, *rest, *query_positions, layer.value_dim], f"{hint}/positions_shape")], hint)
    attended = graph.node("Transpose", [attended], hint, perm=[int(i) for i in np.argsort(order)])
    query_dims = list(shapes["query"][1:-1])
    attended = graph.node("Reshape", [attended, graph.ints(
        [0, *query_dims, heads * layer.value_dim], f"{hint}/merge_shape")], hint)
    y = _attention_output(graph, layer, query, attended, query_dims)
    if return_scores:  # (batch axes incl. heads, query attention axes, key attention axes)
        return [y, graph.node("Reshape", [weights, graph.ints(
            [0, *rest, *query_positions, *key_positions], f"{hint}/scores_shape")], hint)]
    return y


def _combined_mask(graph, layer, arguments, symbolic, input_masks, query, value):
    """The boolean mask over (B, H, T, S) scores Keras combines: the attention_mask, the masks the
    inputs carry, the causal and the sliding-window masks (None when there is none)."""
    hint = layer.name
    mask = None
    if arguments.get("attention_mask") is not None:
        rank = len(symbolic["attention_mask"].shape)
        if rank not in (2, 3):
            refuse_export(layer, f"an attention_mask of rank {rank}")
        axes = graph.ints([1] if rank == 3 else [0, 1], f"{hint}/mask_axes")
        mask = graph.node("Unsqueeze", [graph.node("Cast", [arguments["attention_mask"]], hint, to=9),
                                        axes], hint)              # (B or 1, 1, T, S)
    # Keras's masks of the inputs: query steps (B, 1, T, 1), value and key steps (B, 1, 1, S).
    for name in input_masks:
        axes = [1, 3] if name == "query_mask" else [1, 2]
        carried = graph.node("Unsqueeze", [graph.node("Cast", [arguments[name]], hint, to=9),
                                           graph.ints(axes, f"{hint}/{name}operation_axes")], hint)
        mask = carried if mask is None else graph.node("And", [mask, carried], hint)
    if arguments.get("use_causal_mask"):
        causal = _causal(graph, query, value, hint)
        mask = causal if mask is None else graph.node("And", [mask, causal], hint)
    if layer.sliding_window is not None:
        window = _causal(graph, query, value, hint, int(layer.sliding_window))
        mask = window if mask is None else graph.node("And", [mask, window], hint)
    return mask


_INPUT_MASKS = ("query_mask", "value_mask", "key_mask")


@lowers(attention.MultiHeadAttention)
def multi_head_attention(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    arguments = inspect.signature(layer.call).bind(*args, **kwargs).arguments
    return_scores = bool(arguments.get("return_attention_scores"))
    query, value = arguments["query"], arguments["value"]
    key = arguments.get("key") or value
    symbolic = inspect.signature(layer.call).bind(*node.call_args, **node.call_kwargs).arguments
    input_masks = [name for name in _INPUT_MASKS if arguments.get(name) is not None]
    if len(symbolic["query"].shape) != 3 or tuple(layer.attention_axes) != (1,):
        if input_masks:
            refuse_export(layer, f"{', '.join(input_masks)} (masks carried by the inputs) with "
                           f"attention_axes {list(layer.attention_axes)} or inputs of rank "
                           f"{len(symbolic['query'].shape)}")
        return _attention_over_axes(graph, layer, query, key, value, arguments, symbolic,
                                    return_scores)
    q = _projection(graph, layer, query, layer.query_kernel, layer.query_bias,
                    1.0 / math.sqrt(float(layer.key_dim)))
    k = _projection(graph, layer, key, layer.key_kernel, layer.key_bias)
    v = _projection(graph, layer, value, layer.value_kernel, layer.value_bias)
    q = _heads(graph, layer, q, layer.key_dim, [0, 2, 1, 3])      # (B, H, T, k)
    k = _heads(graph, layer, k, layer.key_dim, [0, 2, 3, 1])      # (B, H, k, S)
    v = _heads(graph, layer, v, layer.value_dim, [0, 2, 1, 3])    # (B, H, S, v)
    scores = graph.node("MatMul", [q, k], hint)                   # (B, H, T, S)
    mask = _combined_mask(graph, layer, arguments, symbolic, input_masks, query, value)
    dtype = np.dtype(layer.compute_dtype)
    softmax_layer = False
    if mask is not None:
        # The large negative value and masking style of each Keras (see layers/attention.py).
        if layer.keras2_semantics and not layer.softmax_robust_masking:
            penalty = graph.node("Sub", [graph.constant(1.0, f"{hint}/one", dtype),
                                         graph.node("Cast", [mask], hint, to=onnx_type(dtype))],
                                 hint)
            scores = graph.node("Add", [scores, graph.node(
                "Mul", [penalty, graph.constant(-1e9, f"{hint}/large_negative", dtype)], hint)], hint)
        else:
            softmax_layer = not layer.keras2_semantics and (layer.dropout != 0.0 or return_scores)
            negative = -1e9 if layer.keras2_semantics or softmax_layer else -0.7 * 3.38953e38
            scores = graph.node("Where", [mask, scores,
                                          graph.constant(negative, f"{hint}/large_negative", dtype)],
                                hint)
    weights = graph.node("Softmax", [scores], hint, axis=-1)
    if softmax_layer:  # Keras 3's Softmax layer zeroes the masked weights afterwards
        weights = graph.node("Where", [mask, weights, graph.constant(0.0, f"{hint}/zero", dtype)],
                             hint)
    attended = graph.node("Transpose", [graph.node("MatMul", [weights, v], hint)], hint,
                          perm=[0, 2, 1, 3])                       # (B, T, H, v)
    attended = graph.node("Reshape", [attended, graph.ints([0, 0, layer.num_heads * layer.value_dim],
                                                           f"{hint}/merge_shape")], hint)
    y = _attention_output(graph, layer, query, attended, [0])
    if return_scores:  # (batch, heads, query time, key time), as Keras returns them
        return [y, graph.node("Identity", [weights], hint)]
    return y


@lowers(attention.Attention, attention.AdditiveAttention)
def dot_or_additive_attention(graph, node, args, kwargs):
    """softmax(scores(query, key)) @ value; scores by `score_mode` (dot, concat) or additive."""
    layer, hint = node.layer, node.layer.name
    query_mask = value_mask = None
    if kwargs.get("mask") is not None:
        masks = list(kwargs["mask"]) + [None, None]
        query_mask, value_mask = (None if item is None else graph.node("Cast", [item], hint, to=9)
                                  for item in masks[:2])
    inputs = list(args[0] if args else kwargs["inputs"])
    query, value = inputs[0], inputs[1]
    key = inputs[2] if len(inputs) > 2 else value
    rank = len(node.input_tensors[0].shape)
    causal = bool(kwargs.get("use_causal_mask")) or layer.causal
    if causal and rank != 3:
        refuse_export(layer, f"a causal mask on inputs of rank {rank}")
    dtype = np.dtype(layer.compute_dtype)
    if isinstance(layer, attention.AdditiveAttention) or layer.score_mode == "concat":
        pairs = graph.node("Add", [
            graph.node("Unsqueeze", [query, graph.ints([-2], f"{hint}/query_axis")], hint),
            graph.node("Unsqueeze", [key, graph.ints([-3], f"{hint}/key_axis")], hint)], hint)
        additive = isinstance(layer, attention.AdditiveAttention)
        if layer.scale is not None and not additive:
            pairs = graph.node("Mul", [pairs, graph.weight(layer.scale)], hint)
        pairs = graph.node("Tanh", [pairs], hint)
        if layer.scale is not None and additive:
            pairs = graph.node("Mul", [pairs, graph.weight(layer.scale)], hint)
        scores = graph.node("ReduceSum", [pairs, graph.ints([-1], f"{hint}/feature_axis")], hint,
                            keepdims=0)
        if not additive:
            scores = graph.node("Mul", [scores, graph.weight(layer.concat_score_weight)], hint)
    else:
        perm = [*range(rank - 2), rank - 1, rank - 2]
        scores = graph.node("MatMul", [query, graph.node("Transpose", [key], hint, perm=perm)], hint)
        if layer.scale is not None:
            scores = graph.node("Mul", [scores, graph.weight(layer.scale)], hint)
    scores_mask = None
    if value_mask is not None:  # (..., 1, value steps)
        scores_mask = graph.node("Unsqueeze", [value_mask, graph.ints([-2], f"{hint}/value_axis")],
                                 hint)
    if causal:
        causal_mask = _causal(graph, query, key, hint)
        scores_mask = causal_mask if scores_mask is None else graph.node(
            "And", [scores_mask, causal_mask], hint)
    if scores_mask is not None:
        max_value = 65504.0 if dtype == np.float16 else 1e9
        lowered = graph.node("Sub", [scores, graph.constant(max_value, f"{hint}/max_value", dtype)],
                             hint)
        scores = graph.node("Where", [scores_mask, scores, lowered], hint)
    weights = graph.node("Softmax", [scores], hint, axis=-1)
    output = graph.node("MatMul", [weights, value], hint)
    if query_mask is not None:  # masked query steps output zeros
        keep = graph.node("Unsqueeze", [query_mask, graph.ints([-1], f"{hint}/query_axis")], hint)
        output = graph.node("Where", [keep, output, graph.constant(0.0, f"{hint}/zero", dtype)],
                            hint)
    if kwargs.get("return_attention_scores"):
        return [output, graph.node("Identity", [weights], hint)]
    return output


@lowers(attention.GroupQueryAttention)
def group_query_attention(graph, node, args, kwargs):
    """As MultiHeadAttention; each key/value head's repetition over its query heads is folded
    into the key and value projection weights (`np.repeat` over the heads axis, as Keras's
    `ops.repeat` of the projected keys and values)."""
    layer, hint = node.layer, node.layer.name
    arguments = inspect.signature(layer.call).bind(*args, **kwargs).arguments
    return_scores = bool(arguments.get("return_attention_scores"))
    query, value = arguments["query"], arguments["value"]
    key = arguments.get("key") or value
    symbolic = inspect.signature(layer.call).bind(*node.call_args, **node.call_kwargs).arguments
    input_masks = [name for name in _INPUT_MASKS if arguments.get(name) is not None]
    heads, channels, repeats = layer.num_query_heads, layer.head_dim, layer.num_repeats

    def projected(x, kernel, bias, layout, scale=None, repeat=1):
        weight = np.repeat(layer.value_of(kernel), repeat, axis=1)
        matrix = weight.reshape(weight.shape[0], -1)
        offset = None if bias is None else np.repeat(layer.value_of(bias), repeat, axis=0).reshape(-1)
        if scale is not None:
            matrix = matrix * np.asarray(scale, matrix.dtype)
            offset = None if offset is None else offset * np.asarray(scale, offset.dtype)
        y = graph.node("MatMul", [x, graph.weight(kernel, matrix, layout)], hint)
        if offset is not None:
            y = graph.node("Add", [y, graph.weight(bias, offset, layout)], hint)
        return y

    def split_heads(x, perm):
        split = graph.node("Reshape", [x, graph.ints([0, 0, heads, channels],
                                                     f"{hint}/heads_shape")], hint)
        return graph.node("Transpose", [split], hint, perm=perm)

    q = split_heads(projected(query, layer.query_kernel, layer.query_bias, "scaled",
                              1.0 / math.sqrt(float(channels))), [0, 2, 1, 3])
    k = split_heads(projected(key, layer.key_kernel, layer.key_bias, "repeated",
                              repeat=repeats), [0, 2, 3, 1])
    v = split_heads(projected(value, layer.value_kernel, layer.value_bias, "repeated",
                              repeat=repeats), [0, 2, 1, 3])
    scores = graph.node("MatMul", [q, k], hint)                   # (B, Hq, T, S)
    mask = _combined_mask(graph, layer, arguments, symbolic, input_masks, query, value)
    dtype = np.dtype(layer.compute_dtype)
    softmax_layer = layer.dropout != 0.0 or return_scores
    if mask is not None:
        negative = -1e9 if softmax_layer else -0.7 * 3.38953e38
        scores = graph.node("Where", [mask, scores, graph.constant(
            negative, f"{hint}/large_negative", dtype)], hint)
    weights = graph.node("Softmax", [scores], hint, axis=-1)
    if mask is not None and softmax_layer:
        weights = graph.node("Where", [mask, weights, graph.constant(0.0, f"{hint}/zero", dtype)],
                             hint)
    attended = graph.node("Transpose", [graph.node("MatMul", [weights, v], hint)], hint,
                          perm=[0, 2, 1, 3])                       # (B, T, Hq, D)
    attended = graph.node("Reshape", [attended, graph.ints([0, 0, heads * channels],
                                                           f"{hint}/merge_shape")], hint)
    y = _attention_output(graph, layer, query, attended, [0])
    if return_scores:
        return [y, graph.node("Identity", [weights], hint)]
    return y
