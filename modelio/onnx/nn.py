"""Both ONNX directions for keras.ops's nn family (modelio/ops/nn.py): the OnnxSoftmax, OnnxConv,
OnnxConvTranspose, OnnxPool, OnnxLRN and OnnxLayerNormalization twins back to the ONNX ops
they came from, and ONNX's LRN imported."""

from .. import ops
from ..errors import FormatError, UnsupportedError
from ..ops import (
    OnnxLRN,
)
from .export_support import need_opset
from .import_support.windows import image_input
from .registry import converts, lowers


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


def _window_attributes(layer) -> dict:
    return {"kernel_shape": list(layer.kernel_shape), "strides": list(layer.strides),
            "pads": list(layer.pads), "dilations": list(layer.dilations)}


def _conv_inputs(graph, layer, x) -> list:
    """x, the kernel and (when the layer has one) the bias, as ONNX names."""
    weights = [layer.kernel] + ([layer.bias] if layer.bias is not None else [])
    return [x] + [graph.weight(weight) for weight in weights]


@lowers(ops.OnnxConv)
def onnx_conv(graph, node, args, kwargs):
    layer = node.layer
    return graph.node("Conv", _conv_inputs(graph, layer, args[0]), layer.name, group=layer.group,
                      **_window_attributes(layer))


@lowers(ops.OnnxConvTranspose)
def onnx_conv_transpose(graph, node, args, kwargs):
    layer = node.layer
    inputs = _conv_inputs(graph, layer, args[0])
    pads = list(layer.pads)
    rank = len(layer.kernel_shape)
    if min(pads) < 0:  # zeros appended at the end: ONNX spells that with output_padding
        output_padding = [pad - min(end, 0) for pad, end in zip(layer.output_padding, pads[rank:])]
        pads = pads[:rank] + [max(end, 0) for end in pads[rank:]]
    else:
        output_padding = list(layer.output_padding)
    return graph.node("ConvTranspose", inputs, layer.name, group=layer.group,
                      output_padding=output_padding,
                      **{**_window_attributes(layer), "pads": pads})


@lowers(ops.OnnxPool)
def onnx_pool(graph, node, args, kwargs):
    layer = node.layer
    attributes = {**_window_attributes(layer), "ceil_mode": int(layer.ceil_mode)}
    if layer.mode == "max":
        if layer.return_indices:
            return graph.node("MaxPool", [args[0]], layer.name, outputs=2,
                              storage_order=layer.storage_order, **attributes)
        return graph.node("MaxPool", [args[0]], layer.name, **attributes)
    if max(layer.dilations) > 1:
        need_opset(graph, layer, 19, "AveragePool with dilations")
    if graph.opset < 19:
        del attributes["dilations"]
    return graph.node("AveragePool", [args[0]], layer.name,
                      count_include_pad=int(layer.count_include_pad), **attributes)


@lowers(ops.OnnxLRN)
def onnx_lrn(graph, node, args, kwargs):
    layer = node.layer
    return graph.node("LRN", [args[0]], layer.name, size=layer.size, alpha=layer.alpha,
                      beta=layer.beta, bias=layer.bias)


@lowers(ops.OnnxLayerNormalization)
def onnx_layer_normalization(graph, node, args, kwargs):
    layer = node.layer
    need_opset(graph, layer, 17, "LayerNormalization")
    inputs = [args[0], graph.weight(layer.scale)]
    if layer.bias is not None:
        inputs.append(graph.weight(layer.bias))
    outputs = 3 if layer.return_statistics else 1
    return graph.node("LayerNormalization", inputs, layer.name, outputs=outputs,
                      axis=layer.axis, epsilon=layer.epsilon)


@converts("LRN")
def convert_lrn(context, node) -> list:
    x = image_input(context, node)
    size = context.attribute(node, "size", None)
    if size is None:
        raise FormatError(f"{context.where(node)}: attribute size is missing")
    return [OnnxLRN(int(size), alpha=context.attribute(node, "alpha", 1e-4),
                    beta=context.attribute(node, "beta", 0.75),
                    bias=context.attribute(node, "bias", 1.0), name=context.layer_name(node))(x)]
