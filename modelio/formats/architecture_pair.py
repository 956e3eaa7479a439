"""A JSON/YAML architecture and the weights beside it (`m.json` + `m.weights.h5`), saved and
loaded as one model.

No rename replaces two files at once, so a save commits them in an order a load can recover
from. The weights file is replaced first, and it carries what a load needs to finish the
commit: the new architecture text, and the SHA-256 of the architecture file it replaces (a
`modelio_pair` group; Keras reads weights by their paths and never looks at it). The
architecture file is replaced second. A load that finds the architecture file still equal to
the one the weights replaced knows that the save stopped between the two renames, and takes the
architecture stored with the weights. Every crash point gives a complete model:

    the save stops ...                      on disk                              load gives
    while writing the new files            the old pair (new files are unnamed)  the old model
    after replacing the weights            new weights, old architecture         the new model
    after replacing the architecture       the new pair                          the new model

The architecture file stays plain Keras JSON/YAML (no extra key), so Keras's `model_from_json`
reads it as before; the weights file is a plain Keras 3 `.weights.h5` plus one group. The one
case a load cannot tell from an interrupted save: the architecture file put back, byte for
byte, to the version the last save replaced; the model saved with the weights is loaded then.

Two saves into one folder hold an exclusive flock on the folder (`atomic.folder_lock`) for
their whole commit, so they cannot interleave into a mixed pair. A load takes no lock: it reads
the architecture, opens the weights, checks that the architecture file was not replaced
meanwhile (and reads again if it was), then reads everything else from the opened weights file,
even if a save replaces it by then.

The sibling weights must be a regular file inside the architecture's folder
(`files.open_inside_folder`); the isolated HDF5 reader is then given the file that was checked
(`files.path_of_open_file`), so that a swap of the name in between changes nothing.
"""

import hashlib
import os
import stat
from pathlib import Path

import numpy as np

from ..atomic import folder_lock, new_file
from ..errors import FormatError, ModelioError, naming_source
from ..files import open_inside_folder, path_of_open_file
from ..graph.layer import weights_follow
from . import weights_h5
from .config import model_from_json, model_from_yaml
from .hdf5 import (
    KERAS3_LAYOUT,
    LEGACY_LAYOUT,
    child_dataset,
    child_group,
    holds_layer_names,
    open_hdf5,
    read_dataset,
    read_string,
    weights_layout,
)
from .legacy_h5 import load_weights_from_hdf5_group
from .probe import MAX_CONFIG_BYTES, read_text
from .sharded_weights import INDEX_SUFFIX, load_sharded_weights

WEIGHTS_SUFFIX = ".weights.h5"
# The group of the weights file that records the commit, and its members.
PAIR_GROUP = "modelio_pair"
ARCHITECTURE_DATASET = "architecture"
REPLACES_ATTRIBUTE = "replaces_sha256"
FORMAT_ATTRIBUTE = "architecture_format"
READERS = {"json": model_from_json, "yaml": model_from_yaml}
FORMATS = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}
# A load reads again when the architecture file is replaced under it; this many times at most.
READ_ATTEMPTS = 5
_HASH_CHUNK = 1 << 20


def sibling_weights_path(path: str | os.PathLike) -> Path:
    """`model.yaml` -> `model.weights.h5` in the same folder."""
    path = Path(path)
    return path.with_name(path.stem + WEIGHTS_SUFFIX)


# ----- saving -------------------------------------------------------------------------------------

def save_architecture_pair(model, path: str | os.PathLike, text: str) -> None:
    """Write `text` (the model's architecture, JSON or YAML by `path`'s extension) to `path` and
    `model`'s weights to `<stem>.weights.h5` beside it, as one commit (see the module docstring).
    A model without weights gets a weights file too, so that an older one cannot stay beside the
    new architecture. A failure is a FormatError naming the file; the old pair stays loadable."""
    path = Path(path)
    architecture_format = _format_of(path)
    weights_path = sibling_weights_path(path)
    data = text.encode("utf-8")
    with new_file(weights_path) as weights_file, new_file(path) as architecture_file, \
            folder_lock(path.parent):
        replaces = _sha256_of_file(path)
        _write_weights(model, weights_file.path, weights_path, data, architecture_format, replaces)
        _write_bytes(architecture_file.path, path, data)
        try:
            weights_file.commit()
            architecture_file.commit()
        except OSError as exc:
            raise FormatError(_commit_failure(path, weights_file, architecture_file, exc)) \
                from exc


