"""Opening a file that another file names: the weights beside a JSON/YAML architecture, the
external data of an ONNX model. A model file from a stranger must not make modelio read
anything outside its own folder, nor block on a FIFO or read an endless device.

`open_inside_folder` is the one rule for both (formats and onnx may each import it; this module
imports nothing of modelio but its errors). `path_of_open_file` names the file it opened for a
library, or a child process, that opens files by name.
"""

import os
import stat
from pathlib import Path
from typing import BinaryIO

from .errors import FormatError

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def open_inside_folder(path: str | os.PathLike, folder: str | os.PathLike, what: str) -> BinaryIO:
    """Open `path` for reading in binary mode, or refuse with a FormatError naming `path` and
    `what` (e.g. "the weights beside model.json").

    With every symlink resolved, `path` must be a regular file inside `folder` (itself resolved;
    subfolders count as inside). A symlink to a file elsewhere, a dangling one, a FIFO, a device,
    a socket or a directory is refused. The type is checked before the file is opened, so a FIFO
    or device is never opened; the open itself does not block and does not follow a symlink in
    the last step, and the opened file must be the one checked (a swap in between is refused).
    The caller closes the returned file."""
    path = Path(path)
    real_folder, real = _resolved(Path(folder), path, what), _resolved(path, path, what)
    if real_folder not in real.parents:
        raise FormatError(f"{path}: {what} resolves to {real}, outside the folder {real_folder}; "
                          f"only a file inside the model's folder is read")
    return open_regular_file(real, path, what, follow_symlinks=False)


def open_regular_file(target: str | os.PathLike, named: str | os.PathLike, what: str,
                      follow_symlinks: bool = True) -> BinaryIO:
    """Open `target` for reading in binary mode if it is a regular file, checked before it is
    opened (a FIFO or a device is never opened) and again on the open descriptor, which must be
    the very file checked; the open never blocks and, with `follow_symlinks=False`, does not
    follow a symlink in the last step. Refusals are FormatErrors naming `named` (the file the
    user gave) and `what` (e.g. "the external data of 'w'"). The caller closes the file."""
    named = Path(named)
    checked = _stat(Path(target), named, what)
    _require_regular(checked.st_mode, named, what)
    flags = _OPEN_FLAGS if not follow_symlinks else _OPEN_FLAGS & ~getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        raise FormatError(f"{named}: cannot open {what} ({exc.strerror or exc})") from exc
    try:
        opened = os.fstat(fd)
        _require_regular(opened.st_mode, named, what)
        if (opened.st_dev, opened.st_ino) != (checked.st_dev, checked.st_ino):
            raise FormatError(f"{named}: {what} was replaced while being opened")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def path_of_open_file(handle: BinaryIO, path: str | os.PathLike) -> str:
    """A name for the very file `handle` has open, which this process and its children can open
    again (`/proc/<pid>/fd/<n>` on Linux), so that a library that opens files by name (libhdf5,
    in modelio's isolated HDF5 reader) reads the file that was checked, not whatever the name
    points to by then. Where there is no such name, `path` (the checked file's resolved path)."""
    proc_entry = f"/proc/{os.getpid()}/fd/{handle.fileno()}"
    return proc_entry if os.path.exists(proc_entry) else str(path)


def _resolved(path: Path, named: Path, what: str) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise FormatError(f"{named}: cannot resolve {what} (a symlink loop?)") from exc


def _stat(real: Path, named: Path, what: str) -> os.stat_result:
    try:
        return os.stat(real)
    except FileNotFoundError as exc:
        raise FormatError(f"{named}: {what} does not exist (a dangling symlink?)") from exc
    except OSError as exc:
        raise FormatError(f"{named}: cannot read {what} ({exc.strerror or exc})") from exc


def _require_regular(mode: int, named: Path, what: str) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    raise FormatError(f"{named}: {what} is {kind}, not a regular file; refusing to read it")
