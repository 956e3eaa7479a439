"""Reading a node: its inputs counted, ints given as attribute or input, axes and ONNX types
checked."""

import numpy as np
from onnx import helper

from ...errors import FormatError, UnsupportedError
from ..import_context import ImportContext


def inputs_of(context: ImportContext, node, minimum: int, maximum: int | None = None) -> list:
    """The node's input values (None for omitted ones), after checking how many there are."""
    count = len(node.input)
    if count < minimum or (maximum is not None and count > maximum):
        expected = minimum if maximum == minimum else f"{minimum} to {maximum or 'any'}"
        raise FormatError(f"{context.where(node)}: expected {expected} inputs, got {count}")
    values = [context.value(name) for name in node.input]
    for index in range(minimum):
        if values[index] is None:
            raise FormatError(f"{context.where(node)}: input {index} is missing")
    return values


def ints_input_or_attribute(context: ImportContext, node, index: int, name: str,
                            since_opset: int):
    """A list of ints given as attribute `name` before `since_opset`, as constant input `index`
    from then on (None when absent)."""
    if context.opset < since_opset:
        value = context.attribute(node, name)
        return None if value is None else [int(item) for item in value]
    array = context.constant(node, index, required=False)
    return None if array is None else [int(item) for item in np.asarray(array).reshape(-1)]


def positive_axis(context: ImportContext, node, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise FormatError(f"{context.where(node)}: axis {axis} is out of range for rank {rank}")
    return axis % rank


def numpy_dtype(context: ImportContext, node, onnx_type: int) -> str:
    try:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(int(onnx_type)))
    except (KeyError, TypeError, ValueError) as exc:
        raise UnsupportedError(f"{context.where(node)}: ONNX type {onnx_type} is not "
                               f"supported") from exc
    if dtype.kind not in "biuf" or dtype.name.startswith(("float8", "bfloat")) or \
            dtype.name in ("int4", "uint4", "float4_e2m1"):
        raise UnsupportedError(f"{context.where(node)}: ONNX type "
                               f"{helper.tensor_dtype_to_string(int(onnx_type))} is not supported")
    return dtype.name
