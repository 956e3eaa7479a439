"""Read an ONNX file without holding its weights twice.

`onnx.load` parses the whole file into protobuf, so a model's weights sit in memory once as
protobuf bytes and again as the numpy arrays made from them. This reader walks the protobuf wire
format of the two outer messages itself (ModelProto -> its graph -> the graph's initializers):
everything except the initializers' `raw_data` is parsed by protobuf as usual, and each
`raw_data` payload (or external-data file range) is read straight from the file into its own
numpy array. The ModelProto returned has initializers without data; the arrays come beside it.
"""

import os
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..errors import FormatError, UnsupportedError

# Field numbers (protobuf schema of onnx.proto).
_MODEL_GRAPH = 7
_GRAPH_INITIALIZER = 5
_TENSOR_RAW_DATA = 9
_TENSOR_DATA_LOCATION = 14
_TENSOR_EXTERNAL_DATA = 13

# Nothing but the initializers' payloads is read into memory whole; the rest of a model (nodes,
# names, small constants) above this size is refused as hostile rather than parsed.
MAX_STRUCTURE_BYTES = 512 * 2**20


class _Reader:
    """Protobuf wire-format walking over a window [start, end) of an open binary file."""

    def __init__(self, handle, path: Path):
        self.handle, self.path = handle, path

    def varint(self, position: int, end: int) -> tuple[int, int]:
        value, shift = 0, 0
        self.handle.seek(position)
        for _ in range(10):
            if position >= end:
                break
            byte = self.handle.read(1)
            if not byte:
                break
            position += 1
            value |= (byte[0] & 0x7F) << shift
            if byte[0] < 0x80:
                return value, position
            shift += 7
        raise FormatError(f"{self.path}: not a valid ONNX file (a damaged protobuf varint)")

    def fields(self, start: int, end: int):
        """Yield (field number, wire type, value start, value end, record start) for every
        field in [start, end); the value of a varint/fixed field is its raw byte range."""
        position = start
        while position < end:
            record = position
            key, position = self.varint(position, end)
            number, wire_type = key >> 3, key & 7
            if wire_type == 0:
                _, value_end = self.varint(position, end)
            elif wire_type == 1:
                value_end = position + 8
            elif wire_type == 2:
                length, position = self.varint(position, end)
                value_end = position + length
            elif wire_type == 5:
                value_end = position + 4
            else:
                raise FormatError(f"{self.path}: not a valid ONNX file (protobuf wire type "
                                  f"{wire_type})")
            if number == 0 or value_end > end:
                raise FormatError(f"{self.path}: not a valid ONNX file (a field runs past the "
                                  f"end of its message)")
            yield number, wire_type, position, value_end, record
            position = value_end

    def bytes(self, start: int, end: int) -> bytes:
        if end - start > MAX_STRUCTURE_BYTES:
            raise FormatError(f"{self.path}: a {end - start}-byte part of the model that is not "
                              f"weight data; refusing it")
        self.handle.seek(start)
        data = self.handle.read(end - start)
        if len(data) != end - start:
            raise FormatError(f"{self.path}: the file ends early")
        return data


def _opened(path: Path):
    try:
        return open(path, "rb")
    except OSError as exc:
        raise FormatError(f"{path}: cannot open ({exc.strerror or exc})") from exc


def _key(number: int) -> bytes:
    return _varint_bytes(number << 3 | 2)


def _varint_bytes(value: int) -> bytes:
    encoded = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        encoded.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(encoded)


