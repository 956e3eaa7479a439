"""An ONNX graph under construction: unique names, nodes, initializers, and the opset in use."""

import numpy as np
import onnx
from onnx import helper, numpy_helper


class OnnxGraph:
    """Collects nodes and initializers while a model is lowered; `opset` guides op choices."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._used: set[str] = set()
        self._weight_names: dict[int, str] = {}

    def fresh(self, hint: str) -> str:
        """A name not used yet, based on `hint` (layer names make the graph readable)."""
        name, index = hint, 1
        while name in self._used:
            name, index = f"{hint}_{index}", index + 1
        self._used.add(name)
        return name

    def reserve(self, name: str) -> str:
        self._used.add(name)
        return name

    def constant(self, value, hint: str, dtype=None) -> str:
        """An initializer holding `value` (weights keep their layer's name in `hint`)."""
        array = np.asarray(value, dtype=dtype)
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def weight(self, weight, value=None) -> str:
        """The initializer of a layer weight (named by its path), created once per weight even
        when a shared layer or nested model is lowered several times. `value` overrides the
        stored array (for weights a lowering rearranges)."""
        key = id(weight) if value is None else (id(weight), id(value))
        if key not in self._weight_names:
            array = weight.value if value is None else value
            self._weight_names[key] = self.constant(array, weight.path)
        return self._weight_names[key]

    def ints(self, values, hint: str) -> str:
        return self.constant(np.asarray(values, dtype=np.int64), hint)

    def node(self, op_type: str, inputs: list[str], hint: str, outputs: int = 1, **attributes):
        """Add a node; returns its output name (or a list of names when `outputs` > 1)."""
        names = [self.fresh(f"{hint}/{op_type}" if outputs == 1 else f"{hint}/{op_type}_{i}")
                 for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, name=self.fresh(f"{hint}/{op_type}_node"),
                                           **attributes))
        return names[0] if outputs == 1 else names
