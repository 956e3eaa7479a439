"""Graph clean-up after lowering: the layout Transposes that channels-last spatial layers put
around each NCHW op are pushed down through elementwise ops and cancelled in inverse pairs.

Pure functions on node and initializer lists; names of graph inputs and outputs are never
changed (a rewritten op keeps its output name, which moves to the Transpose after it)."""

import numpy as np
import onnx
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
    def __init__(self, nodes, constant_names):
        self.used = {name for node in nodes for name in (*node.input, *node.output)}
        self.used.update(constant_names)

    def fresh(self, hint):
        name, index = hint, 1
        while name in self.used:
            name, index = f"{hint}_{index}", index + 1
        self.used.add(name)
        return name


def _as_arrays(initializers) -> tuple[dict, bool]:
    """Constants as a name -> numpy array dict (the passes' working form), and whether they came
    as TensorProtos (then they are returned as TensorProtos). A dict is worked on in place, so a
    rewritten weight never exists twice."""
    if isinstance(initializers, dict):
        return initializers, False
    return {tensor.name: numpy_helper.to_array(tensor) for tensor in initializers}, True


def _kept_constants(constants: dict, original: set, used_before: set, nodes, as_protos: bool):
    """The constants still read by `nodes` (plus originals nobody read from the start)."""
    used = {name for node in nodes for name in node.input}
    for name in [name for name in constants
                 if name not in used and not (name in original and name not in used_before)]:
        del constants[name]
    if as_protos:
        return [numpy_helper.from_array(array, name)
                for name, array in constants.items()]
    return constants


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
    constants, as_protos = _as_arrays(initializers)
    original = set(constants)
    protected = set(outputs)
    names = _Names(nodes, original)
    used_before = {name for node in nodes for name in node.input}
    while True:
        nodes, changed = _one_pass(nodes, constants, protected, names)
        if not changed:
            break
    return nodes, _kept_constants(constants, original, used_before, nodes, as_protos)


def _producers_and_uses(nodes, protected) -> tuple[dict, dict]:
    """(value name -> the node making it, value name -> how many inputs and outputs read it)."""
    producer = {output: node for node in nodes for output in node.output}
    uses: dict[str, int] = {}
    for node in nodes:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    for name in protected:
        uses[name] = uses.get(name, 0) + 1
    return producer, uses


def _readers(nodes) -> dict[str, list]:
    """Value name -> the nodes that read it."""
    readers: dict[str, list] = {}
    for node in nodes:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    return readers


def _one_pass(nodes, constants, protected, names):
    producer, consumers = _producers_and_uses(nodes, protected)

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
        inner = names.fresh(f"{node.output[0]}/untransposed")
        moved = helper.make_node(node.op_type, new_inputs, [inner], name=node.name)
        moved.attribute.extend(node.attribute)
        after = helper.make_node("Transpose", [inner], [node.output[0]], perm=perm,
                                 name=names.fresh(f"{node.name}/transpose_after"))
        replace[id(node)] = [moved, after]
        # later nodes of this pass see the new Transpose as their input's producer, so a
        # chain of elementwise ops is crossed in one pass, not one pass per op
        producer[node.output[0]] = after
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
            if id(new) in removed:  # a Transpose made this pass and already moved on
                continue
            if any(name in rename for name in new.input):
                renamed = onnx.NodeProto()  # the caller's nodes are never changed
                renamed.CopyFrom(new)
                renamed.input[:] = [resolved(name) for name in new.input]
                new = renamed
            result.append(new)
    return result, True


def _permuted_constant(constants, name, inverse_perm, rank, names):
    array = constants[name]
    if array.ndim == 0:
        return name
    full = array.reshape((1,) * (rank - array.ndim) + array.shape)
    permuted = np.ascontiguousarray(np.transpose(full, inverse_perm))
    new_name = names.fresh(f"{name}/layout")
    constants[new_name] = permuted
    return new_name


