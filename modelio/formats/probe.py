"""What a file is, checked before anything reads it: a regular file (never a directory, FIFO or
device, which could block or never end), the signature its first bytes carry (zip, HDF5), and a
text file's content read only up to a sane size.

Every refusal is a FormatError naming the file.
"""

import os
import stat
import zipfile
from pathlib import Path

from ..errors import FormatError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# Architecture files larger than this are refused before reading: a config is text describing
# layers, never the weights, and no real one comes near this size (a 1000-layer model's is 2 MB).
# It is the JSON limit; YAML's is lower (see formats/config.py).
MAX_CONFIG_BYTES = 64 * 1024 * 1024


def check_regular_file(path: Path, kind: str = "a model file") -> None:
    """Refuse `path` unless it names an existing regular file (symlinks followed). `kind` says
    what the file should have been, for the message about a directory."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise FormatError(f"{path}: no such file") from exc
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise FormatError(f"{str(path)[:200]!r}: not a usable path ({exc})") from exc
    if stat.S_ISDIR(mode):
        raise FormatError(f"{path}: is a directory, not {kind}")
    if not stat.S_ISREG(mode):
        raise FormatError(f"{path}: not a regular file")


def is_hdf5(path: str | os.PathLike) -> bool:
    """True when the file starts with the HDF5 signature (at offset 0, as Keras writes it)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(HDF5_MAGIC)) == HDF5_MAGIC
    except OSError:
        return False


def expect_zip(path: Path) -> None:
    """Refuse a `.keras` file that is not a zip (saying so when it is an HDF5 file instead)."""
    if not zipfile.is_zipfile(path):
        kind = " (it is an HDF5 file: use the .h5 extension)" if is_hdf5(path) else ""
        raise FormatError(f"{path}: not a .keras archive: the file is not a zip{kind}")


def expect_hdf5(path: Path) -> None:
    """Refuse a file that is not HDF5 (saying so when it is a zip, i.e. a `.keras` archive)."""
    if not is_hdf5(path):
        kind = " (it is a zip: use the .keras extension)" if zipfile.is_zipfile(path) else ""
        raise FormatError(f"{path}: not an HDF5 file{kind}")


def read_text(path: Path) -> str:
    """The file's UTF-8 text, read only if it is at most `MAX_CONFIG_BYTES` long (the caller has
    checked that it is a regular file)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size  # read() of a maximum pre-allocates it all
            if size > MAX_CONFIG_BYTES:
                _refuse_size(path, size)
            data = handle.read(size + 1)  # + 1: a file that grew since is noticed
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if len(data) > MAX_CONFIG_BYTES:
        _refuse_size(path, len(data))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not UTF-8 text (is it a binary file?)") from exc


def _refuse_size(path: Path, size: int):
    raise FormatError(f"{path}: {size:,} bytes or more, larger than the {MAX_CONFIG_BYTES:,} bytes "
                      f"modelio reads for a model config")
