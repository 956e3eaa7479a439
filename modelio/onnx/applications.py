"""ONNX lowerings of the keras.applications classes (modelio/layers/applications.py): LayerScale
as a Mul by gamma, StochasticDepth as an Identity, CustomScaleLayer as Mul + Add."""

import numpy as np

from ..layers import applications
from .registry import lowers


@lowers(applications.LayerScale)
def layer_scale(graph, node, args, kwargs):
    layer = node.layer
    return graph.node("Mul", [args[0], graph.weight(layer.gamma)], layer.name)


@lowers(applications.StochasticDepth)
def stochastic_depth(graph, node, args, kwargs):
    return graph.node("Identity", [args[0]], node.layer.name)


@lowers(applications.CustomScaleLayer)
def custom_scale_layer(graph, node, args, kwargs):
    layer = node.layer
    first, second = args[0]
    dtype = np.dtype(node.input_tensors[1].dtype)
    scaled = graph.node("Mul", [second, graph.constant(layer.scale, f"{layer.name}/scale", dtype)],
                        layer.name)
    return graph.node("Add", [first, scaled], layer.name)
