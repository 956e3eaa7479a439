"""What an ONNX converter works with: the `ImportContext` of one import (the values computed so
far, attribute and input readers, a layer name maker), and `ConstantInputNeeded`, raised when an
op needs a graph input as a constant."""

from collections import Counter

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..errors import FormatError, UnsupportedError
from ..graph.tensor import SymbolicTensor
from .names import UniqueNames


class ConstantInputNeeded(UnsupportedError):
    """An op needs a graph input (a weight, pads, sizes) as a constant. `input_name` names it:
    `import_onnx(..., bind={name: array})` imports the graph with that input fixed, which is
    what modelio's ONNX backend does for each run."""

    def __init__(self, message: str, input_name: str):
        super().__init__(message)
        self.input_name = input_name


class ImportContext:
    """What a converter sees: the opset, the values computed so far (SymbolicTensors or numpy
    constants, by ONNX name), helpers to read attributes and inputs, and a name maker."""

    def __init__(self, opset: int, source: str):
        self.graph_inputs: set[str] = set()
        self.opset = opset
        self.source = source
        self.values: dict[str, SymbolicTensor | np.ndarray] = {}
        self._names = UniqueNames()
        # Outputs a converter does not produce (optional outputs modelio does not compute).
        self.unavailable: dict[str, str] = {}
        # Names of the graph's outputs: a converter keeps these run-time tensors when it could
        # fold them (a model output must be computed from the inputs).
        self.graph_outputs: set[str] = set()
        # How many node inputs and graph outputs read each value (a converter may fuse a node
        # into the layer that made its input only when nothing else reads that input).
        self.uses: Counter = Counter()

    # ----- inputs of a node -----
    def value(self, name: str):
        """The value of an ONNX input name ('' = omitted optional input: None)."""
        if name == "":
            return None
        if name not in self.values:
            if name in self.unavailable:
                raise UnsupportedError(f"{self.unavailable[name]}: output '{name}' is used, "
                                       f"but modelio does not compute it")
            raise FormatError(f"{self.source}: value '{name}' is used before it is produced "
                              f"(or never)")
        return self.values[name]

    def constant(self, node, index: int, required: bool = True):
        """Input `index` of `node` as a numpy array; a FormatError/UnsupportedError when it is a
        run-time tensor (the converter needs it fixed), None when omitted and not required."""
        if index >= len(node.input) or node.input[index] == "":
            if required:
                raise FormatError(f"{self.where(node)}: input {index} is missing")
            return None
        value = self.value(node.input[index])
        if isinstance(value, SymbolicTensor):
            message = (f"{self.where(node)}: input {index} ('{node.input[index]}') must be a "
                       f"constant for modelio to import this op")
            if node.input[index] in self.graph_inputs:
                raise ConstantInputNeeded(message, node.input[index])
            raise UnsupportedError(message)
        return value

    def tensor(self, node, index: int) -> SymbolicTensor:
        """Input `index` of `node` as a symbolic tensor (constants are refused here: a converter
        that accepts either asks `value` and decides)."""
        value = self.value(node.input[index]) if index < len(node.input) else None
        if not isinstance(value, SymbolicTensor):
            raise UnsupportedError(f"{self.where(node)}: input {index} must be a run-time tensor")
        return value

    @staticmethod
    def attribute(node, name: str, default=None):
        for attribute in node.attribute:
            if attribute.name == name:
                value = helper.get_attribute_value(attribute)
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                if isinstance(value, onnx.TensorProto):
                    value = numpy_helper.to_array(value)
                return value
        return default

    # ----- naming and errors -----
    def layer_name(self, node) -> str:
        """A unique, Keras-safe layer name from the node's name (or its first output)."""
        first_output = node.output[0] if len(node.output) else ""
        base = (node.name or first_output or node.op_type).replace("/", "_").replace(":", "_")
        return self._names.fresh(base.strip("_") or node.op_type.lower())

    def where(self, node) -> str:
        """The prefix of an error about `node`: the source, the node's name and its op."""
        first_output = node.output[0] if len(node.output) else ""
        return f"{self.source}: node '{node.name or first_output}' ({node.op_type})"
