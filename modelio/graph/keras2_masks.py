"""Masks in the Keras 2 dialect: tf-keras passes a tensor's mask implicitly, Keras 3 writes it.

Keras 3 (and modelio) record the mask a layer receives from its input as an explicit `mask=`
(MultiHeadAttention: `query_mask=`, `value_mask=`, `key_mask=`) call argument, computed by
operations in the graph (the `NotEqual` of an `Embedding(mask_zero=True)`). tf-keras's configs
hold neither: tf-keras's layers compute the same masks and pass them on themselves. So the Keras 2
document leaves out the mask arguments that are exactly the implicit ones, and the operations
that only computed them (`implicit_masks` finds them on the model, `without_implicit_masks`
removes them from a Keras 3 functional config).
"""

from __future__ import annotations

from .tensor import SymbolicTensor
from .tree import flatten

MASK_ARGUMENTS = ("mask", "query_mask", "value_mask", "key_mask")


def implicit_masks(model) -> frozenset:
    """`{(model name, layer name, node position, argument)}`: the mask call arguments of `model`
    (and of the functional models nested in it) that are the masks Keras passes implicitly;
    `node position` counts the layer's calls in that model, as its config's `inbound_nodes` do."""
    found = set()
    for layer in getattr(model, "_operations", ()):
        if hasattr(layer, "_network_nodes") and hasattr(layer, "_operations"):
            found |= implicit_masks(layer)
        nodes = [node for node in layer._inbound_nodes
                 if node in model._network_nodes and not node.is_input]
        for position, node in enumerate(nodes):
            found |= {(model.name, layer.name, position, key) for key in _implicit_keys(node)}
    return frozenset(found)


def _implicit_keys(node) -> list:
    given = {key: value for key, value in node.call_kwargs.items()
             if key in MASK_ARGUMENTS and any(isinstance(leaf, SymbolicTensor)
                                              for leaf in flatten(value))}
    if not given:
        return []
    others = {key: value for key, value in node.call_kwargs.items() if key not in given}
    implicit = node.layer._implicit_mask_kwargs(node.call_args, others)
    return [key for key, value in given.items() if key in implicit and _same(value, implicit[key])]


def _same(given, implicit) -> bool:
    given, implicit = flatten(given), flatten(implicit)
    return len(given) == len(implicit) and all(a is b for a, b in zip(given, implicit))


def without_implicit_masks(config: dict, masks: frozenset, is_operation) -> dict:
    """A Keras 3 functional `config` without the implicit mask arguments `masks` names, nor the
    operation entries (`is_operation(entry)`) left computing nothing but them."""
    name = config.get("name")
    layers = []
    for entry in config.get("layers", []):
        layer_name = entry.get("name") or (entry.get("config") or {}).get("name")
        nodes = [{**node, "kwargs": {key: value for key, value in node.get("kwargs", {}).items()
                                     if (name, layer_name, position, key) not in masks}}
                 if isinstance(node, dict) else node
                 for position, node in enumerate(entry.get("inbound_nodes", []))]
        layers.append({**entry, "inbound_nodes": nodes})
    while True:
        used = _referenced_layers(layers) | _endpoint_layers(config)
        kept = [entry for entry in layers if not is_operation(entry) or _name(entry) in used]
        if len(kept) == len(layers):
            return {**config, "layers": layers}
        layers = kept


def _name(entry: dict):
    return entry.get("name") or (entry.get("config") or {}).get("name")


def _referenced_layers(layers: list) -> set:
    names = set()

    def walk(value):
        if isinstance(value, dict):
            if value.get("class_name") == "__keras_tensor__":
                names.add(value["config"]["keras_history"][0])
            else:
                for item in value.values():
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for entry in layers:
        walk(entry.get("inbound_nodes", []))
    return names


def _endpoint_layers(config: dict) -> set:
    names = set()
    for key in ("input_layers", "output_layers"):
        structure = config.get(key)
        refs = structure.values() if isinstance(structure, dict) else structure or []
        if isinstance(structure, list) and structure and isinstance(structure[0], str):
            refs = [structure]
        names |= {ref[0] for ref in refs}
    return names
