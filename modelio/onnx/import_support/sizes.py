"""Unknown sizes in an ONNX import: the graph inputs' declared shapes (symbolic, -1 and 0 dims are
unknown), the user's `input_shapes` override, the sizes ONNX's own shape inference (with data
propagation through Shape -> Gather -> Concat -> Reshape chains) knows for every value, and the
hint naming the graph inputs whose unknown sizes an import could not do without."""

import math

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ...errors import ConfigError
from ...graph.tensor import SymbolicTensor

# Initializers up to this many elements are given to ONNX's shape inference with their values
# (shape vectors, axes, indices); larger ones only by type and shape.
_INFERENCE_VALUE_ELEMENTS = 4096


def declared_dims(value_info) -> tuple:
    """The declared dims of a graph input: ints, None where symbolic, missing or -1, and 0 in
    an input of rank 2 or more (exporters write -1 or 0 for a size they leave free; an empty
    vector, a list of no axes or pads, stays empty)."""
    dims = value_info.type.tensor_type.shape.dim
    free = 0 if len(dims) >= 2 else -1
    return tuple(dim.dim_value if dim.HasField("dim_value") and dim.dim_value > free else None
                 for dim in dims)


def checked_input_shapes(input_shapes, graph, initializer_names, source: str) -> dict:
    """`input_shapes` ({graph input name: sequence of positive ints, None for a size left free})
    checked against the graph's inputs: each name must be a run-time graph input, each shape of
    its declared rank and equal to its fixed declared dims. Returns {name: tuple}."""
    if input_shapes is None:
        return {}
    if not isinstance(input_shapes, dict):
        raise ConfigError(f"{source}: input_shapes must be a dict {{input name: shape}}, got "
                          f"{type(input_shapes).__name__}")
    declared = {value_info.name: value_info for value_info in graph.input
                if value_info.name not in initializer_names}
    checked = {}
    for name, shape in input_shapes.items():
        if name not in declared:
            known = ", ".join(f"'{input_name}'" for input_name in declared) or "none"
            raise ConfigError(f"{source}: input_shapes names '{name}', which is no graph input "
                              f"(the inputs are {known})")
        if not isinstance(shape, (list, tuple)) or not all(
                dim is None or (isinstance(dim, (int, np.integer)) and not isinstance(dim, bool)
                                and dim > 0) for dim in shape):
            raise ConfigError(f"{source}: the shape given for input '{name}' must be a list of "
                              f"positive integers, got {shape!r}")
        dims = declared_dims(declared[name])
        shape = tuple(None if dim is None else int(dim) for dim in shape)
        if len(shape) != len(dims):
            raise ConfigError(f"{source}: input '{name}' has rank {len(dims)} (declared "
                              f"{_text(dims)}), the shape given {_text(shape)} has rank "
                              f"{len(shape)}")
        for axis, (given, fixed) in enumerate(zip(shape, dims)):
            if given is not None and fixed is not None and given != fixed:
                raise ConfigError(f"{source}: input '{name}' declares size {fixed} on axis "
                                  f"{axis} ({_text(dims)}); the shape given {_text(shape)} "
                                  f"contradicts it")
        checked[name] = tuple(given if given is not None else fixed
                              for given, fixed in zip(shape, dims))
    return checked


def _text(dims) -> str:
    return "(" + ", ".join("?" if dim is None else str(dim) for dim in dims) + ")"


def inferred_shapes(proto, values: dict, input_shapes: dict) -> dict:
    """{value name: tuple of ints and None} as ONNX's shape inference with data propagation sees
    the graph whose inputs have their known sizes (`input_shapes` applied, unknown dims left
    free) and whose small initializers (`values`, numpy arrays) have their values. Empty when
    the inference fails (modelio's own shape rules still apply)."""
    graph = proto.graph
    inputs, initializers = [], []
    for value_info in graph.input:
        if value_info.name in values:
            continue
        entry = onnx.ValueInfoProto()
        entry.CopyFrom(value_info)
        dims = input_shapes.get(value_info.name, declared_dims(value_info))
        shape = entry.type.tensor_type.shape
        if entry.type.HasField("tensor_type") and entry.type.tensor_type.HasField("shape"):
            # each unknown size a symbol of its own (the declared one when there is one), so
            # that the inference can tell equal sizes apart from unknown ones
            params = [dim.dim_param for dim in shape.dim]
            del shape.dim[:]
            for axis, dim in enumerate(dims):
                if dim is None:
                    shape.dim.add().dim_param = params[axis] or f"{value_info.name}:{axis}"
                else:
                    shape.dim.add().dim_value = dim
        inputs.append(entry)
    for name, array in values.items():
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
            continue
        if array.size <= _INFERENCE_VALUE_ELEMENTS:
            initializers.append(numpy_helper.from_array(array, name))
        else:
            inputs.append(helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(array.dtype), list(array.shape)))
    outputs = []
    for value_info in graph.output:  # declared output sizes are a claim, not evidence
        entry = onnx.ValueInfoProto()
        entry.CopyFrom(value_info)
        if entry.type.HasField("tensor_type"):
            entry.type.tensor_type.ClearField("shape")
        outputs.append(entry)
    try:
        light = helper.make_graph(list(graph.node), graph.name or "g", inputs, outputs,
                                  initializer=initializers)
        model = helper.make_model(light, opset_imports=list(proto.opset_import),
                                  ir_version=proto.ir_version, functions=list(proto.functions))
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # noqa: BLE001 - the inference is a help, never a requirement
        return {}
    shapes = {}
    for value_info in [*inputs, *inferred.graph.value_info, *inferred.graph.output]:
        tensor_type = value_info.type.tensor_type
        if value_info.type.HasField("tensor_type") and tensor_type.HasField("shape"):
            shapes[value_info.name] = tuple(
                dim.dim_value if dim.HasField("dim_value") else (dim.dim_param or None)
                for dim in tensor_type.shape.dim)
    for node in graph.node:  # the -1 of a Reshape the inference leaves symbolic
        if node.op_type == "Reshape" and len(node.input) > 1 and node.output[0] in shapes:
            shapes[node.output[0]] = solved_reshape(shapes.get(node.input[0]),
                                                    shapes[node.output[0]])
    return shapes


