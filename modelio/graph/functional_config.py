"""A functional model <-> its config: Keras 3 written; Keras 3 and Keras 2 read.

Reading replays the layer calls listed in each layer's `inbound_nodes`. A node waits until every
tensor it references exists; creating a node wakes the nodes waiting for it. This is linear in the
number of nodes, needs no recursion, and stops with a clear error instead of looping when a config
has a cycle or references a node that never comes.
"""

from collections import deque
from dataclasses import dataclass

from ..errors import ConfigError, GraphError, ModelioError
from .dialect import keras2_semantics_active
from .layer import shape_to_list
from .serialization import _entry_name, call_layer_in_config, deserialize_layer, serialize_layer
from .tensor import SymbolicTensor
from .tree import map_structure

# ----------------------------------------------------------------------------------------------
# Writing (Keras 3 dialect)
# ----------------------------------------------------------------------------------------------


def functional_get_config(model) -> dict:
    """`{"name", "trainable", "layers", "input_layers", "output_layers"}` as Keras 3 writes it.

    Node indices are renumbered to count only this model's calls of each layer; a nested Functional
    is referenced one higher in `input_layers`/`output_layers` (Keras 3's construction-node rule).
    """
    new_index = {}
    for layer in model._operations:
        kept = 0
        for node in layer._inbound_nodes:
            if node in model._network_nodes:
                new_index[node] = kept
                kept += 1

    def history_ref(tensor) -> list:
        layer, node_index, tensor_index = tensor._keras_history
        return [layer.name, new_index[layer._inbound_nodes[node_index]], tensor_index]

    def encode(leaf):
        if isinstance(leaf, SymbolicTensor):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(leaf.shape), "dtype": leaf.dtype,
                               "keras_history": history_ref(leaf)}}
        return _json_leaf(leaf)

    layer_entries = []
    for layer in model._operations:
        entry = serialize_layer(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {"args": _listify(map_structure(encode, node.call_args)),
             "kwargs": map_structure(encode, node.call_kwargs)}
            for node in layer._inbound_nodes
            if node in model._network_nodes and not node.is_input
        ]
        layer_entries.append(entry)

    def endpoint_ref(tensor) -> list:
        name, index, tensor_index = history_ref(tensor)
        offset = getattr(tensor._keras_history.layer, "_keras3_endpoint_offset", 0)
        return [name, index + offset, tensor_index]

    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layer_entries,
        "input_layers": _endpoint_structure(model._input_structure, endpoint_ref),
        "output_layers": _endpoint_structure(model._output_structure, endpoint_ref),
    }


def _endpoint_structure(structure, ref):
    if isinstance(structure, SymbolicTensor):
        return ref(structure)
    if isinstance(structure, dict):
        return {key: ref(tensor) for key, tensor in structure.items()}
    return [ref(tensor) for tensor in structure]


def _listify(value):
    if isinstance(value, (list, tuple)):
        return [_listify(item) for item in value]
    return value


def _json_leaf(leaf):
    if leaf is None or isinstance(leaf, (bool, int, float, str)):
        return leaf
    if hasattr(leaf, "item") and getattr(leaf, "ndim", 1) == 0:
        return leaf.item()
    raise ModelioError(f"cannot write call argument {leaf!r} into a config")


# ----------------------------------------------------------------------------------------------
# Reading (Keras 3 and Keras 2 dialects)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorRef:
    """A reference in a config to `layer_name`'s node `node_index`, output `tensor_index`."""

    layer_name: str
    node_index: int
    tensor_index: int


