"""The functional-graph core: symbolic tensors, nodes, layers and models."""

from .dialect import keras2_semantics
from .functional import Functional, Model
from .input_layer import Input, InputLayer
from .layer import Layer
from .naming import clear_session
from .node import Node
from .registry import LAYER_CLASSES, register_layer
from .sequential import Sequential
from .tensor import KerasTensor, SymbolicTensor

__all__ = [
    "Functional", "Input", "InputLayer", "KerasTensor", "LAYER_CLASSES", "Layer", "Model", "Node",
    "Sequential", "SymbolicTensor", "clear_session", "keras2_semantics", "register_layer",
]
