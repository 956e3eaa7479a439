"""`.keras` archives (Keras 3 `model.save("x.keras")`, also tf-keras 2.13+), read and written.

An archive is a zip of (keras/src/saving/saving_lib.py):

    metadata.json      {"keras_version": "3.15.1", "date_saved": "2026-01-31@12:00:00"}
    config.json        the model's config document (Keras 3; tf-keras writes its own dialect)
    model.weights.h5   the weights, in the Keras 3 layout (see `weights_h5`)
    assets/<path>/...  files of layers that keep them (a lookup's vocabulary.txt), under the
                       layer's weights path (`layers/string_lookup/vocabulary.txt`)

Keras writes every member uncompressed (ZIP_STORED), and so does modelio. Reading never extracts
by member name and never trusts the archive: it must be a zip with sane, unique member names and
sizes checked in the central directory before anything is read (the weights may not be much larger
than the weights the config declares); `config.json` goes through modelio's safe config reader
(classes from its registry only, no Lambda code); the weights are copied to a private temporary
file and read with every count and shape checked. Weights stored as `.npz` are pickled
objects and refused (see `npz_weights`); a sharded index (`model.weights.json`) inside an archive
is refused (Keras 3.15.1 writes sharded weights only beside a model, see `sharded_weights`).
"""

import contextlib
import datetime
import json
import os
import re
import struct
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from ..atomic import atomic_path, scratch_path
from ..errors import FormatError, ModelioError, UnsupportedError, naming_source
from ..graph.layer import weights_follow
from . import weights_h5
from .config import config_from_json, model_from_config, model_to_config
from .hdf5 import open_hdf5
from .npz_weights import NPZ_MEMBER, refuse_npz_weights
from .probe import check_regular_file, expect_zip

CONFIG_MEMBER = "config.json"
METADATA_MEMBER = "metadata.json"
WEIGHTS_MEMBER = "model.weights.h5"
SHARDED_MEMBER = "model.weights.json"
ASSETS_PREFIX = "assets/"
# The Keras version whose layout modelio writes; Keras never checks it on load.
KERAS_VERSION = "3.15.1"

# Limits checked in the central directory before reading anything.
MAX_MEMBERS = 10_000
MAX_CONFIG_BYTES = 64 * 1024 * 1024
# One asset file (a vocabulary) may take this many bytes.
MAX_ASSET_BYTES = 64 * 1024 * 1024
# The weights member may exceed the bytes the model's weights need by this factor plus HDF5's
# per-group and per-dataset overhead (measured well under 4 KiB each; allowed 16 KiB).
WEIGHTS_SIZE_FACTOR = 2
WEIGHTS_OVERHEAD_BYTES = 1024 * 1024
WEIGHTS_OVERHEAD_PER_ENTRY = 16 * 1024
# A member that expands to more than this multiple of its stored size, above the floor, is a bomb.
MAX_EXPANSION = 100
EXPANSION_FLOOR_BYTES = 16 * 1024 * 1024
_CHUNK = 1024 * 1024

_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError,
               RuntimeError, ValueError, KeyError)


# ----- reading ------------------------------------------------------------------------------------

def load_keras_archive(path: str | os.PathLike):
    """Load a model (architecture and weights) from a `.keras` archive."""
    path = Path(path)
    with _open_archive(path) as (archive, members):
        for name in (CONFIG_MEMBER, WEIGHTS_MEMBER):
            if name not in members:
                raise FormatError(f"{path}: not a complete .keras archive: it has no {name} "
                                  f"(members: {_listing(members)})")
        data = _read_member(archive, members[CONFIG_MEMBER], MAX_CONFIG_BYTES, path)
        model = model_from_config_bytes(data, f"{path}:{CONFIG_MEMBER}", path)
        _read_archive_weights(model, archive, members, path)
        used = _read_archive_assets(model, archive, members, path)
        unused = sorted(name for name in members if name.startswith(ASSETS_PREFIX)
                        and not name.endswith("/") and name not in used)
        if unused:
            warnings.warn(f"{path}: asset files no layer reads were ignored: "
                          f"{', '.join(unused[:5])}", stacklevel=2)
    return model


def asset_layers(model) -> list[tuple[str, object]]:
    """(archive folder, layer) of every layer that keeps asset files (an `asset_names()`
    method), in Keras's walk: the folder is `assets/` + the layer's weights path."""
    found, seen = [], set()
    for group in weights_h5.keras3_weight_plan(model):
        owner = group.owner
        if owner is None or id(owner) in seen or not callable(getattr(owner, "asset_names", None)):
            continue
        seen.add(id(owner))
        found.append((f"{ASSETS_PREFIX}{group.path}/", owner))
    return found


