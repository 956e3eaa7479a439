"""ONNX import: an ONNX graph becomes a modelio functional model.

Each ONNX op has a converter registered with `@converts("OpType", ...)` (registry.py) in the
family module of what it builds (conv.py, numpy/shape.py, ...; families.py lists them). A converter is
`function(context, node) -> list` (context: import_context.ImportContext) giving one value per
ONNX output of `node`; a value is either a modelio SymbolicTensor (the output of a layer the
converter called) or a numpy array (a constant: initializers, Constant nodes and everything
computed only from constants — shape arithmetic folds to arrays this way, so no layer is made
for it).

NCHW stays NCHW: image ops become `channels_first` layers. Where no Keras layer has the op's
semantics, a small modelio layer carries them (modelio/ops/), serialized like any
other layer. An op without a converter is refused before anything is built, all listed at once.
"""

import math
import os
from collections import Counter

import numpy as np
import onnx
from onnx import defs, helper, numpy_helper

from ..errors import ConfigError, FormatError, GraphError, ModelioError, UnsupportedError
from ..graph.functional import Functional
from ..graph.input_layer import Input
from ..graph.layer import weights_follow
from ..graph.tensor import SymbolicTensor
from ..layers import Identity
from . import families  # noqa: F401 - registers every lowering and converter
from .import_context import FoldBudget, ImportContext
from .import_support import sizes
from .reader import check_text_fields, read_onnx_file
from .registry import CONVERTERS

# The oldest default-domain opset the importer reads (the ONNX package's pytorch-converted
# models use opset 6; converters handle the older attribute forms).
MIN_IMPORT_OPSET = 6
# An initializer or graph input may not declare more elements than this.
MAX_CONSTANT_ELEMENTS = 2**31


def load_onnx_model(path: str | os.PathLike, input_shapes: dict | None = None):
    """Read an ONNX file into a modelio Model. The weights are read straight from the file into
    numpy arrays (reader.py), so a large model is never held twice; external data is read from
    files inside the model's folder. `input_shapes` fixes graph inputs' sizes (import_onnx)."""
    proto, arrays = read_onnx_file(path)
    return import_onnx(proto, source=str(path), initializers=arrays, input_shapes=input_shapes)


def import_onnx(proto: onnx.ModelProto, source: str = "<onnx model>",
                release_initializers: bool = False, initializers: dict | None = None,
                bind: dict | None = None, input_shapes: dict | None = None):
    """Convert an in-memory ONNX ModelProto into a modelio functional Model.

    Graph inputs become `Input`s with their declared shapes (symbolic dims -> None),
    initializers become constants that the converters fold or turn into layer weights. With
    `release_initializers` each initializer's bytes are dropped from `proto` once read (the
    proto is then spent). `initializers` gives the initializers' arrays when they were read
    apart from `proto` (whose initializers then carry no data). `bind` fixes graph inputs to
    arrays: they become constants instead of model inputs (see ConstantInputNeeded).
    Symbolic, -1 and 0 input dims are unknown sizes; `input_shapes` ({input name: shape}, None
    for a size left free) fixes them (a name that is no graph input, another rank or a size
    contradicting a fixed declared one is a ConfigError). Sizes the graph's shape arithmetic
    determines are kept (ONNX shape inference with data propagation, import_support/sizes.py).
    Raises UnsupportedError listing every op without an import, FormatError for a malformed
    graph: text that is not UTF-8 (read_onnx_file has checked a proto it returns with its
    `initializers`), a name written twice, an attribute the op does not define, constants
    folded past the import's budget (import_context.FoldBudget)."""
    if initializers is None:
        check_text_fields(proto, source)
    opset = _default_opset(proto, source)
    graph = proto.graph
    _refuse_unsupported(graph, source)
    stored = proto.ByteSize() + sum(array.nbytes for array in (initializers or {}).values())
    context = ImportContext(opset, source, FoldBudget(stored))
    _refuse_rewritten_values(graph, context)
    _refuse_unknown_attributes(graph, context)
    context.graph_outputs = {output.name for output in graph.output}
    context.uses = Counter(name for node in graph.node for name in node.input)
    context.uses.update(context.graph_outputs)
    if initializers is not None:
        _check_initializer_sizes(initializers, context)
        context.values.update(initializers)
    else:
        _read_initializers(graph, context, release_initializers)
    for name, array in (bind or {}).items():
        context.values[name] = np.asarray(array)
    shapes = sizes.checked_input_shapes(input_shapes, graph, set(context.values), source)
    context.inferred = sizes.inferred_shapes(proto, context.values, shapes)
    inputs = _make_inputs(graph, context, shapes)
    if not inputs:
        raise UnsupportedError(f"{source}: the graph has no run-time input; modelio models "
                               f"compute their outputs from inputs")
    remaining = Counter(context.uses)
    for node in graph.node:
        _convert_node(context, node)
        for name in node.input:
            remaining[name] -= 1
            if remaining[name] == 0 and isinstance(context.values.get(name), np.ndarray):
                # a constant nobody reads any more: the layers adopted what they need
                del context.values[name]
    outputs = _graph_outputs(graph, context, inputs)
    try:
        return Functional(inputs[0] if len(inputs) == 1 else inputs,
                          outputs[0] if len(outputs) == 1 else outputs, name=_model_name(graph))
    except ModelioError as exc:
        raise type(exc)(f"{source}: {exc}") from exc


