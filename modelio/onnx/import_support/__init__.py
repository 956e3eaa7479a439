"""Helpers shared by the ONNX import converters, by topic: constants (folding and size limits),
node_inputs (reading a node's inputs and attributes), layer_calls (calling layers with weights
taken from the graph) and windows (Conv/Pool strides, dilations and pads)."""