def _write_weights(model, temporary: Path, weights_path: Path, data: bytes,
                   architecture_format: str, replaces: str) -> None:
    import h5py

    try:
        with open(temporary, "w+b") as raw, h5py.File(raw, "w") as handle:
            weights_h5.write_keras3_weights(model, handle)
            record = handle.create_group(PAIR_GROUP)
            record.attrs[REPLACES_ATTRIBUTE] = replaces
            record.attrs[FORMAT_ATTRIBUTE] = architecture_format
            record.create_dataset(ARCHITECTURE_DATASET, data=np.frombuffer(data, np.uint8))
    except ModelioError:
        raise
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise FormatError(f"{weights_path}: cannot write the weights ({_message(exc)})") from exc


def _write_bytes(temporary: Path, path: Path, data: bytes) -> None:
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise FormatError(f"{path}: cannot write the architecture ({_message(exc)})") from exc


def _commit_failure(path: Path, weights_file, architecture_file, exc: OSError) -> str:
    """What a failed commit left: the old model, the new weights with the new architecture in
    them, or the whole new pair not yet durable."""
    reason = _message(exc)
    if not weights_file.committed:
        return (f"{weights_file.target}: cannot put the new weights in place ({reason}); "
                f"{path.name} and its weights are unchanged")
    if not architecture_file.committed:
        return (f"{path}: the save stopped after replacing {weights_file.target.name} "
                f"({reason}); that file holds the architecture it was saved with, so modelio "
                f"loads the new model, but Keras would pair the new weights with the old "
                f"{path.name}: save again")
    return (f"{path}: saved, but the folder could not be synced ({reason}); a power cut may "
            f"undo the save")