def _check_initializer_sizes(arrays: dict, context: ImportContext) -> None:
    for name, array in arrays.items():
        if array.size > MAX_CONSTANT_ELEMENTS:
            raise FormatError(f"{context.source}: initializer '{name}' of shape "
                              f"{list(array.shape)} is too large")


def _read_initializers(graph, context: ImportContext, release: bool) -> None:
    """Initializers as numpy constants (with `release`, each tensor's bytes are dropped from the
    proto once read)."""
    if len(graph.sparse_initializer):
        raise UnsupportedError(f"{context.source}: sparse initializers are not supported")
    for tensor in graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise UnsupportedError(f"{context.source}: initializer '{tensor.name}' keeps its "
                                   f"data in an external file; load the model from its file "
                                   f"(modelio.load_model) to read it")
        if min(tensor.dims, default=0) < 0:
            raise FormatError(f"{context.source}: initializer '{tensor.name}' has a negative "
                              f"dimension {list(tensor.dims)}")
        if math.prod(tensor.dims) > MAX_CONSTANT_ELEMENTS:
            raise FormatError(f"{context.source}: initializer '{tensor.name}' of shape "
                              f"{list(tensor.dims)} is too large")
        try:
            array = numpy_helper.to_array(tensor)
        except Exception as exc:  # a tensor whose bytes do not match its shape and type
            raise FormatError(f"{context.source}: initializer '{tensor.name}' cannot be read "
                              f"({exc})") from exc
        context.values[tensor.name] = array
        if release:
            tensor.ClearField("raw_data")


def _make_inputs(graph, context: ImportContext, input_shapes: dict) -> list:
    inputs = []
    for value_info in graph.input:
        if value_info.name in context.values:  # old IR: initializers listed among the inputs
            continue
        shape, dtype = _declared(value_info, context.source)
        shape = input_shapes.get(value_info.name, shape)
        if None in shape:
            context.dynamic_sources[value_info.name] = {value_info.name}
        context.graph_inputs.add(value_info.name)
        tensor = Input(batch_shape=shape, dtype=dtype, name=context.layer_name(
            onnx.NodeProto(name=value_info.name, op_type="Input")))
        context.values[value_info.name] = tensor
        inputs.append(tensor)
    return inputs