def _read_archive_assets(model, archive: zipfile.ZipFile, members: dict, path: Path) -> set:
    """Give each asset-keeping layer its files (each size-checked before it is read); returns
    the member names read."""
    used = set()
    for folder, layer in asset_layers(model):
        files = {}
        for name in layer.asset_names():
            member = members.get(folder + name)
            if member is None:
                continue
            files[name] = _read_member(archive, member, MAX_ASSET_BYTES, path)
            used.add(member.filename)
        with naming_source(path):
            layer.load_assets(files, f"{path}:{folder}")
    return used


def model_from_config_bytes(data: bytes, source: str, path: Path):
    """The model of a `config.json` (an archive member, or a file of an unzipped model folder):
    UTF-8 JSON through the safe config reader, training settings dropped, weights left to be
    read (`weights_follow`). `source` names the config in messages, `path` the model file."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{source} is not UTF-8 text") from exc
    with naming_source(path):
        document = config_from_json(text, source)
        if not isinstance(document, dict):
            raise FormatError(f"{source}: the config must be a JSON object, got "
                              f"{type(document).__name__}")
        # Training settings (optimizer, loss) are not part of an inference model.
        document = {key: value for key, value in document.items() if key != "compile_config"}
        with weights_follow():
            return model_from_config(document, source)


def load_archive_weights(model, path: str | os.PathLike) -> None:
    """`model.load_weights("x.keras")`: only the archive's weights, into an existing model."""
    path = Path(path)
    with _open_archive(path) as (archive, members):
        if WEIGHTS_MEMBER not in members:
            raise FormatError(f"{path}: the archive has no {WEIGHTS_MEMBER} "
                              f"(members: {_listing(members)})")
        _read_archive_weights(model, archive, members, path)


@contextlib.contextmanager
def _open_archive(path: Path) -> Iterator[tuple]:
    check_regular_file(path, "a .keras archive")
    expect_zip(path)
    try:
        archive = zipfile.ZipFile(path, "r")
    except _ZIP_ERRORS as exc:
        raise FormatError(f"{path}: not a readable .keras archive ({_message(exc)})") from exc
    try:
        members = _checked_members(archive, path)
        if NPZ_MEMBER in members:
            with archive.open(members[NPZ_MEMBER]) as npz:
                refuse_npz_weights(npz, f"{path}:{NPZ_MEMBER}")
        if SHARDED_MEMBER in members:
            raise UnsupportedError(f"{path}: the archive holds sharded weights "
                                   f"({SHARDED_MEMBER}), which Keras 3.15.1 does not write into "
                                   f"a .keras archive; modelio reads {WEIGHTS_MEMBER} only")
        yield archive, members
    except ModelioError:
        raise
    except _ZIP_ERRORS as exc:
        raise FormatError(f"{path}: damaged .keras archive ({_message(exc)})") from exc
    finally:
        archive.close()


_DRIVE = re.compile(r"^[A-Za-z]:")


