"""What the graph passes ask of a node list: who makes and who reads each value, a node's
attributes, the value names in use, the static shapes; and the constants a pass rewrites."""

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..builder import tensor_header
from ..names import UniqueNames


def producers_and_uses(nodes, protected) -> tuple[dict, dict]:
    """(value name -> the node making it, value name -> how many inputs and outputs read it);
    `protected` names (the graph outputs) count as read once more."""
    producer = {output: node for node in nodes for output in node.output}
    uses: dict[str, int] = {}
    for node in nodes:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    for name in protected:
        uses[name] = uses.get(name, 0) + 1
    return producer, uses


def value_readers(nodes) -> dict[str, list]:
    """Value name -> the nodes that read it."""
    readers: dict[str, list] = {}
    for node in nodes:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    return readers


def names_read(nodes) -> set:
    """Every value name the nodes read, including inside their subgraphs (a Scan or Loop body
    reads outer-scope weights by name)."""
    names = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        names.update(node.input)
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                stack.extend(attribute.g.node)
            elif attribute.type == onnx.AttributeProto.GRAPHS:
                for graph in attribute.graphs:
                    stack.extend(graph.node)
    return names


def unique_names(nodes, constant_names) -> UniqueNames:
    """A name maker that avoids every value the nodes read or write and every constant's name."""
    used = {name for node in nodes for name in (*node.input, *node.output)}
    used.update(constant_names)
    return UniqueNames(used)


def follow_renames(rename: dict, name: str) -> str:
    """`name` after following `rename` (old name -> new name) to its end."""
    while name in rename:
        name = rename[name]
    return name


def attribute_value(node, name: str, default=None):
    """The value of `node`'s attribute `name` (strings come as bytes), or `default`."""
    for entry in node.attribute:
        if entry.name == name:
            return helper.get_attribute_value(entry)
    return default


def text_attribute(node, name: str, default: str) -> str:
    """A string attribute of `node` as text, or `default`."""
    value = attribute_value(node, name, default)
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def transpose_perm(node) -> list | None:
    """The explicit perm of a Transpose (a missing one, the reversal, gives None: left alone)."""
    for entry in node.attribute:
        if entry.name == "perm":
            return list(entry.ints)
    return None


class WorkingConstants:
    """The constants a pass rewrites, as `arrays` (name -> numpy array). A dict is worked on in
    place, so a rewritten weight never exists twice; a list of TensorProtos is read into arrays
    and `kept` gives TensorProtos back."""

    def __init__(self, nodes, initializers):
        if isinstance(initializers, dict):
            self.arrays, self._as_protos = initializers, False
        else:
            self.arrays = {tensor.name: numpy_helper.to_array(tensor) for tensor in initializers}
            self._as_protos = True
        self._original = set(self.arrays)
        self._read_before = {name for node in nodes for name in node.input}

    def kept(self, nodes):
        """The constants still read by `nodes` (plus originals nobody read from the start), in
        the form they were given."""
        read = {name for node in nodes for name in node.input}
        for name in [name for name in self.arrays
                     if name not in read
                     and not (name in self._original and name not in self._read_before)]:
            del self.arrays[name]
        if self._as_protos:
            return [numpy_helper.from_array(array, name) for name, array in self.arrays.items()]
        return self.arrays


def static_shapes(nodes, constants: dict, inputs, opset: int) -> dict:
    """Value name -> list of dims (None where unknown) by ONNX shape inference on the graph
    without its weights; also ("constant", name) -> values of small int64 constants and
    ("type", name) -> the ONNX element type of each inferred value."""
    light = []
    shapes: dict = {}
    for name, array in constants.items():
        if array.dtype == np.int64 and array.size <= 128:
            light.append(numpy_helper.from_array(array, name))
            shapes[("constant", name)] = [int(v) for v in array.reshape(-1)]
        else:
            light.append(tensor_header(name, array))
    graph = helper.make_graph(nodes, "shapes", inputs, [], light)
    try:
        inferred = onnx.shape_inference.infer_shapes(
            helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]))
    except Exception:  # inference is an optimisation aid only
        return shapes
    for info in [*inferred.graph.value_info, *inputs]:
        shapes[("type", info.name)] = info.type.tensor_type.elem_type
        if info.type.tensor_type.HasField("shape"):
            shapes[info.name] = [dim.dim_value if dim.HasField("dim_value") else None
                                 for dim in info.type.tensor_type.shape.dim]
    return shapes