# The errors a converter raises that are remade with a longer message (one argument).
_PLAIN_ERRORS = (FormatError, ConfigError, GraphError, UnsupportedError)


def _convert_node(context: ImportContext, node) -> None:
    """Run the node's converter; any failure becomes a ModelioError naming the node."""
    try:
        with weights_follow():  # converters give every layer its weights from the graph
            produced = CONVERTERS[node.op_type](context, node)
    except ModelioError as exc:
        where, hint = context.where(node), sizes.unknown_inputs_hint(context, node)
        if str(exc).startswith(context.source):
            if not hint or type(exc) not in _PLAIN_ERRORS:
                raise
            raise type(exc)(f"{exc}{hint}") from exc
        raise type(exc)(f"{where}: {exc}{hint}") from exc
    except (ValueError, TypeError, IndexError, KeyError, ArithmeticError, AttributeError) as exc:
        raise FormatError(f"{context.where(node)}: cannot import this node "
                          f"({type(exc).__name__}: {exc})"
                          f"{sizes.unknown_inputs_hint(context, node)}") from exc
    sizes.track_sources(context, node)
    if len(produced) < len([name for name in node.output if name]):
        missing = [name for name in node.output[len(produced):] if name]
        context.unavailable.update({name: context.where(node) for name in missing})
    inputs = [value for value in map(context.values.get, node.input)
              if isinstance(value, np.ndarray)]
    for name, value in zip(node.output, produced):
        if not name:
            continue
        if isinstance(value, np.ndarray) and not any(
                np.may_share_memory(value, array) for array in inputs):
            context.fold_budget.charge(context.where(node), value)  # a constant made here
        elif isinstance(value, SymbolicTensor):
            sizes.refine(value, context.inferred.get(name))
        context.values[name] = value


def _refuse_rewritten_values(graph, context: ImportContext) -> None:
    """Each value has one writer, as onnx.checker and onnxruntime require: no node output may
    repeat a graph input, an initializer or another output (an initializer may also be listed
    as a graph input, as IR versions before 4 do)."""
    writers: dict[str, str] = {}
    for kind, entries in (("initializer", graph.initializer), ("graph input", graph.input)):
        named = set()
        for entry in entries:
            if entry.name in named:
                raise FormatError(f"{context.source}: two {kind}s are named '{entry.name}'")
            named.add(entry.name)
            writers.setdefault(entry.name, f"{kind} '{entry.name}'")
    for node in graph.node:
        for name in node.output:
            if not name:
                continue
            if name in writers:
                raise FormatError(f"{context.where(node)}: writes '{name}', which "
                                  f"{writers[name]} already gives; a value has one writer")
            writers[name] = context.where(node).removeprefix(f"{context.source}: ")


def _refuse_unknown_attributes(graph, context: ImportContext) -> None:
    """Every attribute of a node is one its op defines at the model's opset, of the type the
    op defines, given once: a misspelt `axsi` on Softmax would otherwise be ignored and the
    default axis used. An op newer than the model's opset (modelio imports some, Gelu for one)
    is checked against its latest definition."""
    schemas: dict[str, dict] = {}
    for node in graph.node:
        if node.op_type not in schemas:
            schemas[node.op_type] = _defined_attributes(node.op_type, context.opset)
        defined, seen = schemas[node.op_type], set()
        for attribute in node.attribute:
            name = attribute.name
            if name not in defined:
                known = ", ".join(sorted(defined)) or "none"
                raise FormatError(f"{context.where(node)}: unknown attribute '{name}' (the op "
                                  f"defines {known} at opset {context.opset})")
            if name in seen:
                raise FormatError(f"{context.where(node)}: attribute '{name}' is given twice")
            seen.add(name)
            if attribute.type and attribute.type != defined[name]:
                raise FormatError(f"{context.where(node)}: attribute '{name}' is of type "
                                  f"{_type_name(attribute.type)}, the op defines it as "
                                  f"{_type_name(defined[name])}")


