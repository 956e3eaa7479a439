"""ONNX lowerings of the ONNX-semantics core layers of modelio/layers/ops.py: each becomes
the ONNX op it was imported from (constants as initializers), so an imported model exports back."""

import numpy as np
from onnx import helper, numpy_helper

from .. import ops
from ..errors import UnsupportedError
from .registry import lowers


def onnx_layer_operands(graph, node, args) -> list:
    """The layer's ONNX operands: tensor names with its constant weights in their places."""
    layer = node.layer
    tensors = list(args[0]) if isinstance(args[0], (list, tuple)) else [args[0]]
    constants = [graph.weight(weight) for weight in layer.constant_weights]
    return layer.merge_constants(tensors, constants)


def need_opset(graph, layer, opset: int, what: str) -> None:
    if graph.opset < opset:
        raise UnsupportedError(f"layer '{layer.name}' ({type(layer).__name__}): {what} needs "
                               f"opset {opset} or newer, exporting to {graph.opset}")


@lowers(ops.OnnxElementwise)
def onnx_elementwise(graph, node, args, kwargs):
    return graph.node(node.layer.op, onnx_layer_operands(graph, node, args), node.layer.name)


@lowers(ops.OnnxMatMul)
def onnx_matmul(graph, node, args, kwargs):
    return graph.node("MatMul", onnx_layer_operands(graph, node, args), node.layer.name)


@lowers(ops.OnnxGemm)
def onnx_gemm(graph, node, args, kwargs):
    layer = node.layer
    return graph.node("Gemm", onnx_layer_operands(graph, node, args), layer.name, alpha=layer.alpha,
                      beta=layer.beta, transA=layer.trans_a, transB=layer.trans_b)


UNARY_ATTRIBUTES = {"HardSigmoid": ("alpha", "beta"), "Selu": ("alpha", "gamma"),
                    "Elu": ("alpha", None), "LeakyRelu": ("alpha", None),
                    "ThresholdedRelu": ("alpha", None)}


@lowers(ops.OnnxUnary)
def onnx_unary(graph, node, args, kwargs):
    layer, x = node.layer, args[0]
    dtype = node.input_tensors[0].dtype
    if layer.op == "Clip":
        bounds = [graph.constant(value, f"{layer.name}/{what}", dtype) if value is not None
                  else "" for what, value in (("min", layer.alpha), ("max", layer.beta))]
        while bounds and bounds[-1] == "":
            bounds.pop()
        return graph.node("Clip", [x, *bounds], layer.name)
    if layer.op == "Gelu":
        need_opset(graph, layer, 20, "Gelu")
        return graph.node("Gelu", [x], layer.name, approximate=layer.alpha)
    names = UNARY_ATTRIBUTES.get(layer.op, (None, None))
    attributes = {name: float(value) for name, value in zip(names, (layer.alpha, layer.beta))
                  if name is not None and value is not None}
    return graph.node(layer.op, [x], layer.name, **attributes)


@lowers(ops.OnnxCast)
def onnx_cast(graph, node, args, kwargs):
    to = helper.np_dtype_to_tensor_dtype(np.dtype(node.layer.to))
    return graph.node("Cast", [args[0]], node.layer.name, to=to)


@lowers(ops.OnnxTranspose)
def onnx_transpose(graph, node, args, kwargs):
    return graph.node("Transpose", [args[0]], node.layer.name, perm=node.layer.perm)


@lowers(ops.OnnxReshape)
def onnx_reshape(graph, node, args, kwargs):
    layer = node.layer
    operands = onnx_layer_operands(graph, node, args)
    shape = operands[1] if layer.shape is None else graph.ints(layer.shape, f"{layer.name}/shape")
    attributes = {}
    if layer.allowzero:
        need_opset(graph, layer, 14, "Reshape with allowzero")
        attributes["allowzero"] = 1
    return graph.node("Reshape", [operands[0], shape], layer.name, **attributes)


@lowers(ops.OnnxFlatten)
def onnx_flatten(graph, node, args, kwargs):
    return graph.node("Flatten", [args[0]], node.layer.name, axis=node.layer.axis)


def _axes_op(graph, node, args, op: str):
    layer = node.layer
    operands = onnx_layer_operands(graph, node, args)
    if len(operands) > 1:  # run-time axes
        need_opset(graph, layer, 13, f"{op} with run-time axes")
        return graph.node(op, operands[:2], layer.name)
    if layer.axes is None:
        return graph.node(op, [operands[0]], layer.name)
    if graph.opset >= 13:
        return graph.node(op, [operands[0], graph.ints(layer.axes, f"{layer.name}/axes")],
                          layer.name)
    return graph.node(op, [operands[0]], layer.name, axes=layer.axes)


@lowers(ops.OnnxSqueeze)
def onnx_squeeze(graph, node, args, kwargs):
    return _axes_op(graph, node, args, "Squeeze")


