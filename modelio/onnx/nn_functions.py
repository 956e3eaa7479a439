"""ONNX lowerings of keras.ops.nn's normalization, pooling, convolution, rearranging and
attention functions (modelio/ops/nn_functions.py)."""

import numpy as np
from onnx import TensorProto

from .. import ops
from ..graph.tensor import SymbolicTensor
from ..kernels import convolution as conv_kernels
from ..kernels import pooling as pool_kernels
from .activation_functions import lower_activation
from .export_support import cast_to, onnx_pads, reduce, to_channels_first, to_channels_last
from .op_support import known_size, operand, output_dtype, refuse, scalar
from .registry import lowers


def _float32(graph, node, args):
    dtype = output_dtype(node)
    if dtype != np.float32:
        refuse(node, f"{dtype} inputs (exported in float32)")
    return operand(graph, node, 0, args[0], dtype)


def _weight(graph, node, argument, rank, axes):
    """A per-axis weight call argument ((symbolic, value) of `_argument`) broadcast against
    rank-`rank` x."""
    symbolic, value = argument
    shape = tuple(getattr(symbolic, "shape", np.shape(symbolic)))
    if isinstance(symbolic, SymbolicTensor):
        name = cast_to(graph, value, symbolic.dtype, np.float32, node.layer.name)
    else:
        name = graph.constant(np.asarray(value, np.float32), f"{node.layer.name}/weight")
    if len(shape) == rank or axes == [rank - 1]:
        return name
    target = [1] * rank
    for axis, size in zip(axes, shape):
        target[axis] = size
    return graph.node("Reshape", [name, graph.ints(target, f"{node.layer.name}/shape")],
                      node.layer.name)


def _argument(node, args, kwargs, index, key):
    """(symbolic, value) of an optional call argument, positional `index` or keyword `key`;
    None when it is not given."""
    if len(args) > index:
        symbolic, value = node.call_args[index], args[index]
    else:
        symbolic, value = node.call_kwargs.get(key), kwargs.get(key)
    return None if value is None else (symbolic, value)