def _attribute(node, name, default=None):
    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def _rewrite_reduce(node, producer, constants, sole_use, touched, replace, removed, names):
    """Reduce(Transpose(x, p), axes, keepdims=1) -> Transpose(Reduce(x, p[axes]), p);
    with keepdims=0, when the kept axes stay in order, just Reduce(x, p[axes])."""
    source = producer.get(node.input[0])
    if (source is None or source.op_type != "Transpose" or id(source) in touched
            or not sole_use(node.input[0])
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
        axes = [int(a) for a in constants[node.input[1]].reshape(-1)]
    elif attribute_axes is not None:
        axes = list(attribute_axes)
    else:
        axes = list(range(rank))  # no axes: all of them, whatever the layout
    axes = [a % rank for a in axes]
    keepdims = _attribute(node, "keepdims", 1)
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
        inner = names.fresh(f"{node.output[0]}/untransposed")
        moved = helper.make_node(node.op_type, inputs, [inner], name=node.name, **attributes)
        after = helper.make_node("Transpose", [inner], [node.output[0]], perm=perm,
                                 name=names.fresh(f"{node.name}/transpose_after"))
        replace[id(node)] = [moved, after]
        producer[node.output[0]] = after
    removed.add(id(source))
    touched.update((id(node), id(source)))
    return True


def drop_transposes_before_reshape(nodes, shapes: dict):
    """Remove a Transpose whose only reader is a Reshape (constant target) or a
    Flatten when it moves only axes of size 1: the elements keep their order, so the reshape
    gives the same result. `shapes` maps value names to their static dims (None = unknown)."""
    readers = _readers(nodes)
    dropped = set()
    for node in nodes:
        perm = _perm(node) if node.op_type == "Transpose" else None
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
        elif perm[0] != 0 or _attribute(reader, "axis", 1) != 1:
            continue
        moved = [axis for axis in perm if shape[axis] != 1]
        if moved != sorted(moved):
            continue
        reader.input[0] = node.input[0]
        dropped.add(id(node))
    return [node for node in nodes if id(node) not in dropped]


def static_shapes(nodes, constants: dict, inputs, opset: int) -> dict:
    """Value name -> list of dims (None where unknown) by ONNX shape inference on the graph
    without its weights; also ("constant", name) -> values of small int64 constants."""
    light = []
    shapes: dict = {}
    for name, array in constants.items():
        if array.dtype == np.int64 and array.size <= 128:
            light.append(numpy_helper.from_array(array, name))
            shapes[("constant", name)] = [int(v) for v in array.reshape(-1)]
        else:
            light.append(onnx.TensorProto(name=name, dims=array.shape,
                                          data_type=helper.np_dtype_to_tensor_dtype(array.dtype)))
    graph = helper.make_graph(nodes, "shapes", inputs, [], light)
    try:
        inferred = onnx.shape_inference.infer_shapes(
            helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]))
    except Exception:  # inference is an optimisation aid only
        return shapes
    for info in [*inferred.graph.value_info, *inputs]:
        shapes[("type", info.name)] = info.type.tensor_type.elem_type
        if info.type.tensor_type.HasField("shape"):
            shapes[info.name] = [dim.dim_value if dim.HasField("dim_value") else None
                                 for dim in info.type.tensor_type.shape.dim]
    return shapes


# Ops whose output is linear in their input with a constant weight: a per-output-channel Mul or
# Add after them folds into that weight (and bias).
_LINEAR = {"Conv", "MatMul"}


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
    constants, as_protos = _as_arrays(initializers)
    original = set(constants)
    names = _Names(nodes, original)
    used_before = {name for node in nodes for name in node.input}
    producer, uses = _producers_and_uses(nodes, outputs)

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
    return kept_nodes, _kept_constants(constants, original, used_before, kept_nodes, as_protos)


def _data_and_constant(node, constants):
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
        bias = (constants[source.input[2]].astype(np.float64)
                if len(source.input) > 2 and source.input[2] else np.zeros(weight.shape[0]))
        if len(source.input) > 2 and source.input[2] and source.input[2] not in constants:
            return False
        if op_type == "Mul":
            shaped = vector.reshape((-1,) + (1,) * (weight.ndim - 1))
            replace_constant(source, 1, np.multiply(weight, shaped.astype(weight.dtype), order="C"))
            bias = bias * vector
        else:
            bias = bias + vector
        if len(source.input) > 2 and source.input[2]:
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
        replace_constant(source, 1, np.multiply(weight, vector.astype(weight.dtype), order="C"))
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
        replace_constant(matmul, 1, np.multiply(weight, vector.astype(weight.dtype), order="C"))
        replace_constant(source, list(source.input).index(bias_name), bias * vector)
        return True
    return False


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

    def resolved(name):
        while name in rename:
            name = rename[name]
        return name

    for node in nodes:
        if any(name in rename for name in node.input):
            node.input[:] = [resolved(name) for name in node.input]
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


def fold_pads_into_convolutions(nodes, constants: dict, outputs=()):
    """A zero-padding Pad whose only reader is a Conv becomes that Conv's `pads` (the
    ZeroPadding2D before a stem convolution, as Keras's ResNet has). Batch and channel axes must
    be unpadded, the mode constant with value 0."""
    protected = set(outputs)
    readers = _readers(nodes)
    dropped = set()
    for node in nodes:
        if (node.op_type != "Pad" or len(node.input) < 2 or len(node.input) > 3
                or node.input[1] not in constants or node.output[0] in protected
                or _attribute(node, "mode", b"constant") not in (b"constant", "constant")):
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
        if _attribute(conv, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            continue
        conv_pads = list(_attribute(conv, "pads", [0] * (2 * (rank - 2))))
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
    readers = _readers(nodes)
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


def names_read(nodes) -> set:
    """Every value name the nodes read, including inside their subgraphs (a Scan or Loop body
    reads outer-scope weights by name)."""
    names = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        names.update(node.input)
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                stack.extend(attribute.g.node)
            elif attribute.type == onnx.AttributeProto.GRAPHS:
                for graph in attribute.graphs:
                    stack.extend(graph.node)
    return names


def guard_zero_pads_before_max_pool(nodes, constants: dict, shapes: dict):
    """Give a zero Pad that feeds a MaxPool the pad value -0.0 (equal to 0 in every comparison).
    onnxruntime (1.31 and earlier, at every optimization level above 'disabled') fuses
    Pad(value 0) + MaxPool into one MaxPool with `pads`, whose padding acts as -inf: windows of
    negative values at the border then give their maximum instead of 0. A pad value of -0.0 is
    not fused (onnx/optimizer#318 and onnxsim#290 describe the same wrong fusion)."""
    readers = _readers(nodes)
    negative_zero = None
    for node in nodes:
        if (node.op_type != "Pad" or _attribute(node, "mode", b"constant") not in (b"constant", "constant")
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