@lowers(ops.OnnxUnsqueeze)
def onnx_unsqueeze(graph, node, args, kwargs):
    return _axes_op(graph, node, args, "Unsqueeze")


@lowers(ops.OnnxConcat)
def onnx_concat(graph, node, args, kwargs):
    return graph.node("Concat", onnx_layer_operands(graph, node, args), node.layer.name,
                      axis=node.layer.axis)


@lowers(ops.OnnxGather)
def onnx_gather(graph, node, args, kwargs):
    return graph.node("Gather", onnx_layer_operands(graph, node, args), node.layer.name,
                      axis=node.layer.axis)


AXES_INPUT_SINCE = {"ReduceSum": 13}  # the other reductions take axes as an input from 18


@lowers(ops.OnnxReduce)
def onnx_reduce(graph, node, args, kwargs):
    layer = node.layer
    operands = onnx_layer_operands(graph, node, args)
    since = AXES_INPUT_SINCE.get(layer.op, 18)
    attributes = {"keepdims": layer.keepdims}
    if layer.noop_with_empty_axes:
        need_opset(graph, layer, since, f"{layer.op} with noop_with_empty_axes")
        attributes["noop_with_empty_axes"] = 1
    if len(operands) > 1:
        need_opset(graph, layer, since, f"{layer.op} with run-time axes")
        return graph.node(layer.op, operands[:2], layer.name, **attributes)
    if layer.axes is None:
        return graph.node(layer.op, [operands[0]], layer.name, **attributes)
    if graph.opset >= since:
        axes = graph.ints(layer.axes, f"{layer.name}/axes")
        return graph.node(layer.op, [operands[0], axes], layer.name, **attributes)
    return graph.node(layer.op, [operands[0]], layer.name, axes=layer.axes, **attributes)


@lowers(ops.OnnxSoftmax)
def onnx_softmax(graph, node, args, kwargs):
    layer, x = node.layer, args[0]
    op = "LogSoftmax" if layer.log else "Softmax"
    rank = len(node.input_tensors[0].shape)
    axis = layer.axis % rank
    if not layer.coerce_2d or axis == rank - 1 or graph.opset < 13:
        if graph.opset < 13 and axis != rank - 1 and not layer.coerce_2d:
            raise UnsupportedError(f"layer '{layer.name}' ({op} over axis {axis} of {rank}) "
                                   f"needs opset 13 or newer")
        return graph.node(op, [x], layer.name, axis=axis)
    shape = graph.node("Shape", [x], layer.name)
    flat = graph.node("Flatten", [x], layer.name, axis=axis)
    y = graph.node(op, [flat], layer.name, axis=1)
    return graph.node("Reshape", [y, shape], layer.name)


@lowers(ops.OnnxSlice)
def onnx_slice(graph, node, args, kwargs):
    layer = node.layer
    need_opset(graph, layer, 10, "Slice with steps")
    operands = onnx_layer_operands(graph, node, args)
    if layer.starts is None:
        return graph.node("Slice", operands[:5], layer.name)
    parameters = [graph.ints(layer.starts, f"{layer.name}/starts"),
                  graph.ints(layer.ends, f"{layer.name}/ends"),
                  graph.ints(layer.axes if layer.axes is not None else
                             list(range(len(layer.starts))), f"{layer.name}/axes")]
    if layer.steps is not None:
        parameters.append(graph.ints(layer.steps, f"{layer.name}/steps"))
    return graph.node("Slice", [operands[0], *parameters], layer.name)


@lowers(ops.OnnxShape)
def onnx_shape(graph, node, args, kwargs):
    layer = node.layer
    if layer.start == 0 and layer.end is None:
        return graph.node("Shape", [args[0]], layer.name)
    need_opset(graph, layer, 15, "Shape with start/end")
    attributes = {"start": layer.start}
    if layer.end is not None:
        attributes["end"] = layer.end
    return graph.node("Shape", [args[0]], layer.name, **attributes)


@lowers(ops.OnnxRange)
def onnx_range(graph, node, args, kwargs):
    return graph.node("Range", onnx_layer_operands(graph, node, args), node.layer.name)


@lowers(ops.OnnxExpand)
def onnx_expand(graph, node, args, kwargs):
    layer = node.layer
    operands = onnx_layer_operands(graph, node, args)
    target = operands[1] if layer.shape is None else graph.ints(layer.shape, f"{layer.name}/shape")
    return graph.node("Expand", [operands[0], target], layer.name)


@lowers(ops.OnnxConstantOfShape)
def onnx_constant_of_shape(graph, node, args, kwargs):
    layer = node.layer
    value = numpy_helper.from_array(np.asarray([layer.value], dtype=layer.to), "value")
    return graph.node("ConstantOfShape", [args[0]], layer.name, value=value)
