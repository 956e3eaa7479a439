"""What several lowering families share: layout Transposes around channels-first ONNX ops,
explicit pads, float32 inputs, dtype casts, reductions at any opset, masks, and the operands of
the Onnx* twins. Family modules import from here; this module imports no family."""


import numpy as np
import onnx
from onnx import TensorProto, helper

from ..errors import UnsupportedError
from ..graph.dtypes import HALF_DTYPES
from ..graph.tensor import SymbolicTensor
from ..kernels import resize_filters
from .registry import lowers


def to_channels_first(graph, x, rank, hint):
    return graph.node("Transpose", [x], hint, perm=[0, rank + 1, *range(1, rank + 1)])


def to_channels_last(graph, x, rank, hint):
    return graph.node("Transpose", [x], hint, perm=[0, *range(2, rank + 2), 1])


def spatial_sizes(node, rank, channels_first):
    shape = node.input_tensors[0].shape
    return list(shape[2:]) if channels_first else list(shape[1:rank + 1])


def onnx_pads(pairs):
    return [before for before, _ in pairs] + [after for _, after in pairs]


def channels_first_call(graph, layer, x, rank, body):
    """Run `body(x_nchw) -> y_nchw` in the layer's layout."""
    if layer.data_format == "channels_first":
        return body(x)
    return to_channels_last(graph, body(to_channels_first(graph, x, rank, layer.name)), rank,
                             layer.name)


def float_input(graph, node, x):
    """Integer and bool inputs are cast to float32 as the layers do; other float widths are
    refused (the weights are exported as float32)."""
    dtype = node.input_tensors[0].dtype
    if dtype == "float32" or autocast_to_float32(node):
        return x
    if dtype.startswith("float"):
        raise UnsupportedError(f"layer '{node.layer.name}': exporting {dtype} inputs of "
                               f"{type(node.layer).__name__} to ONNX is not supported yet")
    return graph.node("Cast", [x], node.layer.name, to=1)


def autocast_to_float32(node) -> bool:
    """True when the exporter has cast the layer's float input to float32 before the lowering
    runs (Keras's autocast: a float16 input of a float32 layer, or a float16 layer lowered in
    float32; see onnx/export.py `_lower_layer`)."""
    dtype = node.input_tensors[0].dtype
    return (dtype in HALF_DTYPES and node.layer.compute_dtype == "float32"
            and not getattr(node.layer, "_is_operation", False))


def refuse_masks(node, kwargs):
    if kwargs.get("mask") is not None:
        raise UnsupportedError(f"layer '{node.layer.name}': exporting masks to ONNX is not "
                               f"supported yet")


def as_declared(graph, node, y):
    """`y`, which keeps the input's dtype, cast to the dtype modelio's symbolic output declares
    (Keras's rule: the compute dtype, float32, even where the numpy call keeps an integer
    dtype); the values are the same."""
    declared = np.dtype(node.outputs[0].dtype)
    if np.dtype(node.input_tensors[0].dtype) == declared:
        return y
    return graph.node("Cast", [y], node.layer.name, to=helper.np_dtype_to_tensor_dtype(declared))


def linear_resize(graph, x, hint, sizes=None, scales=None):
    """Half-pixel bilinear Resize of NCHW `x` to spatial `sizes` (H, W) or by `scales` (a
    4-value constant name): modelio's taps, with the coordinate clamped at both edges."""
    attributes = dict(mode="linear", coordinate_transformation_mode="half_pixel")
    if scales is not None:
        return graph.node("Resize", [x, "", scales], hint, **attributes)
    # Full-rank sizes even at opset 18+: onnxruntime rejects Resize's `axes` with `sizes` when
    # it loads the model ("Number of elements of input 'sizes' (0) does not match ...").
    leading = graph.node("Slice", [graph.node("Shape", [x], hint), graph.ints([0], f"{hint}/zero"),
                                   graph.ints([2], f"{hint}/two")], hint)
    full_sizes = graph.node("Concat", [leading, graph.ints(sizes, f"{hint}/sizes")], hint, axis=0)
    return graph.node("Resize", [x, "", "", full_sizes], hint, **attributes)


def matrix_resize(graph, x, matrices, hint):
    """NCHW `x` resized by one matrix product per spatial axis (Einsum), height first as the
    kernels do: `matrices` holds an (in, out) float matrix per axis, or None to keep it."""
    for equation, matrix in zip(("nchw,hk->nckw", "nchw,wk->nchk"), matrices):
        if matrix is not None:
            weights = graph.constant(np.asarray(matrix, np.float32), f"{hint}/weights")
            x = graph.node("Einsum", [x, weights], hint, equation=equation)
    return x


def filtered_resize(graph, node, x, in_sizes, out_sizes, interpolation, antialias=False):
    """NCHW `x` resized from `in_sizes` to `out_sizes` (H, W) with one of
    resize_filters.FILTERED_INTERPOLATIONS ("bicubic", "lanczos3", "lanczos5", "area", and
    tf-keras's "gaussian", "mitchellcubic") as TensorFlow computes it: a constant weight matrix
    per axis. The input sizes must be known."""
    layer = node.layer
    if None in in_sizes:
        raise UnsupportedError(f"layer '{layer.name}': exporting {type(layer).__name__} with "
                               f"{interpolation!r} interpolation needs known image sizes, got "
                               f"shape {tuple(node.input_tensors[0].shape)}")
    keep = interpolation not in resize_filters.BLURRING_INTERPOLATIONS
    matrices = [None if size == out and keep else
                resize_filters.filter_weights(size, out, interpolation, antialias)
                for size, out in zip(in_sizes, out_sizes)]
    return matrix_resize(graph, x, matrices, layer.name)


