"""A Node records one call of a layer: what went in, what came out."""

from .tensor import KerasHistory, SymbolicTensor
from .tree import flatten


class Node:
    """One call of `layer` on symbolic tensors.

    `call_args`/`call_kwargs` keep the exact argument structure (tensors in place), so the call can
    be replayed with arrays and serialized. Creating a Node appends it to `layer._inbound_nodes` and
    stamps each output tensor's history with (layer, node_index, tensor_index).
    """

    __slots__ = ("layer", "call_args", "call_kwargs", "input_tensors", "outputs", "output_structure")

    def __init__(self, layer, call_args: tuple, call_kwargs: dict, outputs):
        self.layer = layer
        self.call_args = tuple(call_args)
        self.call_kwargs = dict(call_kwargs)
        self.input_tensors = [
            value for value in flatten((self.call_args, self.call_kwargs))
            if isinstance(value, SymbolicTensor)
        ]
        self.output_structure = outputs
        self.outputs = flatten(outputs)
        node_index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for tensor_index, tensor in enumerate(self.outputs):
            tensor._keras_history = KerasHistory(layer, node_index, tensor_index)

    @property
    def is_input(self) -> bool:
        return not self.input_tensors

    @property
    def node_index(self) -> int:
        return self.layer._inbound_nodes.index(self)

    @property
    def inbound_layers(self) -> list:
        return [tensor._keras_history.layer for tensor in self.input_tensors]

    @property
    def node_indices(self) -> list[int]:
        return [tensor._keras_history.node_index for tensor in self.input_tensors]

    @property
    def tensor_indices(self) -> list[int]:
        return [tensor._keras_history.tensor_index for tensor in self.input_tensors]

    @property
    def parent_nodes(self) -> list["Node"]:
        return [history_node(tensor._keras_history) for tensor in self.input_tensors]

    def __repr__(self) -> str:
        inbound = ", ".join(layer.name for layer in self.inbound_layers)
        return f"<Node {self.layer.name} <- [{inbound}]>"


def history_node(history: KerasHistory) -> Node:
    return history.layer._inbound_nodes[history.node_index]
