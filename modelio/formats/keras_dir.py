"""Unzipped Keras 3 models (`model.save("folder", zipped=False)`): a folder holding what a
`.keras` archive holds, read and written.

    folder/metadata.json      {"keras_version": ..., "date_saved": ...}
    folder/config.json        the model's config document
    folder/model.weights.h5   the weights, Keras 3 layout (see `weights_h5`)
    folder/assets/            files of layers that have them (modelio has none: ignored, warned)

Keras (keras/src/saving/saving_lib.py) loads such a folder when the path given is a directory
holding `config.json`, and refuses `zipped=False` for a path ending in `.keras`; modelio does
the same on save and reads any folder holding `config.json`.

Reading: every file is opened with `files.open_inside_folder` (regular files inside the folder,
symlinks resolved, FIFOs and devices never opened), the config through the safe config reader
with the archive's size bound, the weights by the isolated HDF5 reader given the very file that
was checked, with the archive's size limit. Keras's `zipped=False, weights_format="npz"` writes
npz bytes under the name `model.weights.h5` (a Keras bug); that file is refused by name.

Writing is a folder commit: the new folder is written as a sibling `.modelio-<hex>.tmpdir`
(locked with flock while it is written), then swapped with the old folder in one
`renameat2(RENAME_EXCHANGE)` where the system has it (elsewhere: the old folder renamed aside,
the new one renamed in), and the old folder, now under the temporary name, is deleted. A failed
or killed save leaves the old folder intact; a killed save may leave a `.tmpdir` that the next
save in that folder removes once its lock is free. An existing path that is not a model folder
(a file, or a non-empty folder without `config.json`) is never replaced.
"""

import contextlib
import ctypes
import ctypes.util
import datetime
import json
import os
import re
import secrets
import shutil
import stat
import warnings
from pathlib import Path

from ..atomic import remove_stale_temporaries
from ..errors import FormatError, ModelioError
from ..files import open_inside_folder, path_of_open_file
from . import weights_h5
from .hdf5 import open_hdf5
from .keras_zip import (
    CONFIG_MEMBER,
    KERAS_VERSION,
    MAX_CONFIG_BYTES,
    METADATA_MEMBER,
    WEIGHTS_MEMBER,
    model_from_config_bytes,
    model_to_json_text,
    weights_size_limit,
)
from .npz_weights import NPZ_MEMBER, WHY, npz_under_h5_name

try:
    import fcntl
except ImportError:  # no flock: temporaries are removed once old (see _remove_stale_folders)
    fcntl = None

ASSETS_FOLDER = "assets"
TEMPORARY_FOLDER = re.compile(r"\.modelio-[0-9a-f]{12}\.tmpdir")
STALE_WITHOUT_LOCKS_SECONDS = 3600.0
_RENAME_EXCHANGE = 2


def is_model_folder(path: str | os.PathLike) -> bool:
    """True when `path` is a directory holding `config.json` (what Keras loads as unzipped)."""
    path = Path(path)
    try:
        return path.is_dir() and os.path.lexists(path / CONFIG_MEMBER)
    except (OSError, ValueError):  # a name too long, a NUL byte: the file readers say so
        return False


# ----- reading ------------------------------------------------------------------------------------

def load_model_folder(path: str | os.PathLike):
    """Load the unzipped model in folder `path`."""
    path = Path(path)
    folder = _resolved_folder(path)
    data = _read_small(path / CONFIG_MEMBER, folder, f"the config of {path}", MAX_CONFIG_BYTES)
    model = model_from_config_bytes(data, str(path / CONFIG_MEMBER), path)
    load_folder_weights(model, path)
    assets = path / ASSETS_FOLDER
    if assets.is_dir() and any(assets.iterdir()):
        warnings.warn(f"{path}: the model's assets/ folder was ignored (modelio has no layers "
                      f"that read asset files)", stacklevel=2)
    return model


def load_folder_weights(model, path: str | os.PathLike) -> None:
    """The weights of the unzipped model in folder `path`, into `model`."""
    path = Path(path)
    folder = _resolved_folder(path)
    weights = path / WEIGHTS_MEMBER
    if not os.path.lexists(weights):
        npz = " (npz weights: " + WHY + ")" if os.path.lexists(path / NPZ_MEMBER) else ""
        raise FormatError(f"{path}: the model folder has no {WEIGHTS_MEMBER}{npz}")
    needed, limit = weights_size_limit(model)
    with open_inside_folder(weights, folder, f"the weights of {path}") as checked:
        size = os.fstat(checked.fileno()).st_size
        if size > limit:
            raise FormatError(f"{weights}: {size} bytes, but the model's weights need {needed}; "
                              f"refusing an oversized weights file (limit {limit})")
        if npz_under_h5_name(checked.read(4)):
            raise FormatError(f"{weights}: npz bytes under the .h5 name (what Keras 3.15.1 writes "
                              f"for zipped=False, weights_format='npz'); {WHY}")
        with open_hdf5(path_of_open_file(checked, weights.resolve()), str(weights),
                       byte_range=(0, size)) as handle:
            weights_h5.read_keras3_weights(model, handle, str(weights))


def folder_metadata(path: Path) -> dict:
    """`keras_version`, `date_saved` (and `backend`) from the folder's metadata.json."""
    folder = _resolved_folder(path)
    if not os.path.lexists(path / METADATA_MEMBER):
        return {}
    data = _read_small(path / METADATA_MEMBER, folder, f"the metadata of {path}", 1024 * 1024)
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"{path / METADATA_MEMBER}: not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise FormatError(f"{path / METADATA_MEMBER}: expected a JSON object")
    return {key: document[key] for key in ("keras_version", "backend", "date_saved")
            if isinstance(document.get(key), str)}


