"""Export a modelio model to ONNX: one lowering per layer class, nested models inlined, a dynamic
batch dimension, the lowest IR version the opset needs, checked with onnx.checker."""

import contextlib
import gc
import os
from pathlib import Path

import onnx
from onnx import TensorProto, defs, helper

from ..atomic import atomic_path
from ..errors import ConfigError, UnsupportedError
from ..graph.dtypes import HALF_DTYPES, is_float_dtype, numpy_dtype
from ..graph.functional import Functional
from ..graph.layer import Layer
from ..graph.precision import float32_carrier
from ..graph.tensor import SymbolicTensor
from ..graph.tree import flatten, pack_like
from ..version import __version__
from . import families  # noqa: F401 - registers every lowering and converter
from .builder import ML_DOMAIN, ML_OPSET, OnnxGraph, write_model_streaming
from .export_support import OpsetNeeded
from .passes.cleanup import drop_identities, guard_zero_pads_before_max_pool
from .passes.folding import fold_affine, fold_pads_into_convolutions, matmul_add_to_gemm
from .passes.graph_facts import names_read, static_shapes
from .passes.transposes import cancel_transposes, drop_transposes_before_reshape
from .registry import lowering_for

DEFAULT_OPSET = 17
MIN_OPSET = 13
# The newest opset the current onnxruntime release runs; `onnx` itself knows newer ones.
MAX_OPSET = 26
# Protobuf refuses messages over 2 GiB; above this many bytes of weights they go to a data file.
EXTERNAL_DATA_THRESHOLD = int(1.8 * 2**30)

ELEMENT_TYPES = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16,
                 "float64": TensorProto.DOUBLE, "int32": TensorProto.INT32,
                 "int64": TensorProto.INT64, "int8": TensorProto.INT8, "uint8": TensorProto.UINT8,
                 "int16": TensorProto.INT16, "uint16": TensorProto.UINT16,
                 "uint32": TensorProto.UINT32, "uint64": TensorProto.UINT64,
                 "bool": TensorProto.BOOL, "string": TensorProto.STRING}


def export_onnx(model, path: str | os.PathLike | None = None, opset: int | None = None,
                batch_size: int | None = None, external_data: bool | None = None,
                nchw: bool = False) -> onnx.ModelProto | None:
    """Convert `model` to ONNX: returned as a ModelProto when `path` is None, else written
    atomically to `path` (weights streamed from memory, never serialized twice; returns None).

    `opset` defaults to 17, raised to the lowest opset every layer's lowering needs (13 to 26
    accepted; an explicit opset too old for a layer is refused); the batch dimension is symbolic ("batch") unless
    `batch_size` fixes it. Weights over 1.8 GiB (or `external_data=True`) are written to
    `<path>.data` beside the model, as ONNX external data. Inputs and outputs are named after the
    model's input and output layers and keep the model's layout, or with `nchw=True` every input
    and output of rank 3 to 5 is channels-first, (batch, channels, *spatial), for runtimes that
    want NCHW (the model itself must be channels-last, Keras's default). A layer with no ONNX
    lowering is refused (all listed at once)."""
    return export_from_holder([model], path, opset, batch_size, external_data, nchw)


