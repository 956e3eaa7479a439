"""Read an ONNX file without holding its weights twice.

`onnx.load` parses the whole file into protobuf, so a model's weights sit in memory once as
protobuf bytes and again as the numpy arrays made from them. This reader walks the protobuf wire
format of the two outer messages itself (ModelProto -> its graph -> the graph's initializers):
everything except the initializers' `raw_data` is parsed by protobuf as usual, and each
`raw_data` payload (or external-data file range) is read straight from the file into its own
numpy array. The ModelProto returned has initializers without data; the arrays come beside it.

The file may come from a stranger: the model and its external data must be regular files (a
FIFO would block the open, a device never end), external data inside the model's folder; every
declared size is checked against the bytes stored before anything is allocated, and text that is
not UTF-8 is refused. Each refusal is a FormatError naming the file and the part.
"""

import math
import os
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..errors import FormatError, UnsupportedError
from ..files import open_regular_file

# Field numbers (protobuf schema of onnx.proto).
_MODEL_GRAPH = 7
_GRAPH_INITIALIZER = 5
_TENSOR_RAW_DATA = 9
_TENSOR_DATA_LOCATION = 14
_TENSOR_EXTERNAL_DATA = 13

# Nothing but the initializers' payloads is read into memory whole; the rest of a model (nodes,
# names, small constants) above this size is refused as hostile rather than parsed.
MAX_STRUCTURE_BYTES = 512 * 2**20

