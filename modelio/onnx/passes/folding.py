"""Constant arithmetic folded into the op before it: per-channel Mul/Add into a Conv's or
MatMul's weights and bias (inference BatchNormalization), a zero Pad into a Conv's `pads`,
MatMul + Add into one Gemm."""

import numpy as np
from onnx import helper

from .graph_facts import (
    WorkingConstants,
    attribute_value,
    producers_and_uses,
    text_attribute,
    unique_names,
    value_readers,
)


def fold_affine(nodes, initializers=(), outputs=()):
    """`(nodes, constants)` with constant per-channel Mul/Add folded into the Conv or MatMul
    before them: inference BatchNormalization (Mul by scale, Add shift) disappears into the
    convolution's weights and bias, as tf2onnx does.

    Rules, each only where the intermediate value has no other consumer and is not an output:
    Mul(Conv(x, W, B), s) -> Conv(x, W*s, B*s); Add(Conv(x, W, B), t) -> Conv(x, W, B+t);
    Mul(MatMul(x, W), s) -> MatMul(x, W*s); Mul(Add(MatMul(x, W), b), s) -> Add(MatMul(x, W*s), b*s);
    Add(Add(y, b), t) -> Add(y, b+t). `s`/`t` must vary only along the output channels (axis 1 of
    a Conv, the last axis of a MatMul). A weight that other nodes also use is copied, not changed.
    `initializers` is a name -> array dict (returned as one) or a list of TensorProtos."""
    working = WorkingConstants(nodes, initializers)
    constants = working.arrays
    names = unique_names(nodes, constants)
    producer, uses = producers_and_uses(nodes, outputs)

    def private(name):
        return uses.get(name, 0) == 1

    def replace_constant(node, index, array):
        """Give `node`'s input `index` the value `array` (in place when nobody else reads it)."""
        old = node.input[index]
        new = old if private(old) else names.fresh(f"{old}/folded")
        if new != old:
            uses[old] -= 1
            uses[new] = 1
        constants[new] = array.astype(np.float32, copy=False)
        node.input[index] = new

    dropped: set[int] = set()
    for node in nodes:
        if node.op_type not in ("Mul", "Add") or len(node.input) != 2:
            continue
        split = _data_and_constant(node, constants)
        if split is None:
            continue
        data, constant_name = split
        source = producer.get(data)
        if source is None or id(source) in dropped or not private(data):
            continue
        value = constants[constant_name].astype(np.float64)
        if not _fold_into(source, node.op_type, value, constants, producer, private,
                          replace_constant, names, uses):
            continue
        # the source now computes this node's result: it takes over the output name
        source.output[0] = node.output[0]
        producer[node.output[0]] = source
        dropped.add(id(node))
        uses[constant_name] -= 1
    kept_nodes = [node for node in nodes if id(node) not in dropped]
    return kept_nodes, working.kept(kept_nodes)


def _data_and_constant(node, constants):
    """(the data input, the constant input) of a two-input node with exactly one constant input,
    or None."""
    first, second = node.input
    if second in constants and first not in constants:
        return first, second
    if first in constants and second not in constants:
        return second, first
    return None


def _channel_vector(value, rank, axis, channels):
    """`value` as a length-`channels` vector if, broadcast against a rank-`rank` tensor, it varies
    only along `axis` (and does not add dimensions); otherwise None."""
    if value.ndim > rank or value.dtype.kind != "f":
        return None
    full = value.reshape((1,) * (rank - value.ndim) + value.shape)
    if any(size != 1 for index, size in enumerate(full.shape) if index != axis % rank):
        return None
    vector = full.reshape(-1)
    if vector.size not in (1, channels):
        return None
    return np.broadcast_to(vector, (channels,))


