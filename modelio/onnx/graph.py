"""An ONNX graph under construction: unique names, nodes, initializers, and the opset in use."""

import numpy as np
import onnx
from onnx import helper, numpy_helper

# Arrays this large are kept out of protobuf until the export knows where they go.
DEFERRED_BYTES = 64 * 2**20


def _write_array(handle, array: np.ndarray, chunk_rows: int = 1024) -> int:
    """Write `array` in C order, a block of rows at a time (broadcast views never materialize)."""
    rows = array.reshape(array.shape[0], -1) if array.ndim > 1 else array.reshape(-1, 1)
    for start in range(0, rows.shape[0], chunk_rows):
        handle.write(np.ascontiguousarray(rows[start:start + chunk_rows]).tobytes())
    return array.nbytes


class OnnxGraph:
    """Collects nodes and initializers while a model is lowered; `opset` guides op choices."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._used: set[str] = set()
        self._weight_names: dict[int, str] = {}
        self.deferred: dict[str, np.ndarray] = {}

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
        """An initializer holding `value` (weights keep their layer's name in `hint`). Large arrays
        stay numpy arrays behind a data-less TensorProto until `finish_initializers` (protobuf
        cannot hold a tensor over 2 GiB, and copying them twice would double the memory)."""
        array = np.asarray(value, dtype=dtype)
        name = self.fresh(hint)
        if array.nbytes >= DEFERRED_BYTES:
            tensor = onnx.TensorProto(name=name, dims=array.shape,
                                      data_type=helper.np_dtype_to_tensor_dtype(array.dtype))
            self.deferred[name] = array
        else:
            tensor = numpy_helper.from_array(np.ascontiguousarray(array), name)
        self.initializers.append(tensor)
        return name

    def initializer_bytes(self) -> int:
        return (sum(len(tensor.raw_data) for tensor in self.initializers)
                + sum(array.nbytes for array in self.deferred.values()))

    def finish_initializers(self, data_path=None, location: str | None = None) -> None:
        """Give every initializer its data: inline, or (with `data_path`) appended to that file
        chunk by chunk and referenced as ONNX external data under `location`."""
        if data_path is None:
            for tensor in self.initializers:
                if tensor.name in self.deferred:
                    tensor.raw_data = np.ascontiguousarray(self.deferred[tensor.name]).tobytes()
            return
        offset = 0
        with open(data_path, "wb") as data_file:
            for tensor in self.initializers:
                array = self.deferred.get(tensor.name)
                if array is None:
                    if len(tensor.raw_data) < 1024:
                        continue
                    payload_size = len(tensor.raw_data)
                    data_file.write(tensor.raw_data)
                    tensor.ClearField("raw_data")
                else:
                    payload_size = _write_array(data_file, array)
                tensor.data_location = onnx.TensorProto.EXTERNAL
                del tensor.external_data[:]
                for key, value in (("location", location), ("offset", str(offset)),
                                   ("length", str(payload_size))):
                    entry = tensor.external_data.add()
                    entry.key, entry.value = key, value
                offset += payload_size
                padding = (-offset) % 4096  # keep each tensor page-aligned, as onnx does
                data_file.write(b"\0" * padding)
                offset += padding

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
