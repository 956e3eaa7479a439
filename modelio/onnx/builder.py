"""An ONNX graph under construction: unique names, nodes, constants (numpy arrays until the
model is written), and the opset in use; plus the writers that stream those arrays to disk."""

import contextlib

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..graph.dtypes import is_float_dtype
from .names import UniqueNames


def _write_array(handle, array: np.ndarray, chunk_rows: int = 1024) -> int:
    """Write `array` in C order, a block of rows at a time (broadcast views never materialize)."""
    if array.flags.c_contiguous:
        handle.write(memoryview(array).cast("B"))
        return array.nbytes
    rows = array.reshape(array.shape[0], -1) if array.ndim > 1 else array.reshape(-1, 1)
    for start in range(0, rows.shape[0], chunk_rows):
        handle.write(np.ascontiguousarray(rows[start:start + chunk_rows]).tobytes())
    return array.nbytes


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            encoded.append(byte | 0x80)
        else:
            encoded.append(byte)
            return bytes(encoded)


# Protobuf keys (field number << 3 | length-delimited) of ModelProto.graph,
# GraphProto.initializer and TensorProto.raw_data.
_GRAPH_KEY, _INITIALIZER_KEY, _RAW_DATA_KEY = b"\x3a", b"\x2a", b"\x4a"


def tensor_header(name: str, array: np.ndarray) -> onnx.TensorProto:
    """A TensorProto with the name, type and dims of `array` but no data."""
    return onnx.TensorProto(name=name, dims=array.shape,
                            data_type=helper.np_dtype_to_tensor_dtype(array.dtype))


def write_model_streaming(handle, model: onnx.ModelProto, arrays: dict) -> None:
    """Write `model` (whose graph has no initializers) and then `arrays` as its initializers,
    without building the serialized weights in memory. Protobuf merges a message field that
    occurs twice, so the second `graph` record, holding only the initializers, is appended to
    the first by every ONNX reader."""
    handle.write(model.SerializeToString())
    records = []
    for name, array in arrays.items():
        header = tensor_header(name, array).SerializeToString()
        data_prefix = _RAW_DATA_KEY + _varint(array.nbytes)
        tensor_size = len(header) + len(data_prefix) + array.nbytes
        records.append((header + data_prefix, array, _INITIALIZER_KEY + _varint(tensor_size)))
    graph_size = sum(len(key) + len(prefix) + array.nbytes for prefix, array, key in records)
    handle.write(_GRAPH_KEY + _varint(graph_size))
    for prefix, array, key in records:
        handle.write(key)
        handle.write(prefix)
        if array.nbytes:
            _write_array(handle, array)


# The ONNX-ML domain (the lookups' LabelEncoder) and the version of it exported graphs import.
ML_DOMAIN = "ai.onnx.ml"
ML_OPSET = 3


class OnnxGraph:
    """Collects nodes and constants while a model is lowered; `opset` guides op choices.
    Constants stay numpy arrays (`self.constants`, name -> array) until the export writes them,
    so the clean-up passes work on arrays and no weight is held twice as protobuf."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.constants: dict[str, np.ndarray] = {}
        self._names = UniqueNames()
        self._weight_names: dict = {}
        self._float_weights = None  # (dtype lowerings compute in, dtype stored) or None

    @contextlib.contextmanager
    def float_weights(self, compute: str, stored: str | None = None):
        """Inside this block float weights (`weight`) are stored as `stored` (default
        `compute`) and reach the graph as `compute`, through a Cast when the two differ: the
        exporter's way to keep a float16 layer's weights float16 in the file, whether its
        lowering computes in float16 or in float32. With `stored` equal to `compute`, float
        constants (`constant`) are written in `compute` too."""
        previous, self._float_weights = self._float_weights, (compute, stored or compute)
        try:
            yield
        finally:
            self._float_weights = previous

    def fresh(self, hint: str) -> str:
        """A name not used yet, based on `hint` (layer names make the graph readable)."""
        return self._names.fresh(hint)

    def reserve(self, name: str) -> str:
        """Take `name` as it is (a graph input's name) and return it."""
        return self._names.reserve(name)

    def constant(self, value, hint: str, dtype=None) -> str:
        """An initializer holding `value` (weights keep their layer's name in `hint`). While a
        layer computing in a half dtype is lowered (`float_weights(dtype)`), float constants
        take that dtype: lowerings written for float32 then write a float16 graph."""
        name = self.fresh(hint)
        array = np.asarray(value, dtype=dtype)
        if self._float_weights is not None and array.dtype.kind == "f":
            compute, stored = self._float_weights
            if compute == stored and array.dtype != np.dtype(compute):
                array = array.astype(compute)  # a half-precision layer's float constants
        self.constants[name] = array
        return name

    def constant_bytes(self) -> int:
        return sum(array.nbytes for array in self.constants.values())

    def initializer_protos(self) -> list[onnx.TensorProto]:
        """Every constant as a TensorProto holding its data."""
        return [numpy_helper.from_array(array, name)
                for name, array in self.constants.items()]

    def external_initializers(self, data_path, location: str) -> list[onnx.TensorProto]:
        """Append every constant of 1 KiB or more to `data_path`, chunk by chunk, and return
        the initializers: those as ONNX external data under `location`, small ones inline."""
        offset = 0
        tensors = []
        with open(data_path, "wb") as data_file:
            for name, array in self.constants.items():
                if array.nbytes < 1024:
                    tensors.append(numpy_helper.from_array(array, name))
                    continue
                payload_size = _write_array(data_file, array)
                tensor = tensor_header(name, array)
                tensor.data_location = onnx.TensorProto.EXTERNAL
                for key, value in (("location", location), ("offset", str(offset)),
                                   ("length", str(payload_size))):
                    entry = tensor.external_data.add()
                    entry.key, entry.value = key, value
                tensors.append(tensor)
                offset += payload_size
                padding = (-offset) % 4096  # keep each tensor page-aligned, as onnx does
                data_file.write(b"\0" * padding)
                offset += padding
        return tensors

    def weight(self, weight, value=None, layout: str | None = None) -> str:
        """The initializer of a layer weight (named by its path), created once per weight even
        when a shared layer or nested model is lowered several times. `value` overrides the
        stored array (for weights a lowering rearranges; a view is fine, it is copied only
        while the file is written); `layout` names that rearrangement so it is shared too."""
        if value is None:
            key = id(weight)
        else:
            key = (id(weight), layout) if layout is not None else (id(weight), id(value))
        if key not in self._weight_names:
            array = weight.value if value is None else value
            if self._float_weights is None or not is_float_dtype(np.asarray(array).dtype):
                self._weight_names[key] = self.constant(array, weight.path)
            else:
                compute, stored = self._float_weights
                name = self.constant(np.asarray(array).astype(stored, copy=False), weight.path)
                if compute != stored:
                    name = self.node("Cast", [name], weight.path,
                                     to=helper.np_dtype_to_tensor_dtype(np.dtype(compute)))
                self._weight_names[key] = name
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