def _sha256_of_file(path: Path) -> str:
    """The SHA-256 of the architecture file a save replaces, as a load would read it; "" when
    there is none a load could read (missing, not a regular file, too large)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return ""
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return ""
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return ""
        size = 0
        while chunk := handle.read(_HASH_CHUNK):
            size += len(chunk)
            if size > MAX_CONFIG_BYTES:
                return ""
            digest.update(chunk)
    return digest.hexdigest()


# ----- loading ------------------------------------------------------------------------------------

def load_architecture_pair(path: str | os.PathLike):
    """The model of the architecture file `path` (`.json`, `.yaml`, `.yml`; the caller has
    checked it is a regular file), with the weights of `<stem>.weights.h5` beside it when that
    exists: the complete old or the complete new model even after an interrupted save. Without
    one, a sharded `<stem>.weights.json` index beside it (Keras's `max_shard_size` save) gives
    the weights (a pair modelio saves always has its `.weights.h5`)."""
    path = Path(path)
    weights_path = sibling_weights_path(path)
    for _ in range(READ_ATTEMPTS):
        seen = _identity(path)
        text = read_text(path)
        if not os.path.lexists(weights_path):
            index = path.with_name(path.stem + INDEX_SUFFIX)
            with naming_source(path):
                if not os.path.lexists(index):
                    return READERS[_format_of(path)](text, source=str(path))
                open_inside_folder(index, path.resolve().parent,
                                   f"the sharded weights index beside {path.name}").close()
                with weights_follow():
                    model = READERS[_format_of(path)](text, source=str(path))
            load_sharded_weights(model, index)
            return model
        with open_inside_folder(weights_path, path.resolve().parent,
                                f"the weights beside {path.name}") as checked:
            # the architecture unchanged from before it was read until after the weights were
            # opened: the two were on disk together (what is read next comes from that file)
            if _identity(path) != seen:
                continue  # a save replaced the architecture meanwhile: read the pair again
            with _open_checked_hdf5(checked, weights_path) as handle:
                return _load_with_weights(path, text, weights_path, handle)
    raise FormatError(f"{path}: replaced {READ_ATTEMPTS} times while being read; try again "
                      f"when no save is running")


def _open_checked_hdf5(checked, weights_path: Path):
    """The HDF5 content of the open file `checked`, parsed by the isolated reader. It is given
    the whole file as a byte range, which it reads through a Python file object: libhdf5 opening
    a path itself wants its real path, which a file replaced since it was opened no longer has."""
    size = os.fstat(checked.fileno()).st_size
    return open_hdf5(path_of_open_file(checked, weights_path.resolve()), str(weights_path),
                     byte_range=(0, size))


def _load_with_weights(path: Path, text: str, weights_path: Path, handle):
    text, architecture_format, source = _architecture_to_use(path, text, weights_path, handle)
    with naming_source(source), weights_follow():
        model = READERS[architecture_format](text, source=source)
    layout = weights_layout(handle)
    if layout == KERAS3_LAYOUT:
        weights_h5.read_keras3_weights(model, handle, str(weights_path))
    elif layout == LEGACY_LAYOUT:
        group = handle if holds_layer_names(handle) else child_group(handle, "model_weights",
                                                                       str(weights_path))
        load_weights_from_hdf5_group(group, model, source=str(weights_path))
    else:
        raise FormatError(f"{weights_path}: an HDF5 file, but not Keras weights (no 'layers' "
                          f"group or 'layer_names' attribute)")
    return model


def _architecture_to_use(path: Path, text: str, weights_path: Path, handle):
    """(text, format, source for messages): the architecture file's, or the one saved with the
    weights when the architecture file is the very one their save was replacing."""
    own = (text, _format_of(path), str(path))
    record = child_group(handle, PAIR_GROUP, str(weights_path), required=False)
    if record is None:
        return own  # weights written by Keras or by an older modelio
    where = f"{weights_path}: group '{PAIR_GROUP}'"
    replaces = _text_attribute(record, REPLACES_ATTRIBUTE, where)
    if replaces != hashlib.sha256(text.encode("utf-8")).hexdigest():
        return own
    architecture_format = _text_attribute(record, FORMAT_ATTRIBUTE, where)
    if architecture_format not in READERS:
        raise FormatError(f"{where}: unknown architecture format {architecture_format!r}")
    return (_stored_architecture(record, where), architecture_format,
            f"{weights_path} (the architecture saved with these weights: the save of "
            f"{path.name} was interrupted before replacing it)")


def _stored_architecture(record, where: str) -> str:
    dataset = child_dataset(record, ARCHITECTURE_DATASET, where)
    shape = tuple(dataset.shape)
    if len(shape) != 1 or dataset.dtype != np.uint8 or shape[0] > MAX_CONFIG_BYTES:
        raise FormatError(f"{where}: '{ARCHITECTURE_DATASET}' must be at most "
                          f"{MAX_CONFIG_BYTES} bytes of text")
    data = read_dataset(dataset, shape, f"{where}: '{ARCHITECTURE_DATASET}'")
    try:
        return np.asarray(data, np.uint8).tobytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{where}: '{ARCHITECTURE_DATASET}' is not UTF-8 text") from exc


def _text_attribute(group, name: str, where: str) -> str:
    if name not in group.attrs:
        raise FormatError(f"{where}: attribute '{name}' is missing")
    return read_string(group.attrs[name])


def _identity(path: Path) -> tuple:
    """What changes when a file is replaced (or rewritten) under its name."""
    try:
        found = os.stat(path)
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns


def _format_of(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise FormatError(f"{path}: an architecture file is .json, .yaml or .yml") from None


def _message(exc: BaseException) -> str:
    return (getattr(exc, "strerror", None) or str(exc).split("\n")[0][:200]
            or type(exc).__name__)


__all__ = ["load_architecture_pair", "save_architecture_pair", "sibling_weights_path"]