def float_work(graph, node, x):
    """(float32 `x`, restore) for a layer that resizes in float32 and gives integer images back
    rounded and saturated to their own dtype's range, as `_resize_preserving_dtype` does.

    modelio's symbolic output (like Keras's) says float32 even where the numpy call returns the
    integer dtype; `restore` gives the dtype the graph declares, holding the same values."""
    dtype = node.input_tensors[0].dtype
    if dtype == "float32" or autocast_to_float32(node):
        return x, lambda y: y
    if dtype.startswith("float") or dtype == "bool":
        raise UnsupportedError(f"layer '{node.layer.name}': exporting {dtype} inputs of "
                               f"{type(node.layer).__name__} to ONNX is not supported yet")
    hint = node.layer.name
    info = np.iinfo(np.dtype(dtype))
    declared = np.dtype(node.outputs[0].dtype)

    def restore(y):
        y = graph.node("Clip", [graph.node("Round", [y], hint),
                                graph.constant(float(info.min), f"{hint}/min", "float32"),
                                graph.constant(float(info.max), f"{hint}/max", "float32")], hint)
        if declared == np.float32:
            return y
        return graph.node("Cast", [y], hint, to=helper.np_dtype_to_tensor_dtype(declared))

    return graph.node("Cast", [x], hint, to=onnx.TensorProto.FLOAT), restore


def onnx_type(dtype) -> int:
    """The ONNX element type of a numpy dtype (name)."""
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def cast_to(graph, name: str, from_dtype, to_dtype, hint: str) -> str:
    """`name` cast to `to_dtype` (no node when it already has that dtype)."""
    if np.dtype(from_dtype) == np.dtype(to_dtype):
        return name
    return graph.node("Cast", [name], hint, to=onnx_type(to_dtype))


def reduce(graph, op: str, x: str, axes: list[int] | None, keepdims: bool, hint: str) -> str:
    """`op` (ReduceSum, ReduceMax, ...) over `axes` (all axes when None), at any opset >= 13."""
    if axes is None:
        return graph.node(op, [x], hint, keepdims=int(keepdims))
    if op == "ReduceSum" or graph.opset >= 18:
        return graph.node(op, [x, graph.ints(axes, f"{hint}/axes")], hint, keepdims=int(keepdims))
    return graph.node(op, [x], hint, axes=axes, keepdims=int(keepdims))


def onnx_layer_operands(graph, node, args) -> list:
    """The layer's ONNX operands: tensor names with its constant weights in their places."""
    layer = node.layer
    tensors = list(args[0]) if isinstance(args[0], (list, tuple)) else [args[0]]
    constants = [graph.weight(weight) for weight in layer.constant_weights]
    return layer.merge_constants(tensors, constants)


def lowers_as(layer_class: type, op_type: str, **attribute_names: str) -> None:
    """Register the lowering of `layer_class` (an Onnx* twin) as one ONNX `op_type` node over its
    operands, named after the layer. `attribute_names` maps each ONNX attribute to the layer
    attribute that holds its value (`transA="trans_a"`)."""

    def lower(graph, node, args, kwargs):
        layer = node.layer
        attributes = {name: getattr(layer, held_in) for name, held_in in attribute_names.items()}
        return graph.node(op_type, onnx_layer_operands(graph, node, args), layer.name,
                          **attributes)

    lower.__qualname__ = f"lowers_as({layer_class.__name__}, {op_type!r})"
    lowers(layer_class)(lower)


class OpsetNeeded(UnsupportedError):
    """A lowering needs a newer opset than the export's: `opset` is the lowest it takes. An
    export whose opset the user left unset retries with it (export.py)."""

    def __init__(self, message: str, opset: int):
        super().__init__(message)
        self.opset = opset


def need_opset(graph, layer, opset: int, what: str) -> None:
    """Refuse (OpsetNeeded) lowering `what` of `layer` below `opset`."""
    if graph.opset < opset:
        raise OpsetNeeded(f"layer '{layer.name}' ({type(layer).__name__}): {what} needs "
                          f"opset {opset} or newer, exporting to {graph.opset}", opset)


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


def bool_mask(graph, mask, symbolic, hint: str) -> str:
    """A mask (ONNX name, or a constant array) as bool: Keras reads a non-bool mask as
    `mask > 0.5`."""
    if not isinstance(symbolic, SymbolicTensor):
        mask = graph.constant(np.asarray(symbolic), f"{hint}/mask")
    dtype = np.asarray(symbolic).dtype if not isinstance(symbolic, SymbolicTensor) else symbolic.dtype
    if np.dtype(dtype) == np.bool_:
        return mask
    return graph.node("Greater", [mask, graph.constant(0.5, f"{hint}/half", dtype)], hint)


class InnerNode:
    """A wrapped layer seen as a node (its layer, inputs and outputs), for reusing its lowering."""

    def __init__(self, layer, input_tensors=(), call_args=(), outputs=()):
        self.layer = layer
        self.input_tensors = list(input_tensors)
        self.call_args = tuple(call_args)
        self.call_kwargs = {}
        self.outputs = list(outputs)


def refuse_export(layer, what):
    raise UnsupportedError(f"layer '{layer.name}': exporting {what} to ONNX is not supported")