def _fold_into(source, op_type, value, constants, producer, private, replace_constant, names,
               uses) -> bool:
    if source.op_type == "Conv" and len(source.input) >= 2 and source.input[1] in constants:
        weight = constants[source.input[1]]
        vector = _channel_vector(value, weight.ndim, 1, weight.shape[0])
        if vector is None or weight.dtype != np.float32:
            return False
        has_bias = len(source.input) > 2 and bool(source.input[2])
        if has_bias and source.input[2] not in constants:
            return False
        bias = (constants[source.input[2]].astype(np.float64) if has_bias
                else np.zeros(weight.shape[0]))
        if op_type == "Mul":
            per_output_channel = vector.reshape((-1,) + (1,) * (weight.ndim - 1))
            replace_constant(source, 1, _scaled(weight, per_output_channel))
            bias = bias * vector
        else:
            bias = bias + vector
        if has_bias:
            replace_constant(source, 2, bias)
        else:
            bias_name = names.fresh(f"{source.name}/bias")
            constants[bias_name] = bias.astype(np.float32)
            uses[bias_name] = 1
            if len(source.input) == 2:
                source.input.append(bias_name)
            else:
                source.input[2] = bias_name
        return True
    if (op_type == "Mul" and source.op_type == "MatMul" and source.input[1] in constants
            and source.input[0] not in constants):
        weight = constants[source.input[1]]
        if weight.ndim != 2 or weight.dtype != np.float32:
            return False
        vector = _channel_vector(value, 2, -1, weight.shape[1])
        if vector is None:
            return False
        replace_constant(source, 1, _scaled(weight, vector))
        return True
    if source.op_type == "Add" and len(source.input) == 2:
        split = _data_and_constant(source, constants)
        if split is None:
            return False
        inner, bias_name = split
        bias = constants[bias_name].astype(np.float64)
        if op_type == "Add":
            if np.broadcast_shapes(bias.shape, value.shape) != bias.shape:
                return False
            replace_constant(source, list(source.input).index(bias_name), bias + value)
            return True
        matmul = producer.get(inner)
        if (matmul is None or matmul.op_type != "MatMul" or not private(inner)
                or matmul.input[1] not in constants):
            return False
        weight = constants[matmul.input[1]]
        if weight.ndim != 2 or bias.ndim > 2 or weight.dtype != np.float32:
            return False
        vector = _channel_vector(value, 2, -1, weight.shape[1])
        if vector is None or np.broadcast_shapes(bias.shape, (weight.shape[1],)) != bias.shape:
            return False
        replace_constant(matmul, 1, _scaled(weight, vector))
        replace_constant(source, list(source.input).index(bias_name), bias * vector)
        return True
    return False


def _scaled(weight, factors):
    """`weight` times `factors` (broadcast), in the weight's dtype, as a new C-ordered array."""
    return np.multiply(weight, factors.astype(weight.dtype), order="C")


def fold_pads_into_convolutions(nodes, constants: dict, outputs=()):
    """A zero-padding Pad whose only reader is a Conv becomes that Conv's `pads` (the
    ZeroPadding2D before a stem convolution, as Keras's ResNet has). Batch and channel axes must
    be unpadded, the mode constant with value 0."""
    protected = set(outputs)
    readers = value_readers(nodes)
    dropped = set()
    for node in nodes:
        if (node.op_type != "Pad" or len(node.input) < 2 or len(node.input) > 3
                or node.input[1] not in constants or node.output[0] in protected
                or text_attribute(node, "mode", "constant") != "constant"):
            continue
        if len(node.input) == 3 and node.input[2]:
            value = constants.get(node.input[2])
            if value is None or np.any(value != 0):
                continue
        users = readers.get(node.output[0], [])
        if len(users) != 1 or users[0].op_type != "Conv" or users[0].input[0] != node.output[0]:
            continue
        conv = users[0]
        pads = [int(p) for p in constants[node.input[1]].reshape(-1)]
        rank = len(pads) // 2
        before, after = pads[:rank], pads[rank:]
        if rank < 3 or any(before[:2]) or any(after[:2]) or min(pads) < 0:
            continue
        if text_attribute(conv, "auto_pad", "NOTSET") != "NOTSET":
            continue
        conv_pads = list(attribute_value(conv, "pads", [0] * (2 * (rank - 2))))
        spatial = rank - 2
        merged = ([conv_pads[i] + before[2 + i] for i in range(spatial)]
                  + [conv_pads[spatial + i] + after[2 + i] for i in range(spatial)])
        for attribute in conv.attribute:
            if attribute.name == "pads":
                attribute.ints[:] = merged
                break
        else:
            conv.attribute.append(helper.make_attribute("pads", merged))
        conv.input[0] = node.input[0]
        dropped.add(id(node))
    return [node for node in nodes if id(node) not in dropped]


def matmul_add_to_gemm(nodes, constants: dict, shapes: dict, outputs=()):
    """MatMul(x, W) + b with a 2-D x, constant 2-D W and a bias along the columns becomes one
    Gemm (what a Dense on a flat feature vector is)."""
    protected = set(outputs)
    readers = value_readers(nodes)
    replaced: dict[int, object] = {}
    dropped = set()
    for node in nodes:
        if node.op_type != "MatMul" or node.input[1] not in constants:
            continue
        weight = constants[node.input[1]]
        shape = shapes.get(node.input[0])
        users = readers.get(node.output[0], [])
        if (weight.ndim != 2 or shape is None or len(shape) != 2 or len(users) != 1
                or users[0].op_type != "Add" or node.output[0] in protected):
            continue
        add = users[0]
        split = _data_and_constant(add, constants)
        if split is None or split[0] != node.output[0]:
            continue
        bias = constants[split[1]]
        if bias.ndim > 2 or bias.size != weight.shape[1] or (bias.ndim == 2 and bias.shape[0] != 1):
            continue
        gemm = helper.make_node("Gemm", [node.input[0], node.input[1], split[1]], [add.output[0]],
                                name=node.name)
        replaced[id(node)] = gemm
        dropped.add(id(add))
    return [replaced.get(id(node), node) for node in nodes if id(node) not in dropped]
