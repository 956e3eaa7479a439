"""Layout Transposes after lowering: channels-last spatial layers put a Transpose to NCHW
before each ONNX op and one back after it; these passes push them down through elementwise ops
and reductions, cancel inverse pairs, and drop the ones a reshape makes pointless.

Pure functions on node and initializer lists; names of graph inputs and outputs are never
changed (a rewritten op keeps its output name, which moves to the Transpose after it)."""

import numpy as np
import onnx
from onnx import helper

from .graph_facts import (
    WorkingConstants,
    attribute_value,
    follow_renames,
    producers_and_uses,
    transpose_perm,
    unique_names,
    value_readers,
)

# Single-data-input ops that act on each element (extra inputs, like Clip's bounds, are scalars).
UNARY = {"Relu", "Clip", "Sigmoid", "Tanh", "LeakyRelu", "Elu", "Identity", "HardSigmoid",
         "HardSwish", "Neg", "Abs", "Exp", "Softplus", "Selu", "Sqrt", "Reciprocal", "Erf",
         "Cast", "Floor", "Ceil", "Round", "Sign"}
# Broadcasting elementwise ops: every non-constant input must be a Transpose of the same perm;
# constant initializers are permuted to match.
ELEMENTWISE = {"Add", "Sum", "Mul", "Max", "Min", "Sub", "Div", "Mean", "Pow", "PRelu"}
# Reductions over listed axes with keepdims=1: a Transpose before moves after, axes remapped.
REDUCE = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceProd", "ReduceL2",
          "ReduceSumSquare"}


def _inverse(perm):
    return [int(i) for i in np.argsort(perm)]


def _undoes(transpose, earlier) -> bool:
    """Whether `transpose` undoes the Transpose `earlier` (both with explicit perms)."""
    perm, earlier_perm = transpose_perm(transpose), transpose_perm(earlier)
    return perm is not None and earlier_perm is not None and perm == _inverse(earlier_perm)


def cancel_transposes(nodes, initializers=(), outputs=()):
    """`(nodes, constants)` with layout Transposes moved down and inverse pairs removed.

    (a) Transpose(Transpose(x, p), inverse(p)) -> x (the first Transpose stays only while
    something else uses it; a graph output becomes Identity(x) to keep its name);
    (b) a Transpose feeding only an elementwise unary op moves after it;
    (c) an elementwise op whose data inputs are all Transposes with one perm (and constants,
    permuted offline) runs on the untransposed inputs with one Transpose after;
    (d) a keepdims reduction of a Transpose reduces the remapped axes, Transpose after.
    Repeated to a fixpoint. `outputs` are the graph output names: never removed or renamed.
    Constants the rewrites leave unused are dropped (ones unused from the start are kept).
    `initializers` is a name -> array dict (returned as one) or a list of TensorProtos."""
    nodes = list(nodes)
    constants = WorkingConstants(nodes, initializers)
    protected = set(outputs)
    names = unique_names(nodes, constants.arrays)
    while True:
        nodes, changed = _one_pass(nodes, constants.arrays, protected, names)
        if not changed:
            break
    return nodes, constants.kept(nodes)


def _one_pass(nodes, constants, protected, names):
    producer, consumers = producers_and_uses(nodes, protected)

    def sole_use(name):
        return consumers.get(name, 0) == 1

    dead = [node for node in nodes if node.op_type == "Transpose" and not consumers.get(node.output[0])]
    if dead:
        dead_ids = {id(node) for node in dead}
        return [node for node in nodes if id(node) not in dead_ids], True

    replace: dict[int, list] = {}   # node id -> nodes taking its place
    removed: set[int] = set()
    rename: dict[str, str] = {}
    touched: set[int] = set()
    for node in nodes:
        if id(node) in touched or id(node) in removed:
            continue
        if node.op_type == "Transpose":
            source = producer.get(node.input[0])
            if (source is not None and source.op_type == "Transpose" and id(source) not in touched
                    and _undoes(node, source)):
                # the source stays for its other consumers; dropped below once it has none
                if node.output[0] in protected:  # a graph output keeps its name
                    replace[id(node)] = [helper.make_node("Identity", [source.input[0]],
                                                          [node.output[0]], name=node.name)]
                else:
                    rename[node.output[0]] = source.input[0]
                    removed.add(id(node))
                touched.update((id(node), id(source)))
            continue
        if node.op_type in REDUCE and _rewrite_reduce(node, producer, constants, sole_use, touched,
                                                      replace, removed, names):
            continue
        if node.op_type in UNARY:
            data = [node.input[0]]
        elif node.op_type in ELEMENTWISE:
            data = [name for name in node.input if name not in constants]
        else:
            continue
        sources = [producer.get(name) for name in data]
        if not sources or any(s is None or s.op_type != "Transpose" or id(s) in touched
                              for s in sources):
            continue
        perm = transpose_perm(sources[0])
        if perm is None or any(transpose_perm(s) != perm for s in sources) or any(
                consumers.get(name, 0) != data.count(name) for name in set(data)):
            continue
        rank = len(perm)
        if node.op_type in ELEMENTWISE and any(
                constants[name].ndim > rank for name in node.input if name in constants):
            continue
        new_inputs = []
        for name in node.input:
            if name in data:
                new_inputs.append(producer[name].input[0])
            elif node.op_type in ELEMENTWISE and name in constants:
                new_inputs.append(_permuted_constant(constants, name, _inverse(perm), rank, names))
            else:
                new_inputs.append(name)
        moved = helper.make_node(node.op_type, new_inputs, [], name=node.name)
        moved.attribute.extend(node.attribute)
        _replace_by_op_then_transpose(node, moved, perm, names, replace, producer)
        touched.add(id(node))
        for s in sources:
            removed.add(id(s))
            touched.add(id(s))
    if not replace and not removed:
        return nodes, False

    result = []
    for node in nodes:
        if id(node) in removed:
            continue
        for new in replace.get(id(node), [node]):
            if id(new) in removed:  # a Transpose made this pass and already moved on
                continue
            if any(name in rename for name in new.input):
                renamed = onnx.NodeProto()  # the caller's nodes are never changed
                renamed.CopyFrom(new)
                renamed.input[:] = [follow_renames(rename, name) for name in new.input]
                new = renamed
            result.append(new)
    return result, True


