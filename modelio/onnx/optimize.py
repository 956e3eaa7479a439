"""Graph clean-up after lowering: the layout Transposes that channels-last spatial layers put
around each NCHW op are pushed down through elementwise ops and cancelled in inverse pairs.

Pure functions on node and initializer lists; names of graph inputs and outputs are never
changed (a rewritten op keeps its output name, which moves to the Transpose after it)."""

import numpy as np
from onnx import helper, numpy_helper

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


def _perm(node):
    """The explicit perm of a Transpose (a missing one, the reversal, gives None: left alone)."""
    for attribute in node.attribute:
        if attribute.name == "perm":
            return list(attribute.ints)
    return None


class _Names:
    def __init__(self, nodes, initializers):
        self.used = {name for node in nodes for name in (*node.input, *node.output)}
        self.used.update(tensor.name for tensor in initializers)

    def fresh(self, hint):
        name, index = hint, 1
        while name in self.used:
            name, index = f"{hint}_{index}", index + 1
        self.used.add(name)
        return name


def cancel_transposes(nodes, initializers=(), outputs=()):
    """`(nodes, initializers)` with layout Transposes moved down and inverse pairs removed.

    (a) Transpose(Transpose(x, p), inverse(p)) -> x (the first Transpose stays only while
    something else uses it; a graph output becomes Identity(x) to keep its name);
    (b) a Transpose feeding only an elementwise unary op moves after it;
    (c) an elementwise op whose data inputs are all Transposes with one perm (and constants,
    permuted offline) runs on the untransposed inputs with one Transpose after;
    (d) a keepdims reduction of a Transpose reduces the remapped axes, Transpose after.
    Repeated to a fixpoint. `outputs` are the graph output names: never removed or renamed.
    Initializers the rewrites leave unused are dropped (ones unused from the start are kept)."""
    nodes = list(nodes)
    constants = {tensor.name: tensor for tensor in initializers}
    protected = set(outputs)
    names = _Names(nodes, initializers)
    used_before = {name for node in nodes for name in node.input}
    while True:
        nodes, changed = _one_pass(nodes, constants, protected, names)
        if not changed:
            break
    used = {name for node in nodes for name in node.input}
    original = {tensor.name for tensor in initializers}
    kept = [tensor for name, tensor in constants.items()
            if name in used or (name in original and name not in used_before)]
    return nodes, kept


def _one_pass(nodes, constants, protected, names):
    producer = {output: node for node in nodes for output in node.output}
    consumers: dict[str, int] = {}
    for node in nodes:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    for name in protected:
        consumers[name] = consumers.get(name, 0) + 1

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
                    and _perm(node) is not None and _perm(source) is not None
                    and _perm(node) == _inverse(_perm(source))):
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
        perm = _perm(sources[0])
        if perm is None or any(_perm(s) != perm for s in sources) or any(
                consumers.get(name, 0) != data.count(name) for name in set(data)):
            continue
        rank = len(perm)
        if node.op_type in ELEMENTWISE and any(
                len(constants[name].dims) > rank for name in node.input if name in constants):
            continue
        new_inputs = []
        for name in node.input:
            if name in data:
                new_inputs.append(producer[name].input[0])
            elif node.op_type in ELEMENTWISE and name in constants:
                new_inputs.append(_permuted_constant(constants, name, _inverse(perm), rank, names))
            else:
                new_inputs.append(name)
        inner = names.fresh(f"{node.output[0]}/untransposed")
        moved = helper.make_node(node.op_type, new_inputs, [inner], name=node.name)
        moved.attribute.extend(node.attribute)
        after = helper.make_node("Transpose", [inner], [node.output[0]], perm=perm,
                                 name=names.fresh(f"{node.name}/transpose_after"))
        replace[id(node)] = [moved, after]
        touched.add(id(node))
        for s in sources:
            removed.add(id(s))
            touched.add(id(s))
    if not replace and not removed:
        return nodes, False

    def resolved(name):
        while name in rename:
            name = rename[name]
        return name

    result = []
    for node in nodes:
        if id(node) in removed:
            continue
        for new in replace.get(id(node), [node]):
            if any(name in rename for name in new.input):
                new.input[:] = [resolved(name) for name in new.input]
            result.append(new)
    return result, True


def _permuted_constant(constants, name, inverse_perm, rank, names):
    array = numpy_helper.to_array(constants[name])
    if array.ndim == 0:
        return name
    full = array.reshape((1,) * (rank - array.ndim) + array.shape)
    permuted = np.ascontiguousarray(np.transpose(full, inverse_perm))
    new_name = names.fresh(f"{name}/layout")
    constants[new_name] = numpy_helper.from_array(permuted, new_name)
    return new_name


def _attribute(node, name, default=None):
    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def _rewrite_reduce(node, producer, constants, sole_use, touched, replace, removed, names):
    """Reduce(Transpose(x, p), axes, keepdims=1) -> Transpose(Reduce(x, p[axes]), p)."""
    source = producer.get(node.input[0])
    if (source is None or source.op_type != "Transpose" or id(source) in touched
            or not sole_use(node.input[0]) or _attribute(node, "keepdims", 1) != 1
            or _attribute(node, "noop_with_empty_axes", 0) != 0):
        return False
    perm = _perm(source)
    if perm is None:
        return False
    rank = len(perm)
    attribute_axes = _attribute(node, "axes")
    if len(node.input) > 1 and node.input[1]:
        if node.input[1] not in constants:
            return False
        axes = [int(a) for a in numpy_helper.to_array(constants[node.input[1]]).reshape(-1)]
    elif attribute_axes is not None:
        axes = list(attribute_axes)
    else:
        axes = list(range(rank))  # no axes: all of them, whatever the layout
    new_axes = sorted(perm[a % rank] for a in axes)
    inputs = [source.input[0]]
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if len(node.input) > 1 and node.input[1]:
        axes_name = names.fresh(f"{node.input[1]}/layout")
        constants[axes_name] = numpy_helper.from_array(np.asarray(new_axes, np.int64), axes_name)
        inputs.append(axes_name)
    elif attribute_axes is not None:
        attributes["axes"] = new_axes
    inner = names.fresh(f"{node.output[0]}/untransposed")
    moved = helper.make_node(node.op_type, inputs, [inner], name=node.name, **attributes)
    after = helper.make_node("Transpose", [inner], [node.output[0]], perm=perm,
                             name=names.fresh(f"{node.name}/transpose_after"))
    replace[id(node)] = [moved, after]
    removed.add(id(source))
    touched.update((id(node), id(source)))
    return True