def _defined_attributes(op_type: str, opset: int) -> dict[str, int]:
    """{attribute name: AttributeProto type} of default-domain `op_type` at `opset`."""
    # a version beyond the newest this onnx knows (or beyond a C int) means its newest schema
    version = max(1, min(opset, defs.onnx_opset_version()))
    try:
        schema = defs.get_schema(op_type, version, "")
    except defs.SchemaError:
        schema = defs.get_schema(op_type, "")
    return {name: int(attribute.type) for name, attribute in schema.attributes.items()}


def _type_name(attribute_type: int) -> str:
    names = {number: name for name, number in onnx.AttributeProto.AttributeType.items()}
    return names.get(attribute_type, str(attribute_type))


def _graph_outputs(graph, context: ImportContext, inputs: list) -> list:
    """The graph outputs as tensors: an output that is a graph input, or repeats another
    output, passes through an Identity layer so that every model output is its own tensor."""
    outputs = []
    for output in graph.output:
        value = context.value(output.name)
        if not isinstance(value, SymbolicTensor):
            raise UnsupportedError(f"{context.source}: output '{output.name}' is a constant; "
                                   f"modelio models compute every output from their inputs")
        if any(value is tensor for tensor in (*inputs, *outputs)):
            name = context.layer_name(onnx.NodeProto(name=output.name, op_type="Identity"))
            dtype = None if value.dtype == "float32" else value.dtype  # keep ints, bools...
            value = Identity(name=name, dtype=dtype)(value)
        outputs.append(value)
    if not outputs:
        raise FormatError(f"{context.source}: the graph declares no output")
    return outputs


def _default_opset(proto, source: str) -> int:
    for entry in proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            if entry.version < MIN_IMPORT_OPSET:
                raise UnsupportedError(f"{source}: opset {entry.version} is older than "
                                       f"{MIN_IMPORT_OPSET}, the oldest modelio imports")
            return entry.version
    raise FormatError(f"{source}: the model imports no default-domain opset")


def _refuse_unsupported(graph, source: str) -> None:
    missing = sorted({node.op_type if node.domain in ("", "ai.onnx") else
                      f"{node.domain}.{node.op_type}" for node in graph.node
                      if node.op_type not in CONVERTERS or node.domain not in ("", "ai.onnx")})
    if missing:
        raise UnsupportedError(f"{source}: no modelio import for the ONNX op(s) "
                               f"{', '.join(missing)}")


def _declared(value_info, source: str):
    """(shape, numpy dtype name) of a graph input; symbolic or missing dims are None."""
    if not value_info.type.HasField("tensor_type"):
        raise UnsupportedError(f"{source}: input '{value_info.name}' is not a tensor")
    tensor_type = value_info.type.tensor_type
    try:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor_type.elem_type))
    except (KeyError, TypeError, ValueError) as exc:
        raise UnsupportedError(f"{source}: input '{value_info.name}' has an unsupported element "
                               f"type {tensor_type.elem_type}") from exc
    if dtype.kind not in "biuf" or dtype.name.startswith(("float8", "bfloat", "int4", "uint4")):
        raise UnsupportedError(f"{source}: input '{value_info.name}' has an unsupported element "
                               f"type {helper.tensor_dtype_to_string(tensor_type.elem_type)}")
    if not tensor_type.HasField("shape"):
        raise UnsupportedError(f"{source}: input '{value_info.name}' declares no shape; modelio "
                               f"needs at least its rank")
    shape = sizes.declared_dims(value_info)
    known = [dim for dim in shape if dim is not None]
    if any(dim < 0 for dim in known) or math.prod(known) > MAX_CONSTANT_ELEMENTS:
        raise FormatError(f"{source}: input '{value_info.name}' declares the shape {shape}")
    return shape, dtype.name


def _model_name(graph) -> str:
    name = "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in graph.name)
    return name or "onnx_model"

