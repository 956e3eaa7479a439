"""Symbolic tensors: a shape, a dtype and the history of the layer call that made them."""

from typing import NamedTuple


class KerasHistory(NamedTuple):
    """Where a symbolic tensor came from: `layer._inbound_nodes[node_index].outputs[tensor_index]`."""

    layer: object
    node_index: int
    tensor_index: int


class SymbolicTensor:
    """A placeholder for an array flowing through a model being defined.

    `shape` is a tuple whose first entry is the batch dimension (None when free), `dtype` a
    numpy dtype name, and `_keras_history` the (layer, node_index, tensor_index) that produced it.
    """

    __slots__ = ("shape", "dtype", "name", "_keras_history", "_keras_mask")

    def __init__(self, shape, dtype: str = "float32", name: str | None = None):
        self.shape = tuple(None if dim is None else int(dim) for dim in shape)
        self.dtype = str(dtype)
        self.name = name
        self._keras_history: KerasHistory | None = None
        # The symbolic mask that travels with this tensor (Keras 3 makes masks graph edges).
        self._keras_mask: SymbolicTensor | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def keras_history(self) -> KerasHistory | None:
        return self._keras_history

    def __repr__(self) -> str:
        source = ""
        if self._keras_history is not None:
            layer, node_index, tensor_index = self._keras_history
            source = f", from={layer.name}[{node_index}][{tensor_index}]"
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}{source}>"

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other) -> bool:
        return self is other

    def __bool__(self) -> bool:
        return True


KerasTensor = SymbolicTensor
