"""`diff_models`: how two models differ, layer by layer — architecture first, then weights.

Layers are matched by name (a nested model's layers as `outer/inner`). For each pair: class,
config, connectivity (which layer output feeds each call) and every weight (shape, dtype, largest
absolute difference). An empty list means the two models are the same.
"""

from dataclasses import dataclass

import numpy as np

from .graph.functional import Functional

REPR_LIMIT = 60


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


ABSENT = _Absent()


@dataclass(frozen=True)
class Difference:
    """One difference. `kind` is one of: model, added, removed, class, config, connectivity,
    weights, weight; `layer` is the layer's path ('' for the model itself)."""

    kind: str
    layer: str
    detail: str

    def __str__(self) -> str:
        return f"{self.layer}: {self.detail}" if self.layer else self.detail


def diff_models(a, b, atol: float = 0.0) -> list[Difference]:
    """Differences between models `a` and `b` (empty when they are equal). Weights count as equal
    when no element differs by more than `atol` (default 0: identical values)."""
    differences = _model_differences(a, b)
    layers_a, layers_b = _layer_table(a), _layer_table(b)
    for path in layers_a:
        if path not in layers_b:
            differences.append(Difference("removed", path, f"removed ({_class(layers_a[path][0])})"))
    for path in layers_b:
        if path not in layers_a:
            differences.append(Difference("added", path, f"added ({_class(layers_b[path][0])})"))
    for path, (layer_a, model_a) in layers_a.items():
        if path in layers_b:
            layer_b, model_b = layers_b[path]
            differences += _layer_differences(path, layer_a, model_a, layer_b, model_b, atol)
    return differences


def _model_differences(a, b) -> list[Difference]:
    differences = []
    for what, value_a, value_b in (("model class", type(a).__name__, type(b).__name__),
                                   ("model name", a.name, b.name),
                                   ("inputs", a.input_names, b.input_names),
                                   ("outputs", a.output_names, b.output_names)):
        if value_a != value_b:
            differences.append(Difference("model", "", f"{what}: {value_a!r} -> {value_b!r}"))
    return differences


def _layer_table(model, prefix: str = "") -> dict[str, tuple]:
    """`{path: (layer, the model it belongs to)}` for every layer, nested models expanded."""
    table = {}
    pending = [(model, prefix)]
    while pending:
        current, where = pending.pop(0)
        for layer in getattr(current, "operations", None) or current.layers:
            path = where + layer.name
            if path in table:
                continue
            table[path] = (layer, current)
            if _is_model(layer):
                pending.append((layer, path + "/"))
    return table


def _layer_differences(path, layer_a, model_a, layer_b, model_b, atol) -> list[Difference]:
    if type(layer_a).__name__ != type(layer_b).__name__:
        return [Difference("class", path, f"class {_class(layer_a)} -> {_class(layer_b)}")]
    differences = []
    if not _is_model(layer_a):  # a nested model's contents are compared layer by layer
        differences += _config_differences(path, layer_a.get_config(), layer_b.get_config())
    inbound_a, inbound_b = _inbound(model_a, layer_a), _inbound(model_b, layer_b)
    if inbound_a != inbound_b:
        differences.append(Difference("connectivity", path, f"inputs {_calls_text(inbound_a)} -> "
                                                            f"{_calls_text(inbound_b)}"))
    if not _is_model(layer_a):
        differences += _weight_differences(path, layer_a.weights, layer_b.weights, atol)
    return differences


def _config_differences(path: str, config_a: dict, config_b: dict) -> list[Difference]:
    return [Difference("config", path, f"config '{key}': {_short(value_a)} -> {_short(value_b)}")
            for key, value_a, value_b in _changed_entries(config_a, config_b)]


def _changed_entries(config_a: dict, config_b: dict, prefix: str = "") -> list[tuple]:
    """`(dotted key, value in a, value in b)` for every leaf that differs, nested dicts entered."""
    changed = []
    for key in list(config_a) + [key for key in config_b if key not in config_a]:
        value_a, value_b = config_a.get(key, ABSENT), config_b.get(key, ABSENT)
        if isinstance(value_a, dict) and isinstance(value_b, dict):
            changed += _changed_entries(value_a, value_b, f"{prefix}{key}.")
        elif _normalized(value_a) != _normalized(value_b):
            changed.append((f"{prefix}{key}", value_a, value_b))
    return changed


def _weight_differences(path: str, weights_a: list, weights_b: list, atol: float) -> list[Difference]:
    if len(weights_a) != len(weights_b):
        return [Difference("weights", path, f"{len(weights_a)} weight(s) -> {len(weights_b)} "
                                            f"({_names(weights_a)} -> {_names(weights_b)})")]
    differences = []
    for weight_a, weight_b in zip(weights_a, weights_b):
        name = weight_a.name if weight_a.name == weight_b.name else f"{weight_a.name}/{weight_b.name}"
        value_a, value_b = np.asarray(weight_a.value), np.asarray(weight_b.value)
        if value_a.shape != value_b.shape:
            differences.append(Difference("weight", path, f"weight '{name}': shape {value_a.shape} "
                                                          f"-> {value_b.shape}"))
            continue
        if value_a.dtype != value_b.dtype:
            differences.append(Difference("weight", path, f"weight '{name}': dtype {value_a.dtype} "
                                                          f"-> {value_b.dtype}"))
        largest = _largest_difference(value_a, value_b)
        if largest > atol or np.isnan(largest):
            differences.append(Difference("weight", path, f"weight '{name}': max |a - b| = "
                                                          f"{largest:.3g}"))
    return differences


def _largest_difference(value_a: np.ndarray, value_b: np.ndarray) -> float:
    if value_a.size == 0 or np.array_equal(value_a, value_b, equal_nan=value_a.dtype.kind in "fc"):
        return 0.0
    if value_a.dtype.kind not in "biufc" or value_b.dtype.kind not in "biufc":
        return float("inf")
    return float(np.max(np.abs(value_a.astype(np.float64) - value_b.astype(np.float64))))


def _inbound(model, layer) -> list[list[tuple]]:
    """Per call of `layer` in `model`: (source layer, which of its calls, which output) per input.
    Calls are numbered among those inside `model`, so files that number nodes differently agree."""
    network = model.network_nodes
    calls = []
    for node in layer.inbound_nodes:
        if node not in network:
            continue
        sources = []
        for tensor in node.input_tensors:
            history = tensor.keras_history
            own_nodes = [each for each in history.layer.inbound_nodes if each in network]
            source_node = history.layer.inbound_nodes[history.node_index]
            position = own_nodes.index(source_node) if source_node in own_nodes else -1
            sources.append((history.layer.name, position, history.tensor_index))
        calls.append(sources)
    return calls


def _calls_text(calls: list[list[tuple]]) -> str:
    return "; ".join(", ".join(f"{name}[{node}][{index}]" for name, node, index in call) or "-"
                     for call in calls) or "-"


def _normalized(value):
    """Tuples and lists compare equal, as JSON and YAML round trips turn one into the other."""
    if isinstance(value, (list, tuple)):
        return [_normalized(item) for item in value]
    if isinstance(value, dict):
        return {key: _normalized(item) for key, item in value.items()}
    return value


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= REPR_LIMIT else text[:REPR_LIMIT - 3] + "..."


def _names(weights: list) -> str:
    return ", ".join(weight.name for weight in weights) or "none"


def _class(layer) -> str:
    return type(layer).__name__


def _is_model(layer) -> bool:
    return isinstance(layer, Functional)
