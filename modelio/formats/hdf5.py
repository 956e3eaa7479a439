"""Low-level HDF5 access shared by the weight formats: open safely, tell the weights layouts
apart, reach children without following links out of the file, read string attributes in every
encoding Keras has used, read datasets only after checking their shape.

h5py errors never reach a user: each becomes a FormatError naming the file and the object.
"""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import FormatError, UnsupportedError, WeightMismatchError
from .hdf5_isolated import read_hdf5_tree
from .hdf5_tree import StoredDataset, StoredFile, StoredGroup, StoredLink
from .probe import check_regular_file, expect_hdf5

# What `weights_layout` tells apart.
LEGACY_LAYOUT = "legacy"
KERAS3_LAYOUT = "keras3"
# Top-level groups of the Keras 3 layout (`_layer_checkpoint_dependencies`: tf-keras 2.13).
KERAS3_ROOTS = ("layers", "vars", "_layer_checkpoint_dependencies")


@contextlib.contextmanager
def open_hdf5(path: str | os.PathLike, name: str | None = None,
              byte_range: tuple[int, int] | None = None,
              read_data: bool = True) -> Iterator[StoredFile]:
    """The HDF5 file at `path` (or the HDF5 bytes at `byte_range=(start, size)` in it, `name`
    naming them in messages), parsed in an isolated child process (`hdf5_isolated`) and handed
    over as a `StoredFile`; `read_data=False` skips the datasets' data. A missing, truncated,
    non-HDF5, damaged or hostile file is a FormatError, whatever libhdf5 does with it."""
    name = str(path) if name is None else name
    if byte_range is None:
        check_regular_file(Path(path), "an HDF5 file")
        expect_hdf5(Path(path))
    handle = read_hdf5_tree(path, name, byte_range, read_data)
    try:
        yield handle
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"{name}: damaged or unexpected HDF5 content ({_h5_message(exc)})") from exc


def holds_layer_names(group) -> bool:
    """True when `group` carries Keras's `@layer_names` list (whole or chunked): the root of a
    legacy weights file, or a full-model file's `model_weights` group."""
    return "layer_names" in group.attrs or "layer_names0" in group.attrs


def weights_layout(handle) -> str | None:
    """Which Keras weights layout the open HDF5 file `handle` holds: `LEGACY_LAYOUT` (tf-keras's
    and legacy `.h5` files: `@layer_names` at the root, or a full model's `model_weights` group),
    `KERAS3_LAYOUT` (`.weights.h5`: `layers/` and `vars/` groups), or None for neither. A file
    showing both is legacy."""
    if holds_layer_names(handle) or "model_weights" in handle:
        return LEGACY_LAYOUT
    if any(name in handle for name in KERAS3_ROOTS):
        return KERAS3_LAYOUT
    return None


def child_group(group, path: str, where, required: bool = True):
    """The group at `path` (parts separated by `/`) below `group`, or None when it is missing and
    not `required`. Links (soft or to other files) are refused: weights come from this file only.
    `where` names the file in messages."""
    return _child(group, path, "group", where, required)


def child_dataset(group, path: str, where):
    """The dataset at `path` below `group`, refusing links, data kept in external files and
    virtual datasets. `where` names the file in messages."""
    dataset = _child(group, path, "dataset", where, required=True)
    if dataset.refusal:
        raise FormatError(f"{where}: refusing dataset '{dataset.name}' {dataset.refusal}")
    return dataset


def _child(group, path: str, kind: str, where, required: bool):
    if not isinstance(path, str) or not path:
        raise FormatError(f"{where}: empty name in '{group.name}'")
    current = group
    parts = path.split("/")
    for index, part in enumerate(parts):
        if part in ("", ".", ".."):
            raise FormatError(f"{where}: invalid path {path!r} in '{group.name}'")
        member = current.link(part) if isinstance(current, StoredGroup) else None
        if member is None:
            if not required:
                return None
            raise FormatError(f"{where}: '{group.name}' has no {kind} {path!r}")
        if isinstance(member, StoredLink):
            raise FormatError(f"{where}: refusing {member.link_type} {path!r} in "
                              f"'{group.name}'; weights must be stored in the file itself")
        current = member
        if index < len(parts) - 1 and not isinstance(current, StoredGroup):
            raise FormatError(f"{where}: '{group.name}/{path}' is not a path of groups")
    expected = StoredGroup if kind == "group" else StoredDataset
    if not isinstance(current, expected):
        found = "group" if isinstance(current, StoredGroup) else "dataset"
        raise FormatError(f"{where}: '{group.name}/{path}' should be a {kind}, it is a {found}")
    return current


def read_string(value) -> str:
    """An HDF5 string attribute as `str`, whether stored as vlen str, fixed bytes or a 0-d array."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8")
    if isinstance(value, str):
        return value
    raise FormatError(f"expected a text attribute, got {type(value).__name__}")


def read_string_list(group, name: str) -> list[str]:
    """A list-of-strings attribute (`layer_names`, `weight_names`), including Keras's chunked form
    `name0`, `name1`, ... used when the list exceeds the HDF5 object-header limit. An empty list
    may be stored as an empty float array."""
    if name in group.attrs:
        values = [group.attrs[name]]
    else:
        values, index = [], 0
        while f"{name}{index}" in group.attrs:
            values.append(group.attrs[f"{name}{index}"])
            index += 1
        if not values:
            raise FormatError(f"{_where(group)}: missing attribute '{name}'")
    strings = []
    for value in values:
        array = np.asarray(value)
        if array.size == 0:
            continue
        for item in array.reshape(-1):
            strings.append(read_string(item))
    return strings


def write_string_list(group, name: str, strings: list[str], limit: int = 64512) -> None:
    """Write a list of strings as Keras does: one attribute, or chunks `name0`, `name1`, ... when
    it would exceed `limit` bytes."""
    encoded = np.array([text.encode("utf-8") for text in strings]) if strings else np.zeros(0)
    if encoded.nbytes <= limit:
        group.attrs[name] = encoded
        return
    chunks = max(1, -(-encoded.nbytes // limit))
    while any(part.nbytes > limit for part in np.array_split(encoded, chunks)):
        chunks += 1
    for index, part in enumerate(np.array_split(encoded, chunks)):
        group.attrs[f"{name}{index}"] = part


def storable_weight(value, what: str) -> np.ndarray:
    """`value` as the array a weight dataset is written from. Weight files hold numbers only (the
    readers refuse anything else), so a string or object weight (a string vocabulary) is refused
    here, naming `what`, rather than written into a file modelio could not read back."""
    array = np.asarray(value)
    if array.dtype.kind in "OSUT":
        raise UnsupportedError(f"{what}: a weight of strings ({array.dtype}) cannot be stored in "
                               f"an HDF5 weights file (they hold numeric arrays only)")
    return array


def read_dataset(dataset, expected_shape: tuple, what: str) -> np.ndarray:
    """The dataset's array, after checking its declared shape (nothing is read on a mismatch)."""
    shape = tuple(dataset.shape)
    if shape != tuple(expected_shape):
        raise WeightMismatchError(f"{what}: expects shape {tuple(expected_shape)}, the file holds "
                                  f"{shape}")
    if dataset.dtype.kind not in "fiub":
        raise FormatError(f"{what}: unsupported stored dtype {dataset.dtype}")
    return np.asarray(dataset[()])


def _where(group) -> str:
    return f"{group.file.filename}:{group.name}"


def _h5_message(exc: BaseException) -> str:
    return str(exc).split("\n")[0][:200] or type(exc).__name__
