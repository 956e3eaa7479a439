"""ONNX lowerings of keras.ops.nn's loss functions and PSNR (modelio/ops/nn_losses.py)."""

import math

import numpy as np

from .. import ops
from .export_support import reduce
from .op_support import operand, output_dtype, refuse, scalar
from .registry import lowers


def _pair(graph, node, args, target_dtype=None):
    dtype = output_dtype(node)
    if dtype != np.float32:
        refuse(node, f"{dtype} outputs (exported in float32)")
    target = operand(graph, node, 0, args[0], target_dtype or dtype)
    return target, operand(graph, node, 1, args[1], dtype), dtype


def _clip(graph, x, dtype, hint):
    return graph.node("Clip", [x, scalar(graph, ops.EPSILON, dtype, hint),
                               scalar(graph, 1 - ops.EPSILON, dtype, hint)], hint)


@lowers(ops.BinaryCrossentropy)
def binary_crossentropy(graph, node, args, kwargs):
    hint = node.layer.name
    target, output, dtype = _pair(graph, node, args)
    if node.layer.arguments["from_logits"]:
        soft = graph.node("Log", [graph.node("Add", [scalar(graph, 1, dtype, hint), graph.node(
            "Exp", [graph.node("Neg", [graph.node("Abs", [output], hint)], hint)], hint)], hint)],
            hint)
        linear = graph.node("Sub", [graph.node("Relu", [output], hint),
                                    graph.node("Mul", [output, target], hint)], hint)
        return graph.node("Add", [linear, soft], hint)
    output = _clip(graph, output, dtype, hint)
    floor = scalar(graph, -100, dtype, hint)
    one = scalar(graph, 1, dtype, hint)
    log_p = graph.node("Max", [graph.node("Log", [output], hint), floor], hint)
    log_q = graph.node("Max", [graph.node("Log", [graph.node("Sub", [one, output], hint)], hint),
                               floor], hint)
    total = graph.node("Add", [graph.node("Mul", [target, log_p], hint), graph.node(
        "Mul", [graph.node("Sub", [one, target], hint), log_q], hint)], hint)
    return graph.node("Neg", [total], hint)


def _log_probabilities(graph, node, output, axis, dtype, hint):
    if node.layer.arguments["from_logits"]:
        return graph.node("LogSoftmax", [output], hint, axis=axis)
    total = reduce(graph, "ReduceSum", output, [axis], True, hint)
    return graph.node("Log", [_clip(graph, graph.node("Div", [output, total], hint), dtype,
                                    hint)], hint)


@lowers(ops.CategoricalCrossentropy)
def categorical_crossentropy(graph, node, args, kwargs):
    hint = node.layer.name
    target, output, dtype = _pair(graph, node, args)
    axis = node.layer.arguments["axis"] % len(node.call_args[1].shape)
    log_p = _log_probabilities(graph, node, output, axis, dtype, hint)
    return graph.node("Neg", [reduce(graph, "ReduceSum", graph.node("Mul", [target, log_p], hint),
                                     [axis], False, hint)], hint)


@lowers(ops.SparseCategoricalCrossentropy)
def sparse_categorical_crossentropy(graph, node, args, kwargs):
    hint = node.layer.name
    target, output, dtype = _pair(graph, node, args, np.int64)
    rank = len(node.call_args[1].shape)
    axis = node.layer.arguments["axis"] % rank
    log_p = _log_probabilities(graph, node, output, axis, dtype, hint)
    if len(getattr(node.call_args[0], "shape", ())) != rank:
        target = graph.node("Unsqueeze", [target, graph.ints([axis], f"{hint}/axis")], hint)
    picked = graph.node("GatherElements", [log_p, target], hint, axis=axis)
    return graph.node("Neg", [graph.node("Squeeze", [picked, graph.ints([axis], f"{hint}/a")],
                                         hint)], hint)


@lowers(ops.PSNR)
def psnr(graph, node, args, kwargs):
    hint = node.layer.name
    dtype = output_dtype(node)
    a, b = (operand(graph, node, index, args[index], dtype) for index in (0, 1))
    gap = graph.node("Sub", [a, b], hint)
    error = reduce(graph, "ReduceMean", graph.node("Mul", [gap, gap], hint), None, False, hint)
    log10 = graph.node("Div", [graph.node("Log", [error], hint),
                               scalar(graph, math.log(10), dtype, hint)], hint)
    peak = 20 * math.log10(node.layer.arguments["max_val"])
    return graph.node("Sub", [scalar(graph, peak, dtype, hint),
                              graph.node("Mul", [scalar(graph, 10, dtype, hint), log10], hint)],
                      hint)