def functional_from_config(cls, config: dict):
    """Rebuild a functional model (an instance of `cls`) from a Keras 3 or Keras 2 config."""
    if not isinstance(config, dict):
        raise ConfigError(f"a functional model config must be a mapping, got {type(config).__name__}")
    model_name = config.get("name")
    where = f"model '{model_name}': " if isinstance(model_name, str) else ""
    layer_entries = config.get("layers")
    if not isinstance(layer_entries, list):
        raise ConfigError(f"{where}config has no 'layers' list")

    keras2 = _uses_keras2_nodes(layer_entries, default=keras2_semantics_active())
    offsets = _keras2_construction_offsets(layer_entries) if keras2 else {}

    layers = {}
    pending = {}  # layer name -> deque of (args, kwargs) still to call, in node order
    taken = {entry.get("name") for entry in layer_entries
             if isinstance(entry, dict) and isinstance(entry.get("name"), str)}
    for entry in layer_entries:
        layer = deserialize_layer(entry, where)
        name = entry.get("name", layer.name)
        if not isinstance(name, str):
            raise ConfigError(f"{where}layer name must be a string, got {name!r}")
        if name in layers:
            raise GraphError(f"{where}two layers are named '{name}'")
        if keras2 and "/" in layer.name:
            layer.name = keras3_layer_name(layer.name, taken)
        layers[name] = layer
        nodes = entry.get("inbound_nodes", [])
        if not isinstance(nodes, list):
            raise ConfigError(f"{where}layer '{name}': inbound_nodes must be a list")
        pending[name] = deque(_parse_node(node, keras2, offsets, where, name) for node in nodes)

    declared_nodes = {name: len(queue) + (1 if _is_input_layer(layers[name]) else 0)
                      for name, queue in pending.items()}
    _replay_nodes(layers, pending, declared_nodes, where)

    def endpoint(ref_list, what):
        ref = _parse_endpoint(ref_list, where, what)
        layer = layers.get(ref.layer_name)
        if layer is None:
            raise GraphError(f"{where}{what} names layer '{ref.layer_name}', which is not in the model")
        node_index = ref.node_index - _endpoint_offset(layer, keras2, offsets.get(ref.layer_name, 0))
        return _tensor_at(layer, node_index, ref.tensor_index, where, what)

    inputs = _map_endpoints(config.get("input_layers"), endpoint, "input_layers", where)
    outputs = _map_endpoints(config.get("output_layers"), endpoint, "output_layers", where)
    if keras2:  # Keras 2 writes a single tensor as a one-item list; it meant the tensor
        inputs, outputs = (_single(structure) for structure in (inputs, outputs))
    trainable = config.get("trainable", True)
    return cls(inputs=inputs, outputs=outputs, name=model_name, trainable=trainable)


def keras3_layer_name(name: str, taken: set) -> str:
    """`name` with each "/" replaced by "_" (tf-keras names such as "Conv/BatchNorm", which
    Keras 3 refuses), suffixed "_1", "_2", ... when that name is already `taken`; the result is
    added to `taken`. Weights are matched by position, so the rename changes no weight."""
    base = candidate = name.replace("/", "_")
    suffix = 0
    while candidate in taken:
        suffix += 1
        candidate = f"{base}_{suffix}"
    taken.add(candidate)
    return candidate


def _replay_nodes(layers: dict, pending: dict, declared_nodes: dict, where: str) -> None:
    waiting = {}  # (layer name, node index) -> names of layers whose next node needs it
    ready = deque(pending)
    while ready:
        name = ready.popleft()
        queue = pending[name]
        layer = layers[name]
        while queue:
            args, kwargs = queue[0]
            missing = _first_missing_ref((args, kwargs), layers, declared_nodes, where, name)
            if missing is not None:
                waiting.setdefault((missing.layer_name, missing.node_index), []).append(name)
                break
            resolve = _resolver(layers, where, name)
            call_layer_in_config(layer, map_structure(resolve, args), map_structure(resolve, kwargs),
                                 where)
            queue.popleft()
            created = (name, len(layer._inbound_nodes) - 1)
            ready.extend(waiting.pop(created, ()))
    stuck = [(name, queue) for name, queue in pending.items() if queue]
    if stuck:
        details = []
        for name, queue in stuck[:5]:
            ref = _first_missing_ref(queue[0], layers, declared_nodes, where, name)
            details.append(f"layer '{name}' waits for node {ref.node_index} of '{ref.layer_name}'")
        raise GraphError(f"{where}invalid functional config: the graph has a loop or nodes that "
                         f"are never created ({'; '.join(details)})")


