"""An HDF5 file as plain Python objects: what the isolated reader (`hdf5_isolated`) hands back
after libhdf5 has parsed the file in a child process.

`StoredGroup`, `StoredDataset` and `StoredLink` answer the few questions the weight formats ask
of an h5py file (membership, names, attributes, shapes, dtypes, the data) without any HDF5
library behind them. The tree travels from the child over a pipe as one JSON header followed by
the raw bytes of its arrays; `decode_tree` rebuilds it and checks every size first, so even a
child that misbehaved cannot make the caller allocate more than the budget it was given.
"""

import base64
import json
import math

import numpy as np

from ..errors import FormatError

# dtype kinds that travel as raw bytes: booleans, integers, floats and fixed-length byte strings.
RAW_KINDS = "biufS"
# Opaque 2-byte values (Keras 3 stores bfloat16 weights so) travel too; they carry no objects.
_OPAQUE_KIND = "V"


class StoredLink:
    """A soft or external link: recorded, never followed."""

    def __init__(self, name: str, link_type: str):
        self.name, self.link_type = name, link_type


class StoredDataset:
    """A dataset's shape, dtype and attributes; its data when the reader took it, else the reason
    it did not (`unread_reason`), raised as a FormatError when the data is asked for."""

    def __init__(self, name: str, file, attrs: dict, shape: tuple, dtype: np.dtype,
                 data: np.ndarray | None, unread_reason: str | None, refusal: str | None = None):
        self.name, self.file, self.attrs = name, file, attrs
        self.shape, self.dtype = shape, dtype
        self._data, self.unread_reason = data, unread_reason
        # why the dataset may not be used at all (its data lies outside the file), or None
        self.refusal = refusal

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("a scalar dataset has no length")
        return self.shape[0]

    def __getitem__(self, key):
        if self._data is None:
            raise FormatError(f"{self.file.filename}: dataset '{self.name}' was not read: "
                              f"{self.unread_reason}")
        return self._data[key]

    def __array__(self, dtype=None, copy=None):
        data = self[()]
        return data if dtype is None else data.astype(dtype)


class StoredGroup:
    """A group: named members (groups, datasets, links) and attributes. `group[path]` follows
    hard links only (a path through a link is a KeyError, as for a missing member)."""

    def __init__(self, name: str, file, attrs: dict):
        self.name, self.file, self.attrs = name, file, attrs
        self.members: dict[str, StoredGroup | StoredDataset | StoredLink] = {}

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and name in self.members

    def __iter__(self):
        return iter(self.members)

    def __len__(self) -> int:
        return len(self.members)

    def keys(self):
        return self.members.keys()

    def link(self, name: str):
        """The member named `name` (a StoredLink for a soft or external link), or None."""
        return self.members.get(name)

    def __getitem__(self, path: str):
        current = self
        for part in path.strip("/").split("/"):
            member = current.members.get(part) if isinstance(current, StoredGroup) else None
            if member is None or isinstance(member, StoredLink):
                raise KeyError(f"no member {path!r} in '{self.name}'")
            current = member
        return current


class StoredFile(StoredGroup):
    """The root group, with the `filename` messages name the file by."""

    def __init__(self, filename: str, attrs: dict):
        self.filename = filename
        super().__init__("/", self, attrs)


# ----- the wire format ------------------------------------------------------------------------

class TreeEncoder:
    """Collects a tree's description (JSON-able) and its arrays' bytes, in the child."""

    def __init__(self):
        self.buffers: list[memoryview] = []

    def array(self, value: np.ndarray) -> dict:
        value = np.asarray(value)  # not ascontiguousarray: it makes scalars 1-D
        if not value.flags.c_contiguous:
            value = value.copy()
        self.buffers.append(memoryview(value.reshape(-1).view(np.uint8)))
        return {"t": "array", "dtype": value.dtype.str, "shape": list(value.shape),
                "buffer": len(self.buffers) - 1, "bytes": int(value.nbytes)}

    def value(self, value) -> dict:
        """An attribute value: text, bytes, a number, or an array of those."""
        if isinstance(value, str):
            return {"t": "str", "v": value}
        if isinstance(value, bytes):
            return {"t": "bytes", "v": base64.b64encode(value).decode("ascii")}
        array = np.asarray(value)
        if array.dtype.kind in RAW_KINDS:
            encoded = self.array(array)
            encoded["scalar"] = not isinstance(value, np.ndarray)
            return encoded
        if array.dtype.kind == "O":
            items = [self.value(item) for item in array.reshape(-1)]
            if any(item["t"] not in ("str", "bytes") for item in items):
                raise FormatError("an attribute holds objects that are neither text nor bytes")
            return {"t": "objects", "shape": list(array.shape), "items": items,
                    "scalar": not isinstance(value, np.ndarray)}
        raise FormatError(f"an attribute has unsupported type {array.dtype}")

    def header(self, root: dict) -> bytes:
        return json.dumps({"ok": True, "root": root,
                           "buffers": [len(buffer) for buffer in self.buffers]}).encode("utf-8")