def solved_reshape(source, target):
    """`target` (the inferred dims of a Reshape's output: ints, symbols, None) with its one
    size that no input symbol explains computed from the input's dims `source`: the symbols
    both share cancel (a (B, T, 2, 4) reshaped to (B, T, ?) gives ? = 8)."""
    if source is None or None in source:
        return target
    remaining = [dim for dim in source if isinstance(dim, str)]
    unexplained = []
    for axis, dim in enumerate(target):
        if isinstance(dim, str) and dim in remaining:
            remaining.remove(dim)
        elif not isinstance(dim, int):
            unexplained.append(axis)
    if len(unexplained) != 1 or remaining:
        return target
    known = math.prod(dim for dim in target if isinstance(dim, int))
    total = math.prod(dim for dim in source if isinstance(dim, int))
    if known <= 0 or total % known:
        return target
    solved = list(target)
    solved[unexplained[0]] = total // known
    return tuple(solved)


def refine(tensor: SymbolicTensor, known) -> None:
    """Give `tensor` the sizes `known` (ints, None) says where its own shape has None, when an
    Onnx* layer made it as its only output (the layer keeps them in its config, so a reloaded
    model has them too). A size that contradicts the tensor's own is ignored."""
    if known is None or len(known) != len(tensor.shape) or None not in tensor.shape:
        return
    history = tensor.keras_history
    layer = history.layer if history is not None else None
    if layer is None or not hasattr(layer, "known_shape") or len(layer.inbound_nodes) != 1:
        return
    merged = tuple(own if own is not None else (
        int(hint) if isinstance(hint, int) and hint > 0 else None)
        for own, hint in zip(tensor.shape, known))
    if merged != tensor.shape and (
            layer.known_shape is None or len(layer.known_shape) == len(merged)):
        previous = layer.known_shape or [None] * len(merged)
        layer.known_shape = [old if old is not None else new
                             for old, new in zip(previous, merged)]
        tensor.shape = merged


def require_dim(tensor: SymbolicTensor, axis: int, size: int) -> SymbolicTensor:
    """`tensor` with size `size` on `axis` where it is unknown and an Onnx* layer made it (a Conv
    knows its channel count from its weight even when the shape arithmetic upstream lost it)."""
    if tensor.shape[axis] is None:
        known = [None] * len(tensor.shape)
        known[axis] = size
        refine(tensor, known)
    return tensor


def unknown_inputs_hint(context, node) -> str:
    """For an import that failed at `node`: the graph inputs with unknown sizes that `node`
    depends on, and how to fix them; '' when none."""
    names = set()
    for name in node.input:
        value = context.values.get(name)
        if isinstance(value, SymbolicTensor) and None in value.shape:
            names |= context.dynamic_sources.get(name, set())
    if not names:
        return ""
    listed = ", ".join(f"'{name}' {_text(context.values[name].shape)}"
                       for name in sorted(names) if isinstance(context.values.get(name),
                                                               SymbolicTensor))
    first = sorted(names)[0]
    shape = context.values[first].shape if isinstance(context.values.get(first),
                                                      SymbolicTensor) else ()
    example = ",".join("SIZE" if dim is None else str(dim) for dim in shape)
    return (f" (this node depends on graph input(s) {listed} whose sizes are unknown: fix them "
            f"with input_shapes={{'{first}': (...)}} or --input-shape {first}={example})")


def track_sources(context, node) -> None:
    """Record which graph inputs of unknown size each output of `node` depends on."""
    sources = set()
    for name in node.input:
        sources |= context.dynamic_sources.get(name, set())
    if sources:
        for name in node.output:
            if name:
                context.dynamic_sources[name] = sources
