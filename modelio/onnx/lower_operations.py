"""ONNX lowerings of the Keras 3 operation nodes (modelio/layers/ops.py): the mask
computations Keras records (NotEqual, Any, LogicalOr, ExpandDims, ZerosLike, Concatenate, ...) and
elementwise arithmetic on symbolic tensors.

Bool tensors stay bool. Operands are cast to the dtype numpy would compute in (a Python scalar
operand takes the tensor's dtype, as numpy 2 does); ONNX ops without bool support (reductions,
Add, Mul, Max, Min) run on int32 or on And/Or instead.
"""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from .. import ops
from ..errors import UnsupportedError
from ..graph.tensor import SymbolicTensor
from .registry import lowers

_COMPARISONS = {ops.Equal: "Equal", ops.Greater: "Greater",
                ops.GreaterEqual: "GreaterOrEqual", ops.Less: "Less",
                ops.LessEqual: "LessOrEqual"}
_ARITHMETIC = {ops.Add: "Add", ops.Subtract: "Sub", ops.Multiply: "Mul",
               ops.Maximum: "Max", ops.Minimum: "Min"}
# numpy on bool arrays: + and maximum are a logical or, * and minimum a logical and.
_BOOL_ARITHMETIC = {"Add": "Or", "Max": "Or", "Mul": "And", "Min": "And"}


def onnx_type(dtype) -> int:
    """The ONNX element type of a numpy dtype (name)."""
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def cast_to(graph, name: str, from_dtype, to_dtype, hint: str) -> str:
    """`name` cast to `to_dtype` (no node when it already has that dtype)."""
    if np.dtype(from_dtype) == np.dtype(to_dtype):
        return name
    return graph.node("Cast", [name], hint, to=onnx_type(to_dtype))


def _operand_dtype(symbolic, value):
    return np.dtype(symbolic.dtype) if isinstance(symbolic, SymbolicTensor) else value


def _common_dtype(node) -> np.dtype:
    """The dtype numpy computes a binary operation in (Python scalars are weakly typed)."""
    symbolic = node.call_args
    operands = [_operand_dtype(item, item) for item in symbolic]
    tensors = [item for item in operands if isinstance(item, np.dtype)]
    others = [item for item in operands if not isinstance(item, np.dtype)]
    if not tensors:
        raise UnsupportedError(f"operation '{node.layer.name}': no tensor operand to export")
    return np.result_type(*tensors, *others)


def _operands(graph, node, args, dtype) -> list[str]:
    """Both operands as ONNX names of `dtype` (constants become initializers)."""
    names = []
    for symbolic, value in zip(node.call_args, args):
        if isinstance(symbolic, SymbolicTensor):
            names.append(cast_to(graph, value, symbolic.dtype, dtype, node.layer.name))
        else:
            names.append(graph.constant(np.asarray(value, dtype=dtype), f"{node.layer.name}/constant"))
    return names


@lowers(ops.NotEqual, *_COMPARISONS)
def comparison(graph, node, args, kwargs):
    layer = node.layer
    dtype = _common_dtype(node)
    first, second = _operands(graph, node, args, dtype)
    if isinstance(layer, ops.NotEqual):
        return graph.node("Not", [graph.node("Equal", [first, second], layer.name)], layer.name)
    if dtype == np.bool_ and type(layer) is not ops.Equal:
        first, second = (graph.node("Cast", [name], layer.name, to=TensorProto.INT32)
                         for name in (first, second))
    return graph.node(_COMPARISONS[type(layer)], [first, second], layer.name)


@lowers(ops.LogicalAnd, ops.LogicalOr)
def logical_binary(graph, node, args, kwargs):
    first, second = _operands(graph, node, args, np.bool_)
    op = "And" if isinstance(node.layer, ops.LogicalAnd) else "Or"
    return graph.node(op, [first, second], node.layer.name)


@lowers(ops.LogicalNot)
def logical_not(graph, node, args, kwargs):
    x = cast_to(graph, args[0], node.input_tensors[0].dtype, np.bool_, node.layer.name)
    return graph.node("Not", [x], node.layer.name)


