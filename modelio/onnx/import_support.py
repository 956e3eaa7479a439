"""Helpers shared by the ONNX import converters: reading a node's inputs and attributes,
folding constants within size limits, and calling layers with weights taken from the graph."""

import math

import numpy as np
import onnx
from onnx import helper

from ..errors import FormatError, UnsupportedError
from ..graph.layer import weights_follow
from ..graph.tensor import SymbolicTensor
from .import_context import ImportContext

# No constant computed while importing may hold more elements than this.
MAX_FOLDED_ELEMENTS = 2**28


def is_tensor(value) -> bool:
    return isinstance(value, SymbolicTensor)


def checked_constant(context: ImportContext, node, array) -> np.ndarray:
    """`array` as a numpy array, refused when larger than MAX_FOLDED_ELEMENTS."""
    array = np.asarray(array)
    if array.size > MAX_FOLDED_ELEMENTS:
        raise FormatError(f"{context.where(node)}: a constant of shape {array.shape} is too large "
                          f"(more than {MAX_FOLDED_ELEMENTS} elements)")
    return array


def check_fold_shape(context: ImportContext, node, shape) -> tuple:
    """A shape about to be allocated: non-negative dims, not too many elements."""
    dims = tuple(int(dim) for dim in np.asarray(shape).reshape(-1))
    if any(dim < 0 for dim in dims) or math.prod(dims) > MAX_FOLDED_ELEMENTS:
        raise FormatError(f"{context.where(node)}: refusing to build a constant of shape {dims}")
    return dims


def keras_float(value) -> bool:
    """Whether a Keras layer can take `value` unchanged (a float32 tensor)."""
    return is_tensor(value) and value.dtype == "float32"


def call_layer(layer, inputs, weights=()):
    """Call `layer` on symbolic `inputs` and give it `weights` (arrays in `layer.weights` order)
    without first allocating initial values."""
    with weights_follow():
        output = layer(inputs)
    for weight, array in zip(layer.weights, weights):
        weight.assign(np.asarray(array), copy=False)
    return output


def onnx_layer(context: ImportContext, node, cls, operands: list, **config):
    """Call the Onnx* layer `cls` on `operands` (tensors and numpy constants, in ONNX order):
    the constants become its weights."""
    constants, arrays, tensors = [], [], []
    for index, operand in enumerate(operands):
        if is_tensor(operand):
            tensors.append(operand)
        else:
            array = np.asarray(operand)
            constants.append({"index": index, "shape": list(array.shape),
                              "dtype": array.dtype.name})
            arrays.append(array)
    if not tensors:
        raise FormatError(f"{context.where(node)}: no run-time operand")
    layer = cls(name=context.layer_name(node), constants=constants or None, **config)
    return call_layer(layer, tensors if len(tensors) > 1 else tensors[0], arrays)


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


def fold(context: ImportContext, node, function, *arrays):
    """`function(*arrays)` for a node whose inputs are all constants."""
    with np.errstate(all="ignore"):
        return checked_constant(context, node, function(*arrays))


def producer_of(tensor):
    """(layer, its input tensors, its constant weights) of the layer that made `tensor`."""
    history = tensor.keras_history
    if history is None:
        return None, [], []
    layer = history.layer
    call_args = layer.inbound_nodes[history.node_index].call_args
    if not call_args:  # an Input
        return layer, [], []
    call_arg = call_args[0]
    inputs = list(call_arg) if isinstance(call_arg, (list, tuple)) else [call_arg]
    return layer, inputs, [weight.value for weight in layer.weights]


MAX_SAMPLE_ELEMENTS = 2**28


def extra_name(context, node, suffix: str) -> str:
    """A unique layer name for a second layer made from `node`."""
    base = f"{node.name or node.output[0]}_{suffix}"
    return context.layer_name(onnx.NodeProto(name=base, op_type=node.op_type))


def image_input(context, node, what: str = "X") -> SymbolicTensor:
    x = context.tensor(node, 0)
    if len(x.shape) < 3 or len(x.shape) > 5:
        raise UnsupportedError(f"{context.where(node)}: {what} must have rank 3 to 5 (N, C, "
                               f"spatial...), got shape {tuple(x.shape)}")
    return x