def read_onnx_file(path: str | os.PathLike) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """(the model with data-less initializers, {initializer name: array}) read from `path`.

    Raw initializer data is read directly into each array; tensors stored as ONNX external data
    are read from their files, which must lie inside the model's folder. Malformed files are a
    FormatError naming the file."""
    path = Path(path)
    with _opened(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        reader = _Reader(handle, path)
        model_parts, graph_parts, tensors = [], [], []
        for number, wire_type, start, end, record in reader.fields(0, size):
            if number == _MODEL_GRAPH and wire_type == 2:
                for inner, inner_type, value_start, value_end, inner_record in reader.fields(start, end):
                    if inner == _GRAPH_INITIALIZER and inner_type == 2:
                        tensors.append(_read_tensor_header(reader, value_start, value_end))
                    else:
                        graph_parts.append(reader.bytes(inner_record, value_end))
            else:
                model_parts.append(reader.bytes(record, end))
        graph_bytes = b"".join(graph_parts)
        try:
            model = onnx.ModelProto.FromString(b"".join(model_parts) + _key(_MODEL_GRAPH)
                                               + _varint_bytes(len(graph_bytes)) + graph_bytes)
        except Exception as exc:  # protobuf's DecodeError
            raise FormatError(f"{path}: not a valid ONNX file ({type(exc).__name__})") from exc
        arrays = {}
        for header, raw_range in tensors:
            model.graph.initializer.append(header)
            arrays[header.name] = _tensor_array(header, raw_range, handle, path)
    return model, arrays


def _read_tensor_header(reader: _Reader, start: int, end: int):
    """A TensorProto parsed without its raw_data, and that payload's byte range (or None)."""
    parts, raw_range = [], None
    for number, _, value_start, value_end, record in reader.fields(start, end):
        if number == _TENSOR_RAW_DATA:
            raw_range = (value_start, value_end)
        else:
            parts.append(reader.bytes(record, value_end))
    try:
        return onnx.TensorProto.FromString(b"".join(parts)), raw_range
    except Exception as exc:
        raise FormatError(f"{reader.path}: not a valid ONNX file (an initializer does not "
                          f"parse: {type(exc).__name__})") from exc


def _tensor_array(tensor, raw_range, handle, path: Path) -> np.ndarray:
    name = tensor.name
    try:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type))
    except Exception as exc:
        raise UnsupportedError(f"{path}: initializer '{name}' has ONNX element type "
                               f"{tensor.data_type}, which modelio does not read") from exc
    shape = tuple(int(dim) for dim in tensor.dims)
    if any(dim < 0 for dim in shape):
        raise FormatError(f"{path}: initializer '{name}' has a negative dimension {shape}")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        return _external_array(tensor, dtype, shape, count, path)
    if raw_range is None:
        return numpy_helper.to_array(tensor)  # typed fields (float_data, ...): small, parsed
    start, end = raw_range
    if dtype.kind in "OUS" or end - start != count * dtype.itemsize:
        raise FormatError(f"{path}: initializer '{name}' holds {end - start} bytes of data; "
                          f"shape {shape} of {dtype.name} needs {count * dtype.itemsize}")
    array = np.empty(shape, dtype.newbyteorder("<"))
    handle.seek(start)
    if handle.readinto(memoryview(array.reshape(-1)).cast("B")) != end - start:
        raise FormatError(f"{path}: the file ends inside initializer '{name}'")
    return array.astype(dtype, copy=False)


def _external_array(tensor, dtype, shape, count: int, path: Path) -> np.ndarray:
    info = {entry.key: entry.value for entry in tensor.external_data}
    folder = path.resolve().parent
    location = (folder / info.get("location", "")).resolve()
    if folder not in location.parents:
        raise FormatError(f"{path}: initializer '{tensor.name}' points outside the model's "
                          f"folder ({info.get('location')!r})")
    try:
        offset = int(info.get("offset", 0))
        length = int(info.get("length", count * dtype.itemsize))
    except ValueError as exc:
        raise FormatError(f"{path}: initializer '{tensor.name}' has a bad offset or length") from exc
    if length != count * dtype.itemsize or offset < 0:
        raise FormatError(f"{path}: initializer '{tensor.name}' declares {length} bytes at "
                          f"{offset}; shape {shape} of {dtype.name} needs {count * dtype.itemsize}")
    array = np.empty(shape, dtype.newbyteorder("<"))
    try:
        with open(location, "rb") as data:
            data.seek(offset)
            got = data.readinto(memoryview(array.reshape(-1)).cast("B"))
    except OSError as exc:
        raise FormatError(f"{path}: cannot read external data for '{tensor.name}' from "
                          f"{info.get('location')!r} ({exc.strerror or exc})") from exc
    if got != length:
        raise FormatError(f"{path}: external data for '{tensor.name}' ends early")
    return array.astype(dtype, copy=False)


def read_onnx_header(path: str | os.PathLike) -> onnx.ModelProto:
    """The model's outer fields (IR version, opsets, producer, metadata) without its graph, read
    without touching the weights."""
    path = Path(path)
    with _opened(path) as handle:
        reader = _Reader(handle, path)
        size = os.fstat(handle.fileno()).st_size
        parts = [reader.bytes(record, end) for number, _, _, end, record in reader.fields(0, size)
                 if number != _MODEL_GRAPH]
    try:
        return onnx.ModelProto.FromString(b"".join(parts))
    except Exception as exc:
        raise FormatError(f"{path}: not a valid ONNX file ({type(exc).__name__})") from exc
