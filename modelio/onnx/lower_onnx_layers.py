"""ONNX lowerings of the ONNX-semantics layers of modelio/layers/ops.py: each becomes the
ONNX op it was imported from, with its weights in ONNX's own layouts."""

import numpy as np

from .. import ops
from ..errors import UnsupportedError
from ..layers.recurrent import onnx_recurrent
from .registry import lowers


def _window_attributes(layer) -> dict:
    return {"kernel_shape": list(layer.kernel_shape), "strides": list(layer.strides),
            "pads": list(layer.pads), "dilations": list(layer.dilations)}


@lowers(ops.OnnxConv)
def onnx_conv(graph, node, args, kwargs):
    layer = node.layer
    inputs = [args[0], graph.weight(layer.kernel)]
    if layer.bias is not None:
        inputs.append(graph.weight(layer.bias))
    return graph.node("Conv", inputs, layer.name, group=layer.group, **_window_attributes(layer))


@lowers(ops.OnnxConvTranspose)
def onnx_conv_transpose(graph, node, args, kwargs):
    layer = node.layer
    inputs = [args[0], graph.weight(layer.kernel)]
    if layer.bias is not None:
        inputs.append(graph.weight(layer.bias))
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
    if max(layer.dilations) > 1 and graph.opset < 19:
        raise UnsupportedError(f"layer '{layer.name}' (OnnxPool): AveragePool with dilations "
                               f"needs opset 19 or newer, exporting opset {graph.opset}")
    if graph.opset < 19:
        del attributes["dilations"]
    return graph.node("AveragePool", [args[0]], layer.name,
                      count_include_pad=int(layer.count_include_pad), **attributes)


@lowers(ops.OnnxPad)
def onnx_pad(graph, node, args, kwargs):
    layer = node.layer
    dtype = node.outputs[0].dtype
    inputs = [args[0], graph.ints(layer.pads, f"{layer.name}/pads")]
    if layer.mode == "constant":
        inputs.append(graph.constant(np.asarray(layer.constant_value, dtype=dtype),
                                     f"{layer.name}/constant_value"))
    if layer.mode == "wrap" and graph.opset < 19:
        raise UnsupportedError(f"layer '{layer.name}' (OnnxPad): mode 'wrap' needs opset 19 or "
                               f"newer, exporting opset {graph.opset}")
    return graph.node("Pad", inputs, layer.name, mode=layer.mode)


@lowers(ops.OnnxResize)
def onnx_resize(graph, node, args, kwargs):
    layer = node.layer
    needs = {"half_pixel_symmetric": layer.coordinate_transformation_mode == "half_pixel_symmetric",
             "antialias": layer.antialias}
    for feature, used in needs.items():
        minimum = 19 if feature == "half_pixel_symmetric" else 18
        if used and graph.opset < minimum:
            raise UnsupportedError(f"layer '{layer.name}' (OnnxResize): {feature} needs opset "
                                   f"{minimum} or newer, exporting opset {graph.opset}")
    attributes = {"mode": layer.mode,
                  "coordinate_transformation_mode": layer.coordinate_transformation_mode,
                  "nearest_mode": layer.nearest_mode, "cubic_coeff_a": layer.cubic_coeff_a,
                  "exclude_outside": int(layer.exclude_outside),
                  "extrapolation_value": layer.extrapolation_value}
    if layer.antialias:
        attributes["antialias"] = 1
    roi = "" if layer.roi is None else graph.constant(np.asarray(layer.roi, np.float32),
                                                      f"{layer.name}/roi")
    if layer.sizes is None:
        scales = graph.constant(np.asarray(layer.scales, np.float32), f"{layer.name}/scales")
        return graph.node("Resize", [args[0], roi, scales], layer.name, **attributes)
    if layer.scales is not None and any(
            size != int(np.floor(dim * scale)) for size, dim, scale in zip(
                layer.sizes[1:], node.outputs[0].shape[1:], layer.scales[1:])):
        raise UnsupportedError(f"layer '{layer.name}' (OnnxResize): scales that differ from "
                               f"sizes / input sizes have no ONNX Resize form")
    # The batch keeps its run-time size: sizes = concat(shape(x)[:1], fixed sizes).
    shape = graph.node("Shape", [args[0]], layer.name)
    batch = graph.node("Slice", [shape, graph.ints([0], f"{layer.name}/start"),
                                 graph.ints([1], f"{layer.name}/end")], layer.name)
    sizes = graph.node("Concat", [batch, graph.ints(layer.sizes[1:], f"{layer.name}/sizes")],
                       layer.name, axis=0)
    return graph.node("Resize", [args[0], roi, "", sizes], layer.name, **attributes)


@lowers(ops.OnnxLRN)
def onnx_lrn(graph, node, args, kwargs):
    layer = node.layer
    return graph.node("LRN", [args[0]], layer.name, size=layer.size, alpha=layer.alpha,
                      beta=layer.beta, bias=layer.bias)


@lowers(ops.OnnxLayerNormalization)
def onnx_layer_normalization(graph, node, args, kwargs):
    layer = node.layer
    if graph.opset < 17:
        raise UnsupportedError(f"layer '{layer.name}' (OnnxLayerNormalization): "
                               f"LayerNormalization needs opset 17 or newer, exporting opset "
                               f"{graph.opset}")
    inputs = [args[0], graph.weight(layer.scale)]
    if layer.bias is not None:
        inputs.append(graph.weight(layer.bias))
    outputs = 3 if layer.return_statistics else 1
    return graph.node("LayerNormalization", inputs, layer.name, outputs=outputs,
                      axis=layer.axis, epsilon=layer.epsilon)


@lowers(onnx_recurrent.OnnxRecurrent)
def onnx_recurrent(graph, node, args, kwargs):
    layer = node.layer
    tensors = args[0] if isinstance(args[0], (list, tuple)) else [args[0]]
    inputs = [tensors[0], graph.weight(layer.W), graph.weight(layer.R), graph.weight(layer.B),
              "", *tensors[1:]]
    if layer.cell == "LSTM":
        inputs += [""] * (7 - len(inputs)) + [graph.weight(layer.P)]
    attributes = {"hidden_size": layer.hidden_size, "direction": layer.direction,
                  "activations": list(layer.activations)}
    if layer.activation_alpha is not None:
        attributes["activation_alpha"] = list(layer.activation_alpha)
    if layer.activation_beta is not None:
        attributes["activation_beta"] = list(layer.activation_beta)
    if layer.clip is not None:
        attributes["clip"] = layer.clip
    if layer.cell == "GRU":
        attributes["linear_before_reset"] = int(layer.linear_before_reset)
    if layer.layout:
        attributes["layout"] = 1
    return graph.node(layer.cell, inputs, layer.name, outputs=3 if layer.cell == "LSTM" else 2,
                      **attributes)