def ints_attribute(context, node, name: str, length: int, default: int) -> list:
    value = context.attribute(node, name, None)
    if value is None:
        return [default] * length
    value = [int(item) for item in value]
    if len(value) != length:
        raise FormatError(f"{context.where(node)}: attribute {name} must have {length} entries, "
                          f"got {value}")
    return value


def strides_and_dilations(context, node, rank: int, kernel_shape) -> tuple:
    """(strides, dilations) of a windowed op, checked."""
    strides = ints_attribute(context, node, "strides", rank, 1)
    dilations = ints_attribute(context, node, "dilations", rank, 1)
    if min(strides) < 1 or min(dilations) < 1 or min(kernel_shape) < 1:
        raise FormatError(f"{context.where(node)}: kernel_shape, strides and dilations must be "
                          f"positive, got {list(kernel_shape)}, {strides}, {dilations}")
    return strides, dilations


def _same_pads(sizes, kernel_shape, strides, dilations, lower: bool) -> list | None:
    """ONNX's SAME_UPPER / SAME_LOWER pads (begins then ends) for known spatial `sizes`."""
    if any(size is None for size in sizes):
        return None
    begins, ends = [], []
    for size, kernel, stride, dilation in zip(sizes, kernel_shape, strides, dilations):
        out = -(-size // stride)
        total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begins.append(large if lower else small)
        ends.append(small if lower else large)
    return begins + ends


def explicit_pads(context, node, sizes, kernel_shape, strides, dilations) -> list | str:
    """The pads of a Conv/Pool node as a list, or "same" for SAME_UPPER on unknown sizes."""
    rank = len(kernel_shape)
    auto_pad = context.attribute(node, "auto_pad", "NOTSET")
    if auto_pad == "VALID":
        return [0] * (2 * rank)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = _same_pads(sizes, kernel_shape, strides, dilations, auto_pad == "SAME_LOWER")
        if pads is None:
            if auto_pad == "SAME_LOWER":
                raise UnsupportedError(f"{context.where(node)}: auto_pad SAME_LOWER needs known "
                                       f"spatial sizes, the input has {tuple(sizes)}")
            return "same"
        return pads
    if auto_pad != "NOTSET":
        raise FormatError(f"{context.where(node)}: unknown auto_pad {auto_pad!r}")
    pads = ints_attribute(context, node, "pads", 2 * rank, 0)
    if min(pads) < 0:
        raise FormatError(f"{context.where(node)}: pads must be >= 0, got {pads}")
    return pads


def keras_padding(pads, sizes, kernel_shape, strides, dilations) -> str | None:
    """"valid" or "same" when Keras's padding is exactly `pads`, else None."""
    if pads == "same":
        return "same"
    if not any(pads):
        return "valid"
    if pads == _same_pads(sizes, kernel_shape, strides, dilations, lower=False):
        return "same"
    return None


def bounded_tensor(context, node, tensor):
    """`tensor`, refused when one sample would hold more than MAX_SAMPLE_ELEMENTS values (a
    hostile Resize / Pad / ConvTranspose must fail here, not when the model first runs)."""
    size = float(np.prod([dim for dim in tensor.shape[1:] if dim is not None], dtype=np.float64))
    if size > MAX_SAMPLE_ELEMENTS:
        raise FormatError(f"{context.where(node)}: the output of shape {tuple(tensor.shape)} "
                          f"would hold {size:.3g} values per sample (at most "
                          f"{MAX_SAMPLE_ELEMENTS} are imported)")
    return tensor


def set_layer_weights(layer, arrays) -> None:
    """Give `layer` the arrays (views of the initializers where they only rearrange them: the
    weights are adopted, not copied, so an imported model holds its weights once)."""
    if len(arrays) != len(layer.weights):
        raise FormatError(f"layer '{layer.name}' expects {len(layer.weights)} weight(s), got "
                          f"{len(arrays)}")
    for weight, array in zip(layer.weights, arrays):
        weight.assign(np.asarray(array, dtype=weight.value.dtype), copy=False)
