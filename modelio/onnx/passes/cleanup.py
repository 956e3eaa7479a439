"""Clean-up passes: Identity nodes that do nothing, and a zero Pad before a MaxPool guarded
against onnxruntime's wrong Pad + MaxPool fusion."""

import numpy as np
import onnx
from onnx import helper

from .graph_facts import follow_renames, text_attribute, value_readers


def drop_identities(nodes, inputs=(), outputs=()):
    """Remove Identity nodes that do nothing: an inner Identity's readers read its input instead;
    a graph output's Identity is removed by renaming the value it copies to the output name
    (kept where that value is a graph input, an initializer or another output)."""
    protected = set(outputs)
    graph_inputs = set(inputs)
    produced = {output for node in nodes for output in node.output}
    rename: dict[str, str] = {}
    dropped: set[int] = set()
    for node in nodes:
        if node.op_type != "Identity" or node.output[0] in protected:
            continue
        rename[node.output[0]] = node.input[0]
        dropped.add(id(node))

    for node in nodes:
        if any(name in rename for name in node.input):
            node.input[:] = [follow_renames(rename, name) for name in node.input]
    # outputs: rename the copied value to the output's name when that is safe
    renamed: dict[str, str] = {}
    for node in nodes:
        if node.op_type != "Identity" or node.output[0] not in protected:
            continue
        source = node.input[0]
        if (source in graph_inputs or source in protected or source not in produced
                or source in renamed):
            continue  # a later output copying the same value keeps its Identity
        renamed[source] = node.output[0]
        dropped.add(id(node))
    result = []
    for node in nodes:
        if id(node) in dropped:
            continue
        if any(name in renamed for name in node.output):
            node.output[:] = [renamed.get(name, name) for name in node.output]
        if any(name in renamed for name in node.input):
            node.input[:] = [renamed.get(name, name) for name in node.input]
        result.append(node)
    return result


def guard_zero_pads_before_max_pool(nodes, constants: dict, shapes: dict):
    """Give a zero Pad that feeds a MaxPool the pad value -0.0 (equal to 0 in every comparison).
    onnxruntime (1.31 and earlier, at every optimization level above 'disabled') fuses
    Pad(value 0) + MaxPool into one MaxPool with `pads`, whose padding acts as -inf: windows of
    negative values at the border then give their maximum instead of 0. A pad value of -0.0 is
    not fused (onnx/optimizer#318 and onnxsim#290 describe the same wrong fusion)."""
    readers = value_readers(nodes)
    negative_zero = None
    for node in nodes:
        if (node.op_type != "Pad" or text_attribute(node, "mode", "constant") != "constant"
                or not any(reader.op_type == "MaxPool" for reader in readers.get(node.output[0], []))):
            continue
        if len(node.input) >= 3 and node.input[2]:
            value = constants.get(node.input[2])
            if value is None or value.dtype.kind != "f" or np.any(value != 0):
                continue
            dtype = value.dtype
        else:
            element_type = shapes.get(("type", node.input[0]))
            if element_type not in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE,
                                    onnx.TensorProto.FLOAT16):
                continue
            dtype = helper.tensor_dtype_to_np_dtype(element_type)
        if negative_zero is None or constants[negative_zero].dtype != dtype:
            negative_zero = f"{node.name}/negative_zero"
            constants[negative_zero] = np.array(-0.0, dtype)
        if len(node.input) >= 3:
            node.input[2] = negative_zero
        else:
            node.input.append(negative_zero)
    return nodes