def _checked_members(archive: zipfile.ZipFile, path: Path) -> dict:
    """Name -> ZipInfo, after refusing absurd counts, unsafe or duplicate names and bombs."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise FormatError(f"{path}: the archive has {len(infos)} members; a .keras archive has a "
                          f"handful (limit {MAX_MEMBERS})")
    members = {}
    for info in infos:
        name = info.filename
        parts = name.split("/")
        if (not name or name.startswith("/") or "\\" in name or "\x00" in name
                or _DRIVE.match(name) or ".." in parts):
            raise FormatError(f"{path}: refusing archive member name {name!r} (absolute or "
                              f"escaping the archive)")
        if name in members:
            raise FormatError(f"{path}: the archive lists member {name!r} twice")
        if info.flag_bits & 0x1:
            raise FormatError(f"{path}: member {name!r} is encrypted")
        if (info.file_size > EXPANSION_FLOOR_BYTES
                and info.file_size > MAX_EXPANSION * max(info.compress_size, 1)):
            raise FormatError(f"{path}: member {name!r} declares {info.file_size} bytes stored in "
                              f"{info.compress_size}: refusing a likely decompression bomb")
        members[name] = info
    return members


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int,
                 path: Path) -> bytes:
    if info.file_size > limit:
        raise FormatError(f"{path}: {info.filename} declares {info.file_size} bytes, more than the "
                          f"{limit} allowed")
    with archive.open(info) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FormatError(f"{path}: {info.filename} is larger than {limit} bytes")
    return data


def weights_size_limit(model) -> tuple[int, int]:
    """(bytes the model's weights need, the most bytes a file holding them may have)."""
    plan = weights_h5.keras3_weight_plan(model)
    needed = sum(int(weight.value.nbytes) for group in plan for weight in group.weights)
    entries = len(plan) + sum(len(group.weights) for group in plan)
    return needed, (WEIGHTS_SIZE_FACTOR * needed + WEIGHTS_OVERHEAD_BYTES
                    + WEIGHTS_OVERHEAD_PER_ENTRY * entries)


def _read_archive_weights(model, archive: zipfile.ZipFile, members: dict, path: Path) -> None:
    info = members[WEIGHTS_MEMBER]
    needed, limit = weights_size_limit(model)
    if info.file_size > limit:
        raise FormatError(f"{path}: {WEIGHTS_MEMBER} declares {info.file_size} bytes but the "
                          f"model's weights need {needed}; refusing an oversized member "
                          f"(limit {limit})")
    source = f"{path}:{WEIGHTS_MEMBER}"
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size == info.file_size:
        _read_stored_weights(model, path, info, source)
        return
    handle, temporary = tempfile.mkstemp(prefix="modelio-", suffix=".weights.h5")
    temporary = Path(temporary)
    try:
        with os.fdopen(handle, "wb") as target, archive.open(info) as member:
            copied = _copy_limited(member, target, limit, source)
        if copied != info.file_size:
            raise FormatError(f"{source}: the member holds {copied} bytes, the archive's "
                              f"directory says {info.file_size}")
        try:
            with open_hdf5(temporary, source) as h5file:
                weights_h5.read_keras3_weights(model, h5file, source)
        except ModelioError as exc:
            message = str(exc).replace(str(temporary), source)
            raise type(exc)(message) from exc
    except ModelioError:
        raise
    except _ZIP_ERRORS as exc:
        raise FormatError(f"{source}: cannot read the weights ({_message(exc)})") from exc
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def _read_stored_weights(model, path: Path, info: zipfile.ZipInfo, source: str) -> None:
    """Read an uncompressed weights member (Keras stores them so) where it lies in the archive:
    its CRC is checked first, then h5py reads a window of the archive file; no temporary copy."""
    try:
        with open(path, "rb") as handle:
            handle.seek(info.header_offset)
            header = handle.read(30)
            if len(header) != 30 or header[:4] != b"PK\x03\x04":
                raise FormatError(f"{source}: the member's local header is damaged")
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            start = info.header_offset + 30 + name_length + extra_length
            handle.seek(start)
            crc, left = 0, info.file_size
            while left:
                chunk = handle.read(min(left, _CHUNK * 4))
                if not chunk:
                    raise FormatError(f"{source}: the archive ends inside the weights member")
                crc, left = zlib.crc32(chunk, crc), left - len(chunk)
            if crc != info.CRC:
                raise FormatError(f"{source}: the weights fail their CRC check (damaged archive)")
        with open_hdf5(path, source, byte_range=(start, info.file_size)) as h5file:
            weights_h5.read_keras3_weights(model, h5file, source)
    except ModelioError:
        raise
    except (OSError, ValueError, struct.error) as exc:
        raise FormatError(f"{source}: cannot read the weights ({_message(exc)})") from exc


def _copy_limited(member, target, limit: int, source: str) -> int:
    copied = 0
    while True:
        chunk = member.read(_CHUNK)
        if not chunk:
            return copied
        copied += len(chunk)
        if copied > limit:
            raise FormatError(f"{source}: larger than the {limit} bytes allowed")
        target.write(chunk)


def _listing(members: dict) -> str:
    names = sorted(members)
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    return shown or "none"


# ----- writing ------------------------------------------------------------------------------------

def model_to_json_text(model, path: Path) -> str:
    """The `config.json` text of `model` (a FormatError naming `path` when it cannot be JSON)."""
    try:
        return json.dumps(model_to_config(model))
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{path}: the model's config cannot be written as JSON "
                          f"({_message(exc)})") from exc


def save_keras_archive(model, path: str | os.PathLike) -> None:
    """Write `model` as a `.keras` archive that Keras 3 loads with `keras.saving.load_model`.
    Atomic: a failure leaves no partial file and an existing file untouched."""
    import h5py

    from ..version import __version__

    path = Path(path)
    config_text = model_to_json_text(model, path)
    metadata_text = json.dumps({
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "modelio_version": __version__,
    })
    # The weights are written to a scratch file beside the archive (unnamed where the system
    # allows it, so that a killed save leaves no copy), then stored into the zip.
    with atomic_path(path) as temporary, scratch_path(path) as weights_file:
        try:
            with open(weights_file, "w+b") as raw, h5py.File(raw, "w") as h5file:
                weights_h5.write_keras3_weights(model, h5file)
            with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED) as archive:
                archive.writestr(METADATA_MEMBER, metadata_text)
                archive.writestr(CONFIG_MEMBER, config_text)
                archive.write(weights_file, WEIGHTS_MEMBER)
                for folder, layer in asset_layers(model):
                    for name, data in layer.save_assets().items():
                        archive.writestr(folder + name, data)
        except ModelioError:
            raise
        except (OSError, ValueError, TypeError, RuntimeError, zipfile.LargeZipFile) as exc:
            raise FormatError(f"{path}: cannot write the archive ({_message(exc)})") from exc


def _message(exc: BaseException) -> str:
    return str(exc).split("\n")[0][:200] or type(exc).__name__


__all__ = ["load_archive_weights", "load_keras_archive", "save_keras_archive"]
