"""Find every node and layer between a model's inputs and outputs, iteratively.

Follows Keras's `map_graph`: a depth-first walk back from the outputs (here with an explicit stack,
so 100,000 chained layers need no recursion), node depths counted from the outputs, layers ordered
by decreasing depth with ties broken by first visit. Linear in the number of nodes.
"""

from collections import defaultdict
from dataclasses import dataclass

from ..errors import GraphError
from .node import Node
from .tensor import SymbolicTensor


@dataclass
class GraphMap:
    layers: list            # every layer, by decreasing depth (InputLayers first)
    nodes_in_order: list    # every non-input node, by decreasing depth: a valid execution order
    network_nodes: set      # every node that belongs to the model, input nodes included


def map_graph(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]) -> GraphMap:
    """Walk back from `outputs` to `inputs`; raise GraphError on cycles or disconnected tensors."""
    input_ids = {id(tensor) for tensor in inputs}
    nodes_post_order, layer_first_visit = _depth_first_nodes(input_ids, outputs)

    node_depths: dict[Node, int] = {}
    layer_depths: dict[object, int] = {}
    for node in reversed(nodes_post_order):
        depth = max(node_depths.get(node, 0), layer_depths.get(node.layer, 0))
        layer_depths[node.layer] = depth
        node_depths[node] = depth
        for parent in node.parent_nodes:
            node_depths[parent] = max(depth + 1, node_depths.get(parent, 0))

    for tensor in inputs:
        layer = tensor._keras_history.layer
        if layer not in layer_depths:  # an input no output depends on: still part of the model
            layer_depths[layer] = 0
            layer_first_visit[layer] = -1
            node_depths[layer._inbound_nodes[0]] = 0

    nodes_by_depth = defaultdict(list)
    for node, depth in node_depths.items():
        nodes_by_depth[depth].append(node)
    ordered_nodes = [node for depth in sorted(nodes_by_depth, reverse=True)
                     for node in nodes_by_depth[depth]]
    _check_connected(ordered_nodes, input_ids)

    layers_by_depth = defaultdict(list)
    for layer, depth in layer_depths.items():
        layers_by_depth[depth].append(layer)
    layers = []
    for depth in sorted(layers_by_depth, reverse=True):
        layers.extend(sorted(layers_by_depth[depth], key=layer_first_visit.__getitem__))
    _check_unique_names(layers)

    return GraphMap(
        layers=layers,
        nodes_in_order=[node for node in ordered_nodes if not node.is_input],
        network_nodes=set(node_depths),
    )


def _depth_first_nodes(input_ids: set, outputs: list) -> tuple[list, dict]:
    """Nodes in depth-first post-order from the outputs, and each layer's first-visit index."""
    finished: set = set()
    in_progress: set = set()
    post_order: list[Node] = []
    layer_first_visit: dict = {}

    def enter(tensor):
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            raise GraphError(f"{tensor!r} was not produced by a layer: model inputs must come "
                             f"from Input() and outputs from layer calls")
        node = history.layer._inbound_nodes[history.node_index]
        if node in finished:
            return None
        if node in in_progress:
            raise GraphError(f"the graph has a cycle through layer '{node.layer.name}'")
        layer_first_visit.setdefault(node.layer, len(layer_first_visit))
        in_progress.add(node)
        parents = () if id(tensor) in input_ids else node.input_tensors
        return node, iter(parents)

    for output in outputs:
        frame = enter(output)
        stack = [frame] if frame else []
        while stack:
            node, parents = stack[-1]
            parent_tensor = next(parents, None)
            if parent_tensor is None:
                stack.pop()
                in_progress.discard(node)
                finished.add(node)
                post_order.append(node)
            else:
                frame = enter(parent_tensor)
                if frame:
                    stack.append(frame)
    return post_order, layer_first_visit


def _check_connected(ordered_nodes: list, input_ids: set) -> None:
    computable = set(input_ids)
    for node in ordered_nodes:
        if node.is_input and not any(id(tensor) in computable for tensor in node.outputs):
            raise GraphError(
                f"graph disconnected: input layer '{node.layer.name}' feeds the outputs but is "
                f"not one of the model's inputs"
            )
        for tensor in node.input_tensors:
            if id(tensor) not in computable:
                raise GraphError(f"graph disconnected: layer '{node.layer.name}' needs {tensor!r}, "
                                 f"which cannot be computed from the model's inputs")
        computable.update(id(tensor) for tensor in node.outputs)


def _check_unique_names(layers: list) -> None:
    seen = set()
    for layer in layers:
        if layer.name in seen:
            raise GraphError(f"the name '{layer.name}' is used by more than one layer in the model; "
                             f"layer names must be unique")
        seen.add(layer.name)