def _resolved_folder(path: Path) -> Path:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not stat.S_ISDIR(mode):
        raise FormatError(f"{path}: not a model folder")
    return path.resolve()


def _read_small(path: Path, folder: Path, what: str, limit: int) -> bytes:
    if not os.path.lexists(path):
        raise FormatError(f"{path}: no such file ({what})")
    with open_inside_folder(path, folder, what) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise FormatError(f"{path}: {size} bytes, more than the {limit} allowed for {what}")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FormatError(f"{path}: larger than the {limit} bytes allowed for {what}")
    return data


# ----- writing ------------------------------------------------------------------------------------

def save_model_folder(model, path: str | os.PathLike) -> None:
    """Write `model` unzipped into folder `path` (Keras loads it with `keras.saving.load_model`),
    replacing an existing model folder there in one commit (see the module docstring)."""
    import h5py

    from ..version import __version__

    path = Path(path)
    if path.name.lower().endswith(".keras"):
        raise FormatError(f"{path}: an unzipped model is a folder whose name does not end in "
                          f".keras (as Keras requires for zipped=False)")
    _check_replaceable(path)
    config_text = model_to_json_text(model, path)
    metadata_text = json.dumps({
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "modelio_version": __version__,
    })
    parent = path.parent
    _remove_stale_folders(parent)
    remove_stale_temporaries(parent)
    with _temporary_folder(parent, path) as temporary:
        try:
            _write_file(temporary / METADATA_MEMBER, metadata_text.encode("utf-8"))
            _write_file(temporary / CONFIG_MEMBER, config_text.encode("utf-8"))
            with open(temporary / WEIGHTS_MEMBER, "w+b") as raw:
                with h5py.File(raw, "w") as h5file:
                    weights_h5.write_keras3_weights(model, h5file)
                raw.flush()
                os.fsync(raw.fileno())
            os.mkdir(temporary / ASSETS_FOLDER)
            _sync_folder(temporary)
            _commit(temporary, path)
        except ModelioError:
            raise
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            raise FormatError(f"{path}: cannot write the model folder "
                              f"({_message(exc)})") from exc


def _check_replaceable(path: Path) -> None:
    if "\0" in str(path):
        raise FormatError(f"{str(path)!r}: not a usable folder name (it contains a NUL byte)")
    try:
        if not path.parent.is_dir():
            raise FormatError(f"{path}: folder {path.parent} does not exist")
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise FormatError(f"{path}: cannot use ({exc.strerror or exc})") from exc
    if not stat.S_ISDIR(mode):
        raise FormatError(f"{path}: exists and is not a folder; refusing to replace it with an "
                          f"unzipped model")
    if any(os.scandir(path)) and not os.path.lexists(path / CONFIG_MEMBER):
        raise FormatError(f"{path}: a folder that holds no {CONFIG_MEMBER} (not a Keras model "
                          f"folder); refusing to replace it")


@contextlib.contextmanager
def _temporary_folder(parent: Path, target: Path):
    """A new locked folder beside `target`; removed on leaving unless it was renamed away (after
    an exchange it holds the old model and is removed too)."""
    while True:
        temporary = parent / f".modelio-{secrets.token_hex(6)}.tmpdir"
        try:
            os.mkdir(temporary, 0o700)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise FormatError(f"{target}: cannot create a folder in {parent} "
                              f"({exc.strerror or exc})") from exc
    fd = os.open(temporary, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        if fcntl is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_SH)
        yield temporary
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _commit(temporary: Path, target: Path) -> None:
    """Put the folder `temporary` at `target`: a rename when there is none, else an exchange
    (the old folder ends up at `temporary`, which the caller removes)."""
    mode = os.umask(0)
    os.umask(mode)
    os.chmod(temporary, 0o777 & ~mode)
    if not os.path.lexists(target):
        os.rename(temporary, target)
    elif not _exchange(temporary, target):
        aside = temporary.with_name(f".modelio-{secrets.token_hex(6)}.tmpdir")
        os.rename(target, aside)
        try:
            os.rename(temporary, target)
        except OSError:
            os.rename(aside, target)  # put the old model back
            raise
        os.rename(aside, temporary)  # the caller removes it
    _sync_folder(target.parent)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step with Linux's renameat2(RENAME_EXCHANGE); False where the
    system or file system does not offer it."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    at_cwd = -100
    result = renameat2(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second),
                       _RENAME_EXCHANGE)
    return result == 0


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_stale_folders(parent: Path) -> None:
    """Delete `.modelio-*.tmpdir` folders whose writer is gone (their lock is free)."""
    with contextlib.suppress(OSError):
        names = [entry.name for entry in os.scandir(parent)
                 if TEMPORARY_FOLDER.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)]
        for name in names:
            with contextlib.suppress(OSError):
                _remove_if_abandoned(parent / name)


def _remove_if_abandoned(folder: Path) -> None:
    if fcntl is None:
        import time

        if time.time() - folder.stat().st_mtime > STALE_WITHOUT_LOCKS_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # its writer is alive
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(fd)


def _message(exc: BaseException) -> str:
    return (getattr(exc, "strerror", None) or str(exc).split("\n")[0][:200]
            or type(exc).__name__)


__all__ = ["folder_metadata", "is_model_folder", "load_folder_weights", "load_model_folder",
           "save_model_folder"]