def decode_tree(header: dict, buffers: list[bytearray], filename: str) -> StoredFile:
    """Rebuild the tree the child described in `header` over the arrays' `buffers` (already read,
    their lengths checked against the header's). Anything malformed is a FormatError."""
    try:
        return _Decoder(buffers, filename).file(header["root"])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise FormatError(f"{filename}: the isolated HDF5 reader sent a malformed tree "
                          f"({type(exc).__name__}: {exc})") from exc


class _Decoder:
    def __init__(self, buffers: list, filename: str):
        self.buffers, self.filename = buffers, filename

    def file(self, root: dict) -> StoredFile:
        stored = StoredFile(self.filename, self.attrs(root["attrs"]))
        stack = [(stored, root)]
        while stack:  # iterative: the child bounds the depth, but the parent need not trust it
            group, description = stack.pop()
            for name, member in description["members"].items():
                path = f"{group.name.rstrip('/')}/{name}"
                kind = member["kind"]
                if kind == "group":
                    child = StoredGroup(path, stored, self.attrs(member["attrs"]))
                    stack.append((child, member))
                elif kind == "dataset":
                    child = self.dataset(path, stored, member)
                elif kind == "link":
                    child = StoredLink(path, str(member["link_type"]))
                else:
                    raise ValueError(f"unknown member kind {kind!r}")
                group.members[str(name)] = child
        return stored

    def dataset(self, path: str, stored: StoredFile, member: dict) -> StoredDataset:
        shape = tuple(_count(dim) for dim in member["shape"])
        # a dtype modelio does not read (vlen, compound...) arrives as None, with no data
        dtype = np.dtype(object) if member["dtype"] is None else _plain_dtype(member["dtype"])
        data = None if member["data"] is None else self.array(member["data"])
        if data is not None and (data.shape != shape or data.dtype != dtype):
            raise ValueError(f"dataset {path}: data does not match its shape and dtype")
        reason, refusal = member.get("unread_reason"), member.get("refusal")
        return StoredDataset(path, stored, self.attrs(member["attrs"]), shape, dtype, data,
                             None if reason is None else str(reason),
                             None if refusal is None else str(refusal))

    def attrs(self, encoded: dict) -> dict:
        return {str(name): self.value(value) for name, value in encoded.items()}

    def value(self, encoded: dict):
        kind = encoded["t"]
        if kind == "str":
            return str(encoded["v"])
        if kind == "bytes":
            return base64.b64decode(encoded["v"], validate=True)
        if kind == "array":
            array = self.array(encoded)
            return array[()] if encoded.get("scalar") else array
        if kind == "objects":
            items = [self.value(item) for item in encoded["items"]]
            if any(not isinstance(item, (str, bytes)) for item in items):
                raise ValueError("object arrays hold text or bytes only")
            array = np.empty(len(items), dtype=object)
            array[:] = items
            array = array.reshape(tuple(_count(dim) for dim in encoded["shape"]))
            return array[()] if encoded.get("scalar") else array
        raise ValueError(f"unknown value kind {kind!r}")

    def array(self, encoded: dict) -> np.ndarray:
        dtype = _plain_dtype(encoded["dtype"])
        shape = tuple(_count(dim) for dim in encoded["shape"])
        buffer = self.buffers[encoded["buffer"]]
        if len(buffer) != math.prod(shape) * dtype.itemsize:
            raise ValueError("an array's bytes do not match its shape")
        return np.frombuffer(buffer, dtype=dtype).reshape(shape)


def _plain_dtype(text) -> np.dtype:
    """A dtype that holds no Python objects (never an object or structured dtype)."""
    if not isinstance(text, str) or len(text) > 16:
        raise ValueError(f"bad dtype {text!r}")
    dtype = np.dtype(text)
    if dtype.kind not in RAW_KINDS + _OPAQUE_KIND or dtype.fields is not None or dtype.subdtype:
        raise ValueError(f"dtype {text!r} is not a plain dtype")
    return dtype


def _count(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"bad size {value!r}")
    return value