# The field holding an initializer's values when it has no raw_data, for the element types
# that store one entry per element there (onnx.proto); other types are checked after parsing.
_TYPED_FIELDS = {
    onnx.TensorProto.FLOAT: "float_data", onnx.TensorProto.DOUBLE: "double_data",
    onnx.TensorProto.INT64: "int64_data", onnx.TensorProto.UINT64: "uint64_data",
    onnx.TensorProto.UINT32: "uint64_data", onnx.TensorProto.STRING: "string_data",
    **{data_type: "int32_data" for data_type in (
        onnx.TensorProto.INT32, onnx.TensorProto.INT16, onnx.TensorProto.INT8,
        onnx.TensorProto.UINT16, onnx.TensorProto.UINT8, onnx.TensorProto.BOOL,
        onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16)},
}


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
    """`path` opened for reading; it must be a regular file (a FIFO would block, a device
    never end)."""
    return open_regular_file(path, path, "the model")


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


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
    are read from their files, which must be regular files inside the model's folder. Every
    declared size is checked against the stored bytes before anything is allocated. Malformed
    files are a FormatError naming the file and the part."""
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
        for header, _ in tensors:
            model.graph.initializer.append(header)
        check_text_fields(model, str(path))
        arrays, claimed = {}, {}
        for header, raw_range in tensors:
            if header.name in arrays:
                raise FormatError(f"{path}: two initializers are named '{header.name}'")
            arrays[header.name] = _tensor_array(header, raw_range, handle, path, claimed)
    return model, arrays


def check_text_fields(message, source: str) -> None:
    """Refuse `message` (a ModelProto, or any part of one) when one of its text fields (names,
    op types, domains, keys...) is not UTF-8: protobuf hands such a field back as bytes, which
    no name comparison or message expects. The FormatError names `source` and the field."""
    # entries: (message, the entry of its parent, its field name and index); the path of a
    # field is only spelled out for an error
    pending = [(message, None, "model", None)]
    while pending:
        entry = pending.pop()
        for field, value in entry[0].ListFields():
            if field.type == field.TYPE_STRING:
                texts = [value] if isinstance(value, (str, bytes)) else value
                for index, text in enumerate(texts):
                    if isinstance(text, bytes):
                        place = _field_path(entry) + f".{field.name}" + (
                            "" if texts is not value else f"[{index}]")
                        raise FormatError(f"{source}: {place} is not UTF-8 text ({text[:60]!r})")
            elif field.type == field.TYPE_MESSAGE:
                if hasattr(value, "__len__"):  # a repeated field
                    pending.extend((item, entry, field.name, index)
                                   for index, item in enumerate(value))
                else:
                    pending.append((value, entry, field.name, None))


def _field_path(entry) -> str:
    """`model.graph.node[3]`: the path to the message of a check_text_fields entry."""
    parts = []
    while entry is not None:
        _, parent, name, index = entry
        parts.append(name if index is None else f"{name}[{index}]")
        entry = parent
    return ".".join(reversed(parts))


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


def _tensor_array(tensor, raw_range, handle, path: Path, claimed: dict) -> np.ndarray:
    name = tensor.name
    try:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type))
    except Exception as exc:
        raise UnsupportedError(f"{path}: initializer '{name}' has ONNX element type "
                               f"{tensor.data_type}, which modelio does not read") from exc
    shape = tuple(int(dim) for dim in tensor.dims)
    count = _element_count(shape, dtype, name, path)
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        return _external_array(tensor, dtype, shape, count, path, claimed)
    if raw_range is None:
        return _typed_array(tensor, shape, count, path)
    start, end = raw_range
    if dtype.kind in "OUS" or end - start != count * dtype.itemsize:
        raise FormatError(f"{path}: initializer '{name}' holds {end - start} bytes of data; "
                          f"shape {shape} of {dtype.name} needs {count * dtype.itemsize}")
    array = np.empty(shape, dtype.newbyteorder("<"))
    handle.seek(start)
    if handle.readinto(memoryview(array.reshape(-1)).cast("B")) != end - start:
        raise FormatError(f"{path}: the file ends inside initializer '{name}'")
    return array.astype(dtype, copy=False)


def _element_count(shape: tuple, dtype: np.dtype, name: str, path: Path) -> int:
    """How many elements `shape` holds; negative dims, and shapes whose size in bytes numpy
    cannot represent (their product overflows int64), are a FormatError."""
    if any(dim < 0 for dim in shape):
        raise FormatError(f"{path}: initializer '{name}' has a negative dimension {shape}")
    if math.prod(max(dim, 1) for dim in shape) * max(dtype.itemsize, 1) >= 2**63:
        raise FormatError(f"{path}: initializer '{name}' declares the shape {shape}, whose "
                          f"size overflows int64")
    return math.prod(shape)


def _typed_array(tensor, shape: tuple, count: int, path: Path) -> np.ndarray:
    """An initializer kept in the typed fields (float_data, int64_data, ...): their length is
    checked against the shape before numpy_helper turns them into an array."""
    field = _TYPED_FIELDS.get(tensor.data_type)
    if field is not None and len(getattr(tensor, field)) != count:
        raise FormatError(f"{path}: initializer '{tensor.name}' holds "
                          f"{len(getattr(tensor, field))} {field} values; shape {shape} needs "
                          f"{count}")
    try:
        array = numpy_helper.to_array(tensor)
    except Exception as exc:  # counts of the packed and complex types, string payloads
        raise FormatError(f"{path}: initializer '{tensor.name}' of shape {shape} cannot be "
                          f"read ({type(exc).__name__}: {exc})") from exc
    if array.shape != shape:
        raise FormatError(f"{path}: initializer '{tensor.name}' holds {array.size} values; "
                          f"shape {shape} needs {count}")
    return array


def _external_array(tensor, dtype, shape, count: int, path: Path, claimed: dict) -> np.ndarray:
    """The array of an initializer kept in an external file. `claimed` counts the bytes the
    initializers read so far took from each file ((device, inode) -> bytes): together they may
    not take more than the file holds, so that ranges declared over and over again cannot
    multiply a small file."""
    info = {entry.key: entry.value for entry in tensor.external_data}
    name, location = tensor.name, info.get("location", "")
    if dtype.kind in "OUS":
        raise UnsupportedError(f"{path}: initializer '{name}' keeps {dtype.name} values in "
                               f"external data, which modelio does not read")
    try:
        offset = int(info.get("offset", 0))
        length = int(info.get("length", count * dtype.itemsize))
    except ValueError as exc:
        raise FormatError(f"{path}: initializer '{name}' has a bad offset or length") from exc
    if length != count * dtype.itemsize or offset < 0:
        raise FormatError(f"{path}: initializer '{name}' declares {length} bytes at "
                          f"{offset}; shape {shape} of {dtype.name} needs {count * dtype.itemsize}")
    what = f"the external data of '{name}' ({location!r})"
    with open_regular_file(_external_location(path, name, location), path, what,
                           follow_symlinks=False) as data:
        status = os.fstat(data.fileno())
        stored, identity = status.st_size, (status.st_dev, status.st_ino)
        if offset + length > stored:
            raise FormatError(f"{path}: initializer '{name}' declares {length} bytes at "
                              f"offset {offset} of {location!r}, which holds {stored} bytes")
        claimed[identity] = claimed.get(identity, 0) + length
        if claimed[identity] > stored:
            raise FormatError(f"{path}: initializer '{name}' brings the bytes initializers read "
                              f"from {location!r} to {claimed[identity]}, more than its "
                              f"{stored} (ranges that overlap)")
        array = np.empty(shape, dtype.newbyteorder("<"))
        try:
            data.seek(offset)
            got = data.readinto(memoryview(array.reshape(-1)).cast("B"))
        except OSError as exc:
            raise FormatError(f"{path}: cannot read {what} ({_reason(exc)})") from exc
    if got != length:
        raise FormatError(f"{path}: external data for '{name}' ends early")
    return array.astype(dtype, copy=False)


def _external_location(path: Path, name: str, location: str) -> Path:
    """The file external data `location` names, symlinks resolved; it must lie inside the
    model's folder."""
    if not location or "\0" in location:
        raise FormatError(f"{path}: initializer '{name}' has the external data location "
                          f"{location!r}, which is not a file name")
    folder = path.resolve().parent
    try:
        target = (folder / location).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise FormatError(f"{path}: the external data location {location!r} of '{name}' does "
                          f"not resolve ({_reason(exc)})") from exc
    if folder not in target.parents:
        raise FormatError(f"{path}: initializer '{name}' points outside the model's "
                          f"folder ({location!r})")
    return target


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
        header = onnx.ModelProto.FromString(b"".join(parts))
    except Exception as exc:
        raise FormatError(f"{path}: not a valid ONNX file ({type(exc).__name__})") from exc
    check_text_fields(header, str(path))
    return header
