"""Layer weights: a named numpy array plus whether training would update it."""

import numpy as np

from ..errors import WeightMismatchError


class Weight:
    """One weight of a layer. `path` is `<layer name>/<weight name>`, as Keras 3 names variables."""

    __slots__ = ("name", "layer_name", "value", "trainable")

    def __init__(self, name: str, value: np.ndarray, layer_name: str, trainable: bool = True):
        self.name = name
        self.layer_name = layer_name
        self.value = value
        self.trainable = trainable

    @property
    def path(self) -> str:
        return f"{self.layer_name}/{self.name}"

    @property
    def shape(self) -> tuple:
        return self.value.shape

    @property
    def dtype(self) -> str:
        return self.value.dtype.name

    def numpy(self) -> np.ndarray:
        return self.value

    def assign(self, value, copy: bool = True) -> None:
        """Replace the value; the shape must match exactly, the dtype is cast to the weight's.
        `copy=False` adopts `value` itself when it already has the right dtype (for arrays a
        loader has just read and owns)."""
        array = np.asarray(value)
        if array.shape != self.value.shape:
            raise WeightMismatchError(
                f"layer '{self.layer_name}': weight '{self.name}' expects shape "
                f"{self.value.shape}, got {array.shape}"
            )
        self.value = array.astype(self.value.dtype, copy=copy)

    def __repr__(self) -> str:
        return f"<Weight {self.path} shape={self.shape} dtype={self.dtype}>"