def export_from_holder(holder: list, path, opset, batch_size, external_data, nchw,
                       release: bool = False) -> onnx.ModelProto | None:
    """`export_onnx` on the model in the one-element list `holder`, which is emptied once the
    graph is built: from then on only the graph is needed, and a model nobody else keeps
    (`modelio.convert_to_onnx`'s) is freed before the file is written and checked (`release`
    runs the collector for that). Returns what `export_onnx` returns."""
    explicit = opset is not None
    opset = DEFAULT_OPSET if opset is None else opset
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ConfigError(f"opset must be an integer from {MIN_OPSET} to {MAX_OPSET}, got {opset!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                   or batch_size < 1):
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not isinstance(holder[0], Functional):
        raise ConfigError(f"export_onnx needs a modelio Model or Sequential, got "
                          f"{type(holder[0]).__name__}")
    model_name = holder[0].name
    while True:  # an opset left to modelio rises to what the lowerings need
        try:
            graph, inputs, outputs = _lowered_graph(holder[0], opset, batch_size, nchw)
            break
        except OpsetNeeded as exc:
            if explicit or not opset < exc.opset <= MAX_OPSET:
                raise
            opset = exc.opset
    holder.pop()
    if release:
        gc.collect()  # layers, nodes and tensors refer to each other: only the collector frees them
    output_names = [info.name for info in outputs]
    graph.nodes, graph.constants = cancel_transposes(graph.nodes, graph.constants, output_names)
    graph.nodes, graph.constants = fold_affine(graph.nodes, graph.constants, output_names)
    graph.nodes = drop_identities(graph.nodes, [info.name for info in inputs], output_names)
    graph.nodes = fold_pads_into_convolutions(graph.nodes, graph.constants, output_names)
    shapes = static_shapes(graph.nodes, graph.constants, inputs, opset)
    graph.nodes = guard_zero_pads_before_max_pool(graph.nodes, graph.constants, shapes)
    graph.nodes = drop_transposes_before_reshape(graph.nodes, shapes)
    graph.nodes = matmul_add_to_gemm(graph.nodes, graph.constants, shapes, output_names)
    read = names_read(graph.nodes)
    graph.constants = {name: array for name, array in graph.constants.items() if name in read}

    weight_bytes = graph.constant_bytes()
    if external_data is None:
        external_data = weight_bytes > EXTERNAL_DATA_THRESHOLD
    if external_data and path is None:
        raise ConfigError(f"model '{model_name}': {weight_bytes / 2**30:.2f} GiB of weights need "
                          f"ONNX external data, which needs a file path to write beside")
    if path is None:
        proto = _model_proto(model_name, graph, inputs, outputs, opset, graph.initializer_protos())
        _check(proto, model_name)
        return proto
    path = Path(path)
    if not external_data:
        # The weights stream from their arrays into the file; the file is checked before it
        # takes the destination's name.
        proto = _model_proto(model_name, graph, inputs, outputs, opset, [])
        with atomic_path(path) as temporary:
            with open(temporary, "wb") as handle:
                write_model_streaming(handle, proto, graph.constants)
            graph.constants = {}
            _check(str(temporary), model_name)
        return None
    # Weights go to `<name>.onnx.data` beside the model (protobuf cannot hold 2 GiB): the data
    # file first, then the model, each written atomically; then the pair is checked from disk.
    location = path.name + ".data"
    with atomic_path(path.with_name(location)) as data_temporary:
        initializers = graph.external_initializers(data_temporary, location)
    proto = _model_proto(model_name, graph, inputs, outputs, opset, initializers)
    with atomic_path(path) as temporary:
        onnx.save_model(proto, str(temporary))
    _check(str(path), model_name)
    return None


def _lowered_graph(model, opset: int, batch_size, nchw: bool):
    """The model lowered to an OnnxGraph, with the graph's input and output value infos."""
    _check_lowerings(model)
    _check_dtypes(model)
    if nchw:
        _check_channels_last(model)
    graph = OnnxGraph(opset)
    input_values, inputs = [], []
    for tensor, name in zip(model.inputs, model.input_names):
        graph.reserve(name)
        if nchw and _is_spatial(tensor):
            input_values.append(graph.node("Transpose", [name], name,
                                           perm=_to_last(len(tensor.shape))))
        else:
            input_values.append(name)
        inputs.append(_value_info(name, tensor, batch_size, nchw))
    output_values = _lower_model(graph, model, input_values)
    _check_op_versions(graph)
    outputs = []
    for tensor, name, value in zip(model.outputs, model.output_names, output_values):
        output_name = graph.fresh(name)
        if nchw and _is_spatial(tensor):
            value = graph.node("Transpose", [value], name, perm=_to_first(len(tensor.shape)))
        graph.nodes.append(helper.make_node("Identity", [value], [output_name],
                                            name=graph.fresh(f"{output_name}/output")))
        outputs.append(_value_info(output_name, tensor, batch_size, nchw))
    return graph, inputs, outputs


def _first_versions() -> dict:
    """{default-domain op type: the opset that introduced it}."""
    if not _FIRST_VERSIONS:
        for schema in defs.get_all_schemas_with_history():
            if schema.domain in ("", "ai.onnx"):
                known = _FIRST_VERSIONS.get(schema.name, schema.since_version)
                _FIRST_VERSIONS[schema.name] = min(known, schema.since_version)
    return _FIRST_VERSIONS


_FIRST_VERSIONS: dict = {}


def _check_op_versions(graph) -> None:
    """Refuse (OpsetNeeded) a lowered graph using a default-domain op newer than its opset."""
    first = _first_versions()
    for node in graph.nodes:
        since = first.get(node.op_type, 0) if node.domain in ("", "ai.onnx") else 0
        if since > graph.opset:
            raise OpsetNeeded(f"node '{node.name}': ONNX {node.op_type} needs opset {since} or "
                              f"newer, exporting to {graph.opset}", since)


def _check(model, model_name: str) -> None:
    """onnx.checker's full check; a failure is modelio's fault, reported as a ModelioError."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise UnsupportedError(f"model '{model_name}': the exported ONNX graph fails "
                               f"onnx.checker ({exc}); this is a modelio bug, please report "
                               f"it") from exc


def _model_proto(model_name, graph, inputs, outputs, opset, initializers) -> onnx.ModelProto:
    onnx_graph = helper.make_graph(graph.nodes, model_name, inputs, outputs, initializers)
    imports = [helper.make_opsetid("", opset)]
    if any(node.domain == ML_DOMAIN for node in graph.nodes):  # LabelEncoder of the lookups
        imports.append(helper.make_opsetid(ML_DOMAIN, ML_OPSET))
    proto = helper.make_model(onnx_graph, opset_imports=imports,
                              producer_name="modelio", producer_version=__version__,
                              ir_version=ir_version_for(opset))
    helper.set_model_props(proto, {"model_name": model_name, "modelio_version": __version__})
    return proto


def ir_version_for(opset: int) -> int:
    """The lowest IR version that supports `opset` (the newest `onnx` writes an IR version that
    released onnxruntime builds refuse, so the library's default is not used)."""
    return min(ir for _, ir, default_opset, *_ in helper.VERSION_TABLE if default_opset >= opset)


def _lower_model(graph: OnnxGraph, model, input_names: list) -> list[str]:
    """Lower `model`'s nodes in the model's one walk (`Functional.run_graph`, with ONNX value
    names as the values), nested models inlined; returns the names of the model's outputs."""
    def lower_node(node, args, kwargs):
        layer = node.layer
        if isinstance(layer, Functional):
            return _lower_nested(graph, layer, args, kwargs)
        return _lower_layer(graph, node, lowering_for(layer), args, kwargs)

    return model.run_graph(input_names, lower_node)


def _lower_nested(graph: OnnxGraph, inner, args, kwargs) -> list[str]:
    """Inline a nested model's graph, its inputs bound to the names it is called with."""
    if any(leaf is not None for leaf in flatten(kwargs.get("mask"))):
        raise UnsupportedError(f"model '{inner.name}': exporting masks to ONNX is not supported yet")
    return _lower_model(graph, inner, inner.flatten_inputs(args[0]))


def _lower_layer(graph: OnnxGraph, node, lowering, args, kwargs):
    """One layer's nodes, with Keras's mixed-precision rules: float inputs are cast to the
    layer's compute dtype first (Keras autocasts a layer's inputs), and a float16 layer's float
    weights are float16 initializers (Keras casts float32 variables to the compute dtype when a
    mixed_float16 layer is called). A float16 layer whose lowering writes float32 constants
    (`float32_only`: convolutions, normalizations, recurrent layers, ...) computes in float32 on
    float16 values: its float16 inputs and weights are cast up, its outputs cast back to
    float16, so the tensors between layers are float16 as in Keras (and BatchNormalization and
    LayerNormalization compute their statistics in float32, as Keras does). Keras 3 operations
    (`keras.ops`) do not autocast and are lowered as they are, and so are modelio's Onnx*
    operand layers (`keeps_dtypes`: they compute in their operands' dtypes)."""
    layer = node.layer
    # Keras operations and the operand Onnx* layers (keeps_dtypes) compute in their inputs' dtypes
    if getattr(layer, "_is_operation", False) or getattr(layer, "keeps_dtypes", False):
        return lowering(graph, node, args, kwargs)
    compute = layer.dtype_policy.compute_dtype
    if not is_float_dtype(numpy_dtype(compute)):
        return lowering(graph, node, args, kwargs)
    held = _held_layers(layer)  # a wrapper's inner layers are lowered by its lowering
    carried = compute in HALF_DTYPES and any(
        getattr(lowering_for(each), "float32_only", False) for each in [layer, *held])
    inner = "float32" if carried else compute
    args = _autocast(graph, node.call_args, args, compute, inner, layer.name)
    kwargs = _autocast(graph, node.call_kwargs, kwargs, compute, inner, layer.name)
    if not carried:
        with graph.float_weights(compute):
            return lowering(graph, node, args, kwargs)
    with contextlib.ExitStack() as stack:
        for each in [layer, *held]:
            stack.enter_context(float32_carrier(each))
        stack.enter_context(graph.float_weights("float32", compute))
        outputs = lowering(graph, node, args, kwargs)
    names = flatten(outputs)
    cast_back = [graph.node("Cast", [name], layer.name, to=ELEMENT_TYPES[tensor.dtype])
                 if tensor.dtype in HALF_DTYPES else name
                 for name, tensor in zip(names, node.outputs)]
    return pack_like(outputs, cast_back)


def _held_layers(layer) -> list:
    """The layers `layer` holds as attributes (a Bidirectional's forward and backward layers, a
    TimeDistributed's layer), and theirs, recursively."""
    found, stack = [], [layer]
    while stack:
        for value in vars(stack.pop()).values():
            if isinstance(value, Layer) and value is not layer and value not in found:
                found.append(value)
                stack.append(value)
    return found


def _autocast(graph: OnnxGraph, tensors, names, compute: str, inner: str, hint: str):
    """`names` (ONNX values standing for the symbolic `tensors`, same structure) with each float
    value cast to `compute` and then to `inner` where they differ."""
    flat_names = flatten(names)
    cast = []
    for tensor, name in zip(flatten(tensors), flat_names):
        if isinstance(tensor, SymbolicTensor) and is_float_dtype(numpy_dtype(tensor.dtype)):
            for dtype, previous in ((compute, tensor.dtype), (inner, compute)):
                if dtype != previous:
                    name = graph.node("Cast", [name], hint, to=ELEMENT_TYPES[dtype])
        cast.append(name)
    return pack_like(names, cast)


def _check_dtypes(model) -> None:
    """bfloat16 layers are refused, all listed at once: onnxruntime's CPU provider has no
    bfloat16 arithmetic (MatMul, Add, Conv, ... have no bfloat16 kernels) and its Python API
    cannot pass bfloat16 arrays in or out."""
    refused = [layer.name for layer in _leaf_layers(model)
               if layer.dtype_policy.compute_dtype == "bfloat16"]
    if refused:
        listing = ", ".join(refused[:5]) + (", ..." if len(refused) > 5 else "")
        raise UnsupportedError(
            f"model '{model.name}': layer(s) {listing} compute in bfloat16, which has no ONNX "
            f"export: onnxruntime runs no bfloat16 arithmetic (MatMul, Add, Conv, ... have no "
            f"bfloat16 kernels); load the model with a float32 or float16 policy instead")


def _leaf_layers(model):
    """Every layer of `model` and of the models nested in it, once each (nested models walked,
    not yielded)."""
    stack, seen = [model], set()
    while stack:
        current = stack.pop()
        for node in current.nodes_in_order:
            layer = node.layer
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            if isinstance(layer, Functional):
                stack.append(layer)
            else:
                yield layer


def _check_lowerings(model) -> None:
    missing = {}
    for layer in _leaf_layers(model):
        if lowering_for(layer) is None:
            missing.setdefault(type(layer).__name__, []).append(layer.name)
    if missing:
        listing = "; ".join(
            f"{class_name} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
            for class_name, names in sorted(missing.items()))
        raise UnsupportedError(f"model '{model.name}': no ONNX export yet for {listing}")


def _is_spatial(tensor: SymbolicTensor) -> bool:
    return 3 <= len(tensor.shape) <= 5


def _to_last(rank: int) -> list[int]:
    return [0, *range(2, rank), 1]


def _to_first(rank: int) -> list[int]:
    return [0, rank - 1, *range(1, rank - 1)]


def _check_channels_last(model) -> None:
    for layer in _leaf_layers(model):
        if getattr(layer, "data_format", None) == "channels_first":
            raise ConfigError(f"model '{model.name}': layer '{layer.name}' is already "
                              f"channels_first; nchw=True converts channels-last models")


def _value_info(name: str, tensor: SymbolicTensor, batch_size: int | None, nchw: bool = False):
    element_type = ELEMENT_TYPES.get(tensor.dtype)
    if element_type is None:
        raise UnsupportedError(f"'{name}': dtype {tensor.dtype} has no ONNX export")
    # a scalar (a keras.ops reduction over every axis, the batch included) has no batch axis;
    # a first axis of known size (an imported graph's, or no batch axis at all) keeps its size
    first = tensor.shape[0] if len(tensor.shape) else None
    dims = [first or batch_size or "batch", *tensor.shape[1:]] if len(tensor.shape) else []
    if nchw and _is_spatial(tensor):
        dims = [dims[i] for i in _to_first(len(dims))]
    return helper.make_tensor_value_info(name, element_type, [d if d is not None else None for d in dims])
