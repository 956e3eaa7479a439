"""ONNX lowerings of keras.ops.nn's CTCLoss (the forward algorithm as a Scan over time) and
greedy CTCDecode (modelio/ops/nn_ctc.py)."""

import numpy as np
from onnx import TensorProto, helper

from .. import ops
from ..kernels import ctc as ctc_kernels
from ..ops.nn_ctc import blank_index
from .export_support import reduce
from .op_support import known_size, operand, output_dtype, refuse, scalar
from .registry import lowers


def _shape(node, index: int) -> tuple:
    value = node.call_args[index]
    return tuple(getattr(value, "shape", np.shape(value)))


def _logits(graph, node, args, index: int) -> str:
    dtype = output_dtype(node, 1 if isinstance(node.layer, ops.CTCDecode) else 0)
    if dtype != np.float32:
        refuse(node, f"{dtype} results (exported in float32)")
    return operand(graph, node, index, args[index], np.float32)


def _minus_infinity(graph, hint: str) -> str:
    return scalar(graph, -np.inf, np.float32, hint)


def _shift(graph, x: str, by: int, positions: int, fill: str, hint: str) -> str:
    """`x` (batch, positions) moved `by` positions right along axis 1, `fill` coming in."""
    padded = graph.node("Pad", [x, graph.ints([0, by, 0, 0], f"{hint}/pads"), fill], hint)
    return graph.node("Slice", [padded, graph.ints([0], f"{hint}/start"),
                                graph.ints([positions], f"{hint}/end"),
                                graph.ints([1], f"{hint}/axis")], hint)


def _logaddexp(graph, terms: list, hint: str) -> str:
    """log(sum(exp(terms))) of float32 names, -inf when every term is -inf."""
    top = graph.node("Max", terms, hint)
    finite = graph.node("Where", [graph.node("IsInf", [top], hint, detect_positive=0),
                                  scalar(graph, 0.0, np.float32, hint), top], hint)
    total = graph.node("Sum", [graph.node("Exp", [graph.node("Sub", [term, finite], hint)], hint)
                               for term in terms], hint)
    return graph.node("Add", [graph.node("Log", [total], hint), finite], hint)


def _interleave(graph, fill: str, values: str, hint: str) -> str:
    """(batch, 2 S + 1): fill, values[:, 0], fill, values[:, 1], ..., fill (fill has the
    shape of values)."""
    pairs = graph.node("Concat", [graph.node("Unsqueeze", [item, graph.ints([2], f"{hint}/a")],
                                             hint) for item in (fill, values)], hint, axis=2)
    flat = graph.node("Reshape", [pairs, graph.ints([0, -1], f"{hint}/flat")], hint)
    first = graph.node("Slice", [fill, graph.ints([0], f"{hint}/s"), graph.ints([1], f"{hint}/e"),
                                 graph.ints([1], f"{hint}/ax")], hint)
    return graph.node("Concat", [flat, first], hint, axis=1)