@lowers(*_ARITHMETIC)
def arithmetic(graph, node, args, kwargs):
    layer = node.layer
    dtype = np.dtype(node.outputs[0].dtype)
    op = _ARITHMETIC[type(layer)]
    if dtype == np.bool_:
        if op not in _BOOL_ARITHMETIC:
            raise UnsupportedError(f"operation '{layer.name}': {type(layer).__name__} of bool "
                                   f"tensors has no ONNX export")
        op = _BOOL_ARITHMETIC[op]
    return graph.node(op, _operands(graph, node, args, dtype), layer.name)


def _axes(node) -> list[int] | None:
    axis = node.layer.axis
    if axis is None:
        return None
    return list(axis) if isinstance(axis, (list, tuple)) else [axis]


def reduce(graph, op: str, x: str, axes: list[int] | None, keepdims: bool, hint: str) -> str:
    """`op` (ReduceSum, ReduceMax, ...) over `axes` (all axes when None), at any opset >= 13."""
    if axes is None:
        return graph.node(op, [x], hint, keepdims=int(keepdims))
    if op == "ReduceSum" or graph.opset >= 18:
        return graph.node(op, [x, graph.ints(axes, f"{hint}/axes")], hint, keepdims=int(keepdims))
    return graph.node(op, [x], hint, axes=axes, keepdims=int(keepdims))


@lowers(ops.Any, ops.All)
def any_or_all(graph, node, args, kwargs):
    """Any/All as ReduceMax/ReduceMin of the truth values as int32 (ONNX reductions take no bool)."""
    layer, hint = node.layer, node.layer.name
    truth = cast_to(graph, args[0], node.input_tensors[0].dtype, np.bool_, hint)
    as_int = graph.node("Cast", [truth], hint, to=TensorProto.INT32)
    op = "ReduceMax" if isinstance(layer, ops.Any) else "ReduceMin"
    reduced = reduce(graph, op, as_int, _axes(node), layer.keepdims, hint)
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
    reduced = reduce(graph, op, x, _axes(node), layer.keepdims, hint)
    return cast_to(graph, reduced, work_dtype, output_dtype, hint)


@lowers(ops.ExpandDims)
def expand_dims(graph, node, args, kwargs):
    layer = node.layer
    return graph.node("Unsqueeze", [args[0], graph.ints([layer.axis], f"{layer.name}/axes")],
                      layer.name)


@lowers(ops.Squeeze)
def squeeze(graph, node, args, kwargs):
    """The size-1 axes are resolved from the symbolic shape: ONNX's axis-less Squeeze would also
    drop a batch axis that happens to be 1 at run time."""
    layer, shape = node.layer, node.input_tensors[0].shape
    if layer.axis is None:
        axes = [index for index, dim in enumerate(shape) if dim == 1]
    else:
        axes = [axis % len(shape) for axis in _axes(node)]
    if not axes:
        return graph.node("Identity", [args[0]], layer.name)
    return graph.node("Squeeze", [args[0], graph.ints(axes, f"{layer.name}/axes")], layer.name)


@lowers(ops.ZerosLike, ops.OnesLike)
def filled_like(graph, node, args, kwargs):
    layer = node.layer
    dtype = np.dtype(node.outputs[0].dtype)
    fill = numpy_helper.from_array(np.full((1,), type(layer).fill, dtype=dtype), "value")
    shape = graph.node("Shape", [args[0]], layer.name)
    return graph.node("ConstantOfShape", [shape], layer.name, value=fill)


@lowers(ops.Cast)
def cast(graph, node, args, kwargs):
    result = cast_to(graph, args[0], node.input_tensors[0].dtype, node.outputs[0].dtype,
                     node.layer.name)
    return result if result != args[0] else graph.node("Identity", [result], node.layer.name)


def _joined_inputs(graph, node, args) -> list[str]:
    dtype = node.outputs[0].dtype
    return [cast_to(graph, name, tensor.dtype, dtype, node.layer.name)
            for tensor, name in zip(node.call_args[0], args[0])]


@lowers(ops.Concatenate)
def concatenate(graph, node, args, kwargs):
    return graph.node("Concat", _joined_inputs(graph, node, args), node.layer.name,
                      axis=int(node.layer.axis))


@lowers(ops.Stack)
def stack(graph, node, args, kwargs):
    layer = node.layer
    axes = graph.ints([layer.axis], f"{layer.name}/axis")
    expanded = [graph.node("Unsqueeze", [name, axes], layer.name)
                for name in _joined_inputs(graph, node, args)]
    return graph.node("Concat", expanded, layer.name, axis=int(layer.axis))