@lowers(ops.LayerNorm, ops.RMSNorm)
def normalization(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    x = _float32(graph, node, args)
    rank = len(node.call_args[0].shape)
    axes = ops.numpy.arrange.axis_list(layer, layer.arguments["axis"], rank)
    if isinstance(layer, ops.LayerNorm) and not layer.arguments["rms_scaling"]:
        mean = reduce(graph, "ReduceMean", x, axes, True, hint)
        centred = graph.node("Sub", [x, mean], hint)
        spread = reduce(graph, "ReduceMean", graph.node("Mul", [centred, centred], hint), axes,
                        True, hint)
    elif isinstance(layer, ops.LayerNorm):
        mean = reduce(graph, "ReduceMean", x, axes, True, hint)
        gap = graph.node("Sub", [x, mean], hint)
        spread = reduce(graph, "ReduceMean", graph.node("Mul", [gap, gap], hint), axes, True,
                        hint)
        centred = x
    else:
        centred = x
        spread = reduce(graph, "ReduceMean", graph.node("Mul", [x, x], hint), axes, True, hint)
    denominator = graph.node("Sqrt", [graph.node("Add", [spread, scalar(
        graph, layer.epsilon, np.float32, hint)], hint)], hint)
    y = graph.node("Div", [centred, denominator], hint)
    names = ("gamma", "beta") if isinstance(layer, ops.LayerNorm) else ("scale",)
    for offset, key in enumerate(names):
        argument = _argument(node, args, kwargs, 1 + offset, key)
        if argument is None or (key == "beta" and layer.arguments.get("rms_scaling")):
            continue
        weight = _weight(graph, node, argument, rank, axes)
        y = graph.node("Add" if key == "beta" else "Mul", [y, weight], hint)
    return y


@lowers(ops.BatchNorm)
def batch_norm(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    x = _float32(graph, node, args)
    rank = len(node.call_args[0].shape)
    axis = layer.arguments["axis"] % rank
    values = {}
    for index, key in enumerate(("mean", "variance", "offset", "scale"), start=1):
        argument = _argument(node, args, kwargs, index, key)
        values[key] = None if argument is None else _weight(graph, node, argument, rank, [axis])
    inverse = graph.node("Reciprocal", [graph.node("Sqrt", [graph.node("Add", [
        values["variance"], scalar(graph, layer.arguments["epsilon"], np.float32, hint)],
        hint)], hint)], hint)
    if values["scale"] is not None:
        inverse = graph.node("Mul", [inverse, values["scale"]], hint)
    y = graph.node("Mul", [graph.node("Sub", [x, values["mean"]], hint), inverse], hint)
    return y if values["offset"] is None else graph.node("Add", [y, values["offset"]], hint)


@lowers(ops.Moments)
def moments(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    x = _float32(graph, node, args)
    axes = ops.numpy.arrange.axis_list(layer, layer.arguments["axes"],
                                       len(node.call_args[0].shape))
    keep = layer.arguments["keepdims"]
    mean = reduce(graph, "ReduceMean", x, axes, True, hint)
    centred = graph.node("Sub", [x, mean], hint)
    variance = reduce(graph, "ReduceMean", graph.node("Mul", [centred, centred], hint), axes,
                      keep, hint)
    if not keep:
        mean = graph.node("Squeeze", [mean, graph.ints(axes, f"{hint}/axes")], hint)
    return [mean, variance]


def _channels_first(graph, node, x, rank, body):
    """`body(x_nchw)` in the op's layout (rank: spatial dims)."""
    if node.layer.arguments["data_format"] == "channels_first":
        return body(x)
    hint = node.layer.name
    return to_channels_last(graph, body(to_channels_first(graph, x, rank, hint)), rank, hint)


@lowers(ops.MaxPool, ops.AveragePool)
def pool(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    x = _float32(graph, node, args)
    shape = node.call_args[0].shape
    pool_size, strides = layer.window(len(shape))
    axes, _ = layer.spatial(len(shape))
    pairs = []
    for axis, window, stride in zip(axes, pool_size, strides):
        if layer.arguments["padding"] == "valid":
            pairs.append((0, 0))
        else:
            pairs.append(pool_kernels.same_padding(known_size(node, shape[axis], "same padding"),
                                                   window, stride))
    attributes = {"kernel_shape": list(pool_size), "strides": list(strides),
                  "pads": onnx_pads(pairs)}
    if isinstance(layer, ops.MaxPool):
        def body(value):
            return graph.node("MaxPool", [value], hint, **attributes)
    else:
        def body(value):
            return graph.node("AveragePool", [value], hint, count_include_pad=0, **attributes)
    return _channels_first(graph, node, x, len(pool_size), body)


@lowers(ops.Conv)
def conv(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    x = _float32(graph, node, args)
    shape = node.call_args[0].shape
    kernel_symbolic = node.call_args[1]
    kernel_shape = tuple(getattr(kernel_symbolic, "shape", np.shape(kernel_symbolic)))
    if isinstance(layer, ops.DepthwiseConv):
        kernel_shape = kernel_shape[:-2] + (1, kernel_shape[-2] * kernel_shape[-1])
    strides, dilation, axes, first = layer.geometry(shape, kernel_shape)
    rank = len(axes)
    pairs = [conv_kernels.padding_amounts(known_size(node, shape[axis], "convolution"),
                                          kernel_shape[index], stride, rate,
                                          layer.arguments["padding"])
             for index, (axis, stride, rate) in enumerate(zip(axes, strides, dilation))]
    kernel = operand(graph, node, 1, args[1], np.float32)
    if isinstance(layer, ops.DepthwiseConv):  # (*window, C, M) -> (*window, 1, C * M)
        kernel = graph.node("Reshape", [kernel, graph.ints(list(kernel_shape),
                                                           f"{hint}/depthwise")], hint)
    # (*window, in / groups, out) -> (out, in / groups, *window)
    kernel = graph.node("Transpose", [kernel], hint, perm=[rank + 1, rank, *range(rank)])
    channels = known_size(node, shape[1] if first else shape[-1], "convolution")
    attributes = {"kernel_shape": list(kernel_shape[:rank]), "strides": list(strides),
                  "dilations": list(dilation), "pads": onnx_pads(pairs),
                  "group": channels // kernel_shape[-2]}

    def body(value):
        return graph.node("Conv", [value, kernel], hint, **attributes)
    return _channels_first(graph, node, x, rank, body)


@lowers(ops.DepthToSpace, ops.SpaceToDepth)
def blocks(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    op = "DepthToSpace" if isinstance(layer, ops.DepthToSpace) else "SpaceToDepth"
    attributes = {"blocksize": layer.arguments["block_size"]}
    if op == "DepthToSpace":
        attributes["mode"] = "DCR"
    if layer.arguments["data_format"] == "channels_first":
        return graph.node(op, [args[0]], hint, **attributes)
    return to_channels_last(graph, graph.node(op, [to_channels_first(graph, args[0], 2, hint)],
                                              hint, **attributes), 2, hint)


@lowers(ops.DotProductAttention)
def attention(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    if len(args) > 3 or any(kwargs.get(key) is not None for key in ("bias", "mask")):
        refuse(node, "attention biases and masks")
    query, key, value = (operand(graph, node, index, args[index], np.float32)
                         for index in range(3))
    head_dim = known_size(node, node.call_args[0].shape[-1], "attention")
    scale = kwargs.get("scale")
    scale = 1 / np.sqrt(head_dim) if scale is None else scale
    # (B, T, N, H) -> (B, N, T, H)
    query, key, value = (graph.node("Transpose", [item], hint, perm=[0, 2, 1, 3])
                         for item in (query, key, value))
    logits = graph.node("MatMul", [query, graph.node("Transpose", [key], hint,
                                                     perm=[0, 1, 3, 2])], hint)
    logits = graph.node("Mul", [logits, scalar(graph, scale, np.float32, hint)], hint)
    if layer.arguments["is_causal"]:
        steps = known_size(node, node.call_args[0].shape[1], "causal attention")
        keys = known_size(node, node.call_args[1].shape[1], "causal attention")
        allowed = np.tril(np.ones((steps, keys), bool))
        logits = graph.node("Where", [graph.constant(allowed, f"{hint}/causal"), logits,
                                      scalar(graph, np.finfo(np.float32).min, np.float32, hint)],
                            hint)
    weights = graph.node("Softmax", [logits], hint, axis=-1)
    out = graph.node("MatMul", [weights, value], hint)
    return graph.node("Transpose", [out], hint, perm=[0, 2, 1, 3])


@lowers(ops.Sparsemax)
def sparsemax(graph, node, args, kwargs):
    layer = node.layer
    x = _float32(graph, node, args)
    rank = len(node.call_args[0].shape)
    if layer.arguments["axis"] % rank != rank - 1:
        refuse(node, "sparsemax over an axis other than the last")
    return lower_activation(graph, "sparsemax", x, layer.name, layer.name)


@lowers(ops.MultiHot)
def multi_hot(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    classes = layer.arguments["num_classes"]
    rank = len(node.call_args[0].shape)
    indices = operand(graph, node, 0, args[0], np.int64)
    hot = graph.node("Equal", [graph.node("Unsqueeze", [indices, graph.ints([-1], f"{hint}/l")],
                                          hint), graph.ints(list(range(classes)), f"{hint}/c")],
                     hint)
    axis = layer.arguments["axis"] % (rank + 1)
    if axis != rank:
        hot = graph.node("Transpose", [hot], hint, perm=[*range(axis), rank, *range(axis, rank)])
    as_int = graph.node("Cast", [hot], hint, to=TensorProto.INT32)
    combined = reduce(graph, "ReduceMax", as_int, [1 if rank > 1 else 0], False, hint)
    from .export_support import onnx_type
    return graph.node("Cast", [combined], hint, to=onnx_type(output_dtype(node)))