@lowers(ops.CTCLoss)
def ctc_loss(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    logits = _logits(graph, node, args, 1)
    classes = known_size(node, _shape(node, 1)[2], "CTC loss")
    label_count = known_size(node, _shape(node, 0)[1], "CTC loss")
    blank = blank_index(layer, layer.arguments["mask_index"], classes)
    positions = 2 * label_count + 1
    labels = operand(graph, node, 0, args[0], np.int64)
    label_lengths = operand(graph, node, 2, args[2], np.int64)
    frame_lengths = operand(graph, node, 3, args[3], np.int64)
    log_probs = graph.node("LogSoftmax", [logits], hint, axis=2)
    blanks = graph.node("Add", [graph.node("Mul", [labels, graph.ints(0, f"{hint}/zero")], hint),
                                graph.ints(blank, f"{hint}/blank")], hint)
    extended = _interleave(graph, blanks, labels, hint)  # (batch, positions)
    # The step from two positions back is allowed onto a label that differs from the previous.
    differs = graph.node("Cast", [graph.node("Not", [graph.node("Equal", [
        _shift(graph, labels, 1, label_count, graph.ints(-1, f"{hint}/none"), hint), labels],
        hint)], hint)], hint, to=TensorProto.INT64)
    differs = graph.node("Mul", [differs, graph.node("Cast", [graph.node(
        "Greater", [graph.ints(list(range(label_count)), f"{hint}/index"),
                    graph.ints(0, f"{hint}/zero")], hint)], hint, to=TensorProto.INT64)], hint)
    skip = graph.node("Cast", [_interleave(graph, graph.node("Mul", [
        differs, graph.ints(0, f"{hint}/zero")], hint), differs, hint)], hint,
        to=TensorProto.BOOL)
    batch_steps = graph.node("Slice", [graph.node("Shape", [log_probs], hint),
                                       graph.ints([0], f"{hint}/s"), graph.ints([2], f"{hint}/e")],
                             hint)
    gather_shape = graph.node("Concat", [batch_steps, graph.ints([positions], f"{hint}/p")],
                              hint, axis=0)
    indices = graph.node("Expand", [graph.node("Unsqueeze", [extended, graph.ints(
        [1], f"{hint}/a")], hint), gather_shape], hint)
    emitted = graph.node("Transpose", [graph.node("GatherElements", [log_probs, indices], hint,
                                                  axis=2)], hint, perm=[1, 0, 2])  # (T, B, P)
    minus_inf = _minus_infinity(graph, hint)
    first = graph.node("Gather", [emitted, graph.ints(0, f"{hint}/t0")], hint, axis=0)
    start = np.zeros(positions, bool)
    start[:2] = True
    alpha = graph.node("Where", [graph.constant(start, f"{hint}/start"), first, minus_inf], hint)
    has_frames = graph.node("Unsqueeze", [graph.node("Greater", [frame_lengths, graph.ints(
        0, f"{hint}/zero")], hint), graph.ints([1], f"{hint}/a")], hint)
    alpha = graph.node("Where", [has_frames, alpha, graph.constant(
        ctc_kernels.empty_alignment(positions).astype(np.float32), f"{hint}/empty")], hint)
    steps = graph.node("Squeeze", [graph.node("Slice", [batch_steps, graph.ints(
        [1], f"{hint}/s"), graph.ints([2], f"{hint}/e")], hint), graph.ints([0], f"{hint}/a")],
        hint)
    times = graph.node("Range", [graph.ints(0, f"{hint}/r0"), steps, graph.ints(1, f"{hint}/r1")],
                       hint)
    keep = graph.node("Unsqueeze", [graph.node("Less", [
        graph.node("Unsqueeze", [times, graph.ints([1], f"{hint}/a")], hint),
        graph.node("Unsqueeze", [frame_lengths, graph.ints([0], f"{hint}/a")], hint)], hint),
        graph.ints([2], f"{hint}/a")], hint)  # (T, B, 1)
    rest = [graph.node("Slice", [value, graph.ints([1], f"{hint}/s"),
                                 graph.ints([np.iinfo(np.int64).max], f"{hint}/e"),
                                 graph.ints([0], f"{hint}/ax")], hint)
            for value in (emitted, keep)]
    # One more frame, never kept, so that the Scan runs at least once (onnxruntime refuses a
    # Scan over an empty sequence, which one-frame inputs would give).
    frame = [graph.node("Slice", [value, graph.ints([0], f"{hint}/s"), graph.ints([1], f"{hint}/e"),
                                  graph.ints([0], f"{hint}/ax")], hint) for value in (emitted, keep)]
    frame[1] = graph.node("And", [frame[1], graph.constant(np.zeros((), bool), f"{hint}/never")],
                          hint)
    rest = [graph.node("Concat", [value, extra], hint, axis=0) for value, extra in zip(rest, frame)]
    body = _forward_step(graph, skip, minus_inf, positions, hint)
    alpha = graph.node("Scan", [alpha, *rest], hint, num_scan_inputs=2, body=body)
    last = graph.node("Unsqueeze", [graph.node("Mul", [label_lengths, graph.ints(
        2, f"{hint}/two")], hint), graph.ints([1], f"{hint}/a")], hint)
    final = graph.node("GatherElements", [alpha, last], hint, axis=1)
    before = graph.node("GatherElements", [alpha, graph.node("Max", [graph.node(
        "Sub", [last, graph.ints(1, f"{hint}/one")], hint), graph.ints(0, f"{hint}/zero")], hint)],
        hint, axis=1)
    before = graph.node("Where", [graph.node("Greater", [last, graph.ints(0, f"{hint}/zero")],
                                             hint), before, minus_inf], hint)
    total = _logaddexp(graph, [final, before], hint)
    return graph.node("Neg", [graph.node("Squeeze", [total, graph.ints([1], f"{hint}/a")], hint)],
                      hint)


def _forward_step(graph, skip, minus_inf, positions: int, hint: str):
    """The Scan body: (alpha, emitted_t, keep_t) -> alpha of the next frame (kept where the
    sample has ended). `skip` and `minus_inf` are outer-scope names."""
    outer_nodes, graph.nodes = graph.nodes, []
    try:
        step = f"{hint}/step"
        alpha, emitted, keep = (graph.fresh(f"{step}/{what}")
                                for what in ("alpha", "emitted", "keep"))
        previous = _shift(graph, alpha, 1, positions, minus_inf, step)
        before = graph.node("Where", [skip, _shift(graph, alpha, 2, positions, minus_inf, step),
                                      minus_inf], step)
        updated = graph.node("Add", [_logaddexp(graph, [alpha, previous, before], step), emitted],
                             step)
        alpha_out = graph.node("Where", [keep, updated, alpha], step)
        body_nodes = graph.nodes
    finally:
        graph.nodes = outer_nodes
    inputs = [helper.make_tensor_value_info(alpha, TensorProto.FLOAT, None),
              helper.make_tensor_value_info(emitted, TensorProto.FLOAT, None),
              helper.make_tensor_value_info(keep, TensorProto.BOOL, None)]
    outputs = [helper.make_tensor_value_info(alpha_out, TensorProto.FLOAT, None)]
    return helper.make_graph(body_nodes, f"{hint}_forward_step", inputs, outputs)


@lowers(ops.CTCDecode)
def ctc_decode(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    logits = _logits(graph, node, args, 0)
    _, steps, classes = _shape(node, 0)
    steps = known_size(node, steps, "CTC decoding")
    blank = blank_index(layer, layer.arguments["mask_index"], known_size(node, classes,
                                                                        "CTC decoding"))
    lengths = operand(graph, node, 1, args[1], np.int64)
    best = graph.node("ArgMax", [logits], hint, axis=2, keepdims=0)
    top = reduce(graph, "ReduceMax", logits, [2], False, hint)
    times = graph.ints(list(range(steps)), f"{hint}/times")
    inside = graph.node("Less", [graph.node("Unsqueeze", [times, graph.ints([0], f"{hint}/a")],
                                            hint),
                                 graph.node("Unsqueeze", [lengths, graph.ints([1], f"{hint}/a")],
                                            hint)], hint)
    best = graph.node("Where", [inside, best, graph.ints(blank, f"{hint}/blank")], hint)
    inside_top = graph.node("Where", [inside, top, scalar(graph, 0.0, np.float32, hint)], hint)
    scores = graph.node("Neg", [reduce(graph, "ReduceSum", inside_top, [1], True, hint)], hint)
    dropped = graph.node("Equal", [best, graph.ints(blank, f"{hint}/blank")], hint)
    if layer.arguments["merge_repeated"]:
        previous = _shift(graph, best, 1, steps, graph.ints(-1, f"{hint}/none"), hint)
        dropped = graph.node("Or", [dropped, graph.node("Equal", [best, previous], hint)], hint)
    # Kept frames first in time order: sort by t, or t + steps for dropped frames.
    keys = graph.node("Add", [times, graph.node("Mul", [graph.node(
        "Cast", [dropped], hint, to=TensorProto.INT64), graph.ints(steps, f"{hint}/steps")],
        hint)], hint)
    values, order = graph.node("TopK", [keys, graph.ints([steps], f"{hint}/k")], hint, outputs=2,
                               axis=1, largest=0, sorted=1)
    decoded = graph.node("Where", [
        graph.node("Less", [values, graph.ints(steps, f"{hint}/steps")], hint),
        graph.node("GatherElements", [best, order], hint, axis=1),
        graph.ints(-1, f"{hint}/none")], hint)
    decoded = graph.node("Cast", [graph.node("Unsqueeze", [decoded, graph.ints(
        [0], f"{hint}/a")], hint)], hint, to=TensorProto.INT32)
    return [decoded, scores]