def _first_missing_ref(node_data, layers, declared_nodes, where, consumer):
    """The first TensorRef in `node_data` whose node does not exist yet, or None."""
    stack = [node_data]
    while stack:
        item = stack.pop()
        if isinstance(item, TensorRef):
            layer = layers.get(item.layer_name)
            if layer is None:
                raise GraphError(f"{where}layer '{consumer}' takes its input from layer "
                                 f"'{item.layer_name}', which is not in the model")
            if item.node_index >= declared_nodes[item.layer_name]:
                raise GraphError(f"{where}layer '{consumer}' refers to node {item.node_index} of "
                                 f"layer '{item.layer_name}', which has only "
                                 f"{declared_nodes[item.layer_name]} node(s)")
            if item.node_index >= len(layer._inbound_nodes):
                return item
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return None


def _resolver(layers, where, consumer):
    def resolve(leaf):
        if isinstance(leaf, TensorRef):
            return _tensor_at(layers[leaf.layer_name], leaf.node_index, leaf.tensor_index, where,
                              f"layer '{consumer}'")
        return leaf
    return resolve


def _tensor_at(layer, node_index, tensor_index, where, what):
    nodes = layer._inbound_nodes
    if not 0 <= node_index < len(nodes):
        raise GraphError(f"{where}{what} refers to node {node_index} of layer '{layer.name}', "
                         f"which has {len(nodes)} node(s)")
    outputs = nodes[node_index].outputs
    if not 0 <= tensor_index < len(outputs):
        raise GraphError(f"{where}{what} refers to output {tensor_index} of layer '{layer.name}', "
                         f"which has {len(outputs)} output(s)")
    return outputs[tensor_index]


def _is_input_layer(layer) -> bool:
    return type(layer).__name__ == "InputLayer"


def _uses_keras2_nodes(layer_entries: list, default: bool) -> bool:
    for entry in layer_entries:
        nodes = entry.get("inbound_nodes") if isinstance(entry, dict) else None
        if isinstance(nodes, list) and nodes:
            return isinstance(nodes[0], list)
    return default


def _keras2_construction_offsets(layer_entries: list) -> dict:
    """Keras 2 nested models own a node 0 made at construction; their calls start at node 1."""
    offsets = {}
    for entry in layer_entries:
        if not isinstance(entry, dict):
            continue
        class_name, config = entry.get("class_name"), entry.get("config")
        if class_name in ("Functional", "Model"):
            offsets[_entry_name(entry)] = 1
        elif class_name == "Sequential" and _keras2_sequential_has_input(config):
            offsets[_entry_name(entry)] = 1
    return offsets


def _keras2_sequential_has_input(config) -> bool:
    layers = config.get("layers") if isinstance(config, dict) else config
    if not isinstance(layers, list) or not layers or not isinstance(layers[0], dict):
        return False
    first = layers[0]
    first_config = first.get("config") if isinstance(first.get("config"), dict) else {}
    return first.get("class_name") == "InputLayer" or "batch_input_shape" in first_config


def _endpoint_offset(layer, keras2: bool, keras2_offset: int) -> int:
    if keras2:
        return keras2_offset
    return getattr(layer, "_keras3_endpoint_offset", 0)


def _parse_endpoint(ref_list, where, what) -> TensorRef:
    if (isinstance(ref_list, list) and len(ref_list) >= 3 and isinstance(ref_list[0], str)
            and _is_index(ref_list[1]) and _is_index(ref_list[2])):
        return TensorRef(ref_list[0], ref_list[1], ref_list[2])
    raise ConfigError(f"{where}{what}: expected [layer_name, node_index, tensor_index], got {ref_list!r}")


