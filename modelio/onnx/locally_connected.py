"""ONNX lowering of LocallyConnected1D/2D (modelio/layers/locally_connected.py): the window
patches as one Gather over the flattened positions, an Einsum with the local kernel (output
positions, window, channels, filters) whatever tf-keras implementation stored it, the bias, the
activation; channels_first inputs are moved to channels-last and back."""

import math

import numpy as np

from ..layers.locally_connected import LocallyConnected1D, LocallyConnected2D
from .activation_functions import lower_activation
from .export_support import to_channels_first, to_channels_last
from .registry import lowers_float32


@lowers_float32(LocallyConnected1D, LocallyConnected2D)
def locally_connected(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    spatial, channels = layer.geometry()
    out = layer.output_dims(spatial)
    x = args[0]
    if layer.data_format == "channels_first":
        x = to_channels_last(graph, x, layer.rank, hint)
    flat = graph.node("Reshape", [x, graph.ints([0, math.prod(spatial), channels],
                                                f"{hint}/flat_shape")], hint)
    patches = graph.node("Gather", [flat, graph.constant(layer.patch_positions(spatial),
                                                         f"{hint}/patches")], hint, axis=1)
    kernel = graph.weight(layer.kernel, layer.local_kernel().astype(np.float32), "local")
    y = graph.node("Einsum", [patches, kernel], hint, equation="bowc,owcf->bof")
    y = graph.node("Reshape", [y, graph.ints([0, *out, layer.filters], f"{hint}/out_shape")], hint)
    if layer.bias is not None:
        y = graph.node("Add", [y, graph.weight(layer.bias, layer.bias_term().astype(np.float32),
                                               f"local:{layer.data_format}")], hint)
    y = lower_activation(graph, layer.activation_name, y, hint, hint)
    if layer.data_format == "channels_first":
        y = to_channels_first(graph, y, layer.rank, hint)
    return y
