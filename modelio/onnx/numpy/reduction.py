"""Both ONNX directions for keras.ops.numpy's reductions (modelio/ops/numpy/reduction.py):
Any/All/Sum/Mean/Max/Min and OnnxReduce as ONNX Reduce* nodes; ONNX's Reduce* imported."""


import numpy as np
from onnx import NodeProto, TensorProto

from ... import ops
from ...errors import UnsupportedError
from ..export_support import cast_to, need_opset, onnx_layer_operands, reduce
from ..import_context import ImportContext
from ..import_support.constants import fold, is_tensor
from ..import_support.layer_calls import onnx_layer
from ..import_support.node_inputs import inputs_of, ints_input_or_attribute
from ..registry import converts, lowers


def operation_axes(node) -> list[int] | None:
    axis = node.layer.axis
    if axis is None:
        return None
    return list(axis) if isinstance(axis, (list, tuple)) else [axis]


@lowers(ops.Any, ops.All)
def any_or_all(graph, node, args, kwargs):
    """Any/All as ReduceMax/ReduceMin of the truth values as int32 (ONNX reductions take no bool)."""
    layer, hint = node.layer, node.layer.name
    truth = cast_to(graph, args[0], node.input_tensors[0].dtype, np.bool_, hint)
    as_int = graph.node("Cast", [truth], hint, to=TensorProto.INT32)
    op = "ReduceMax" if isinstance(layer, ops.Any) else "ReduceMin"
    reduced = reduce(graph, op, as_int, operation_axes(node), layer.keepdims, hint)
    return graph.node("Cast", [reduced], hint, to=TensorProto.BOOL)


_REDUCTIONS = {ops.Sum: "ReduceSum", ops.Mean: "ReduceMean",
               ops.Max: "ReduceMax", ops.Min: "ReduceMin"}


@lowers(*_REDUCTIONS)
def reduction(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    input_dtype = np.dtype(node.input_tensors[0].dtype)
    output_dtype = np.dtype(node.outputs[0].dtype)
    op = _REDUCTIONS[type(layer)]
    # numpy counts bools (Sum) and averages integers (Mean) in another kind of dtype than the
    # graph declares; no export could match both, so those are refused.
    probe = np.zeros((1,) * len(node.input_tensors[0].shape), input_dtype)
    axis = tuple(layer.axis) if isinstance(layer.axis, list) else layer.axis
    computed = np.asarray(type(layer).function(probe, axis=axis, keepdims=layer.keepdims)).dtype
    if computed.kind != output_dtype.kind:
        raise UnsupportedError(f"operation '{hint}' ({type(layer).__name__}): the graph declares "
                               f"{output_dtype} for {input_dtype} inputs but numpy computes "
                               f"{computed}; exporting it to ONNX is not supported")
    work_dtype = np.dtype(np.int32) if input_dtype == np.bool_ else input_dtype
    x = cast_to(graph, args[0], input_dtype, work_dtype, hint)
    reduced = reduce(graph, op, x, operation_axes(node), layer.keepdims, hint)
    initial = getattr(layer, "initial", None)
    if initial is not None:  # Max / Min fold `initial` into every reduction
        reduced = graph.node("Max" if op == "ReduceMax" else "Min", [
            reduced, graph.constant(np.asarray(initial, work_dtype), f"{hint}/initial")], hint)
    return cast_to(graph, reduced, work_dtype, output_dtype, hint)


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


REDUCE_OPS = {"ReduceMean": 18, "ReduceSum": 13, "ReduceMax": 18, "ReduceMin": 18,
              "ReduceProd": 18, "ReduceL1": 18, "ReduceL2": 18, "ReduceSumSquare": 18,
              "ReduceLogSum": 18, "ReduceLogSumExp": 18}


@converts(*REDUCE_OPS)
def convert_reduce(context: ImportContext, node: NodeProto) -> list:
    values = inputs_of(context, node, 1, 2)
    x = values[0]
    config = {"op": node.op_type,
              "keepdims": int(context.attribute(node, "keepdims", 1)),
              "noop_with_empty_axes": int(context.attribute(node, "noop_with_empty_axes", 0))}
    runtime_axes = context.opset >= REDUCE_OPS[node.op_type] and len(values) > 1 \
        and is_tensor(values[1])
    if runtime_axes and is_tensor(x):
        return [onnx_layer(context, node, ops.OnnxReduce, [x, values[1]], **config)]
    if runtime_axes:
        raise UnsupportedError(f"{context.where(node)}: run-time axes on a constant")
    config["axes"] = ints_input_or_attribute(context, node, 1, "axes", REDUCE_OPS[node.op_type])
    if not is_tensor(x):
        layer = ops.OnnxReduce(**config)
        return [fold(context, node, lambda array: layer.compute([np.asarray(array)]), x)]
    return [onnx_layer(context, node, ops.OnnxReduce, [x], **config)]