def _replace_by_op_then_transpose(node, moved, perm, names, replace, producer) -> None:
    """Put `moved` (`node`'s op on the untransposed inputs, with no output yet) and a Transpose
    by `perm` from its result to `node`'s output in `node`'s place. Later nodes of the pass see
    that Transpose as their input's producer, so a chain of elementwise ops is crossed in one
    pass, not one pass per op."""
    inner = names.fresh(f"{node.output[0]}/untransposed")
    moved.output.append(inner)
    after = helper.make_node("Transpose", [inner], [node.output[0]], perm=perm,
                             name=names.fresh(f"{node.name}/transpose_after"))
    replace[id(node)] = [moved, after]
    producer[node.output[0]] = after


def _permuted_constant(constants, name, inverse_perm, rank, names):
    array = constants[name]
    if array.ndim == 0:
        return name
    full = array.reshape((1,) * (rank - array.ndim) + array.shape)
    permuted = np.ascontiguousarray(np.transpose(full, inverse_perm))
    new_name = names.fresh(f"{name}/layout")
    constants[new_name] = permuted
    return new_name


def _rewrite_reduce(node, producer, constants, sole_use, touched, replace, removed, names):
    """Reduce(Transpose(x, p), axes, keepdims=1) -> Transpose(Reduce(x, p[axes]), p);
    with keepdims=0, when the kept axes stay in order, just Reduce(x, p[axes])."""
    source = producer.get(node.input[0])
    if (source is None or source.op_type != "Transpose" or id(source) in touched
            or not sole_use(node.input[0])
            or attribute_value(node, "noop_with_empty_axes", 0) != 0):
        return False
    perm = transpose_perm(source)
    if perm is None:
        return False
    rank = len(perm)
    attribute_axes = attribute_value(node, "axes")
    if len(node.input) > 1 and node.input[1]:
        if node.input[1] not in constants:
            return False
        axes = [int(a) for a in constants[node.input[1]].reshape(-1)]
    elif attribute_axes is not None:
        axes = list(attribute_axes)
    else:
        axes = list(range(rank))  # no axes: all of them, whatever the layout
    axes = [a % rank for a in axes]
    keepdims = attribute_value(node, "keepdims", 1)
    kept_order = [perm[i] for i in range(rank) if i not in axes]
    if keepdims != 1 and kept_order != sorted(kept_order):
        return False
    new_axes = sorted(perm[a] for a in axes)
    inputs = [source.input[0]]
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if len(node.input) > 1 and node.input[1]:
        axes_name = names.fresh(f"{node.input[1]}/layout")
        constants[axes_name] = np.asarray(new_axes, np.int64)
        inputs.append(axes_name)
    elif attribute_axes is not None:
        attributes["axes"] = new_axes
    if keepdims != 1:
        replace[id(node)] = [helper.make_node(node.op_type, inputs, list(node.output),
                                              name=node.name, **attributes)]
    else:
        moved = helper.make_node(node.op_type, inputs, [], name=node.name, **attributes)
        _replace_by_op_then_transpose(node, moved, perm, names, replace, producer)
    removed.add(id(source))
    touched.update((id(node), id(source)))
    return True


def drop_transposes_before_reshape(nodes, shapes: dict):
    """Remove a Transpose whose only reader is a Reshape (constant target) or a
    Flatten when it moves only axes of size 1: the elements keep their order, so the reshape
    gives the same result. `shapes` maps value names to their static dims (None = unknown)."""
    readers = value_readers(nodes)
    dropped = set()
    for node in nodes:
        perm = transpose_perm(node) if node.op_type == "Transpose" else None
        shape = shapes.get(node.input[0]) if perm is not None else None
        if shape is None or len(readers.get(node.output[0], [])) != 1:
            continue
        reader = readers[node.output[0]][0]
        if reader.input[0] != node.output[0] or reader.op_type not in ("Reshape", "Flatten"):
            continue
        if reader.op_type == "Reshape":
            target = shapes.get(("constant", reader.input[1]))
            # a 0 copies the input's dim at that index: only where the Transpose keeps it
            if target is None or any(size == 0 and (index >= len(perm) or perm[index] != index)
                                     for index, size in enumerate(target)):
                continue
        elif perm[0] != 0 or attribute_value(reader, "axis", 1) != 1:
            continue
        moved = [axis for axis in perm if shape[axis] != 1]
        if moved != sorted(moved):
            continue
        reader.input[0] = node.input[0]
        dropped.add(id(node))
    return [node for node in nodes if id(node) not in dropped]
