"""What an ONNX converter works with: the `ImportContext` of one import (the values computed so
far, attribute and input readers, a layer name maker, the budget of folded constants), and
`ConstantInputNeeded`, raised when an op needs a graph input as a constant."""

import math
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


# Constants folded while importing (ConstantOfShape, Expand, Range, arithmetic on constants...)
# are budgeted in bytes, so that a few hundred bytes of graph cannot take gigabytes. One folded
# constant may take MIN_FOLD_BYTES_PER_CONSTANT, all of an import's together MIN_FOLD_BYTES_TOTAL,
# or, for larger models, FOLD_BYTES_PER_STORED_BYTE times the bytes the model stores (its
# file and external data): a real model folds shape arithmetic (bytes), masks and position
# tables (megabytes) and at most a widened copy of its weights (float16 -> float32 doubles
# them), which 4x its size and these minimums leave room for.
MIN_FOLD_BYTES_PER_CONSTANT = 256 * 2**20
MIN_FOLD_BYTES_TOTAL = 2**30
FOLD_BYTES_PER_STORED_BYTE = 4


class FoldBudget:
    """The bytes constants folded during one import may take: `per_constant` for each, `total`
    for all of them together (`spent` so far)."""

    def __init__(self, stored_bytes: int = 0):
        """The budget of a model storing `stored_bytes` (its file and external data)."""
        scaled = FOLD_BYTES_PER_STORED_BYTE * stored_bytes
        self.per_constant = max(MIN_FOLD_BYTES_PER_CONSTANT, scaled)
        self.total = max(MIN_FOLD_BYTES_TOTAL, scaled)
        self.spent = 0

    def check(self, where: str, shape, dtype) -> None:
        """Refuse (a FormatError starting with `where`) a constant of `shape` and `dtype` that
        would not fit: call it before allocating the constant."""
        dims = tuple(int(dim) for dim in shape)
        size = math.prod(dims) * np.dtype(dtype).itemsize
        if size > self.per_constant:
            raise FormatError(f"{where}: folding it would build a constant of shape {dims} "
                              f"({size} bytes of {np.dtype(dtype).name}); one folded constant "
                              f"may take at most {self.per_constant} bytes")
        if self.spent + size > self.total:
            raise FormatError(f"{where}: folding it would bring the constants folded by this "
                              f"import to {self.spent + size} bytes, past its budget of "
                              f"{self.total} bytes")

    def charge(self, where: str, array: np.ndarray) -> None:
        """Count the new constant `array` (checked as `check` does)."""
        self.check(where, array.shape, array.dtype)
        self.spent += array.nbytes


class ImportContext:
    """What a converter sees: the opset, the values computed so far (SymbolicTensors or numpy
    constants, by ONNX name), helpers to read attributes and inputs, and a name maker."""

    def __init__(self, opset: int, source: str, fold_budget: FoldBudget | None = None):
        self.fold_budget = fold_budget or FoldBudget()
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
        # Sizes ONNX's shape inference knows for each value (import_support/sizes.py), and the
        # graph inputs of unknown size each value depends on.
        self.inferred: dict[str, tuple] = {}
        self.dynamic_sources: dict[str, set] = {}

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