def _map_endpoints(structure, endpoint, what, where):
    """Keras 3 writes one endpoint flat, several as a list, named ones as a dict; Keras 2 always a
    list. A leaf is a list of length 3 whose first item is a string."""
    if structure is None:
        raise ConfigError(f"{where}config has no '{what}'")
    if isinstance(structure, dict):
        return {key: endpoint(value, what) for key, value in structure.items()}
    if isinstance(structure, list) and structure and isinstance(structure[0], str):
        return endpoint(structure, what)
    if isinstance(structure, list) and structure:
        tensors = [endpoint(value, what) for value in structure]
        return tensors
    raise ConfigError(f"{where}'{what}' must name at least one layer, got {structure!r}")


def _single(structure):
    return structure[0] if isinstance(structure, list) and len(structure) == 1 else structure


def _is_index(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _parse_node(node, keras2_dialect, offsets, where, name):
    """One `inbound_nodes` item -> (args tuple, kwargs dict) with TensorRefs in place of tensors."""
    if isinstance(node, dict):
        args, kwargs = node.get("args", []), node.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ConfigError(f"{where}layer '{name}': a node needs an 'args' list and 'kwargs' mapping")
        return tuple(_decode_keras3(arg, where, name) for arg in args), _decode_keras3(kwargs, where, name)
    if isinstance(node, list):
        return _parse_keras2_node(node, offsets, where, name)
    raise ConfigError(f"{where}layer '{name}': cannot read inbound node {node!r}")


def _decode_keras3(value, where, name):
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            history = value.get("config", {}).get("keras_history") if isinstance(
                value.get("config"), dict) else None
            ref = _parse_endpoint(history, where, f"layer '{name}' inbound node")
            return ref
        return {key: _decode_keras3(item, where, name) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode_keras3(item, where, name) for item in value]
    return value


def _parse_keras2_node(node: list, offsets: dict, where: str, name: str):
    """`[[name, node_index, tensor_index, kwargs], ...]`, one entry per tensor of the first argument."""
    entries = [node] if node and isinstance(node[0], str) else node
    tensors, kwargs = [], {}
    for entry in entries:
        if not isinstance(entry, list) or len(entry) not in (3, 4) or not isinstance(entry[0], str):
            raise ConfigError(f"{where}layer '{name}': bad inbound node entry {entry!r}")
        if entry[0] == "_CONSTANT_VALUE":
            tensors.append(entry[2])
        else:
            ref = _parse_endpoint(entry[:3], where, f"layer '{name}' inbound node")
            tensors.append(_keras2_ref(ref, offsets))
        if len(entry) == 4:
            if not isinstance(entry[3], dict):
                raise ConfigError(f"{where}layer '{name}': node kwargs must be a mapping")
            kwargs.update({key: _decode_keras2_kwarg(value, offsets) for key, value in entry[3].items()})
    if not tensors:
        raise ConfigError(f"{where}layer '{name}': an inbound node lists no input")
    first = tensors[0] if len(tensors) == 1 else tensors
    return (first,), kwargs


def _keras2_ref(ref: TensorRef, offsets: dict) -> TensorRef:
    offset = offsets.get(ref.layer_name, 0)
    return TensorRef(ref.layer_name, ref.node_index - offset, ref.tensor_index)


def _decode_keras2_kwarg(value, offsets):
    """A `[name, node_index, tensor_index]` reference, or a list of them (initial_state)."""
    if (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and _is_index(value[1]) and _is_index(value[2])):
        return _keras2_ref(TensorRef(*value), offsets)
    if isinstance(value, list) and value and all(isinstance(item, list) for item in value):
        return [_decode_keras2_kwarg(item, offsets) for item in value]
    return value


__all__ = ["functional_get_config", "functional_from_config", "shape_to_list"]
