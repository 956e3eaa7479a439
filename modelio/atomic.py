"""Atomic file writes: a new file is written where no reader sees it, made durable (fsync), then
put in place with one rename, so that a reader sees the old file or the complete new one.

On Linux the new file has no name at all (`O_TMPFILE` in the target's folder): a failed or killed
save leaves nothing behind. It gets a name only for the commit: it is linked into the folder
(directly as the target when there is none yet, else as a short temporary that is renamed over
the target), and the folder is fsynced. Elsewhere, and on file systems that refuse `O_TMPFILE`,
the new file is a short named temporary `.modelio-<12 hex digits>.tmp` beside the target (short,
so that a 255-byte target name still works).

A temporary name is held with a shared `flock` by the process writing it, from its creation until
it is renamed away. Every new file first removes the folder's temporaries whose lock is free (their
writer died, e.g. killed with SIGKILL); a live one is never touched, as its writer holds the lock.

Writers get a *path* that this process can open for writing (`/proc/self/fd/N` for an unnamed
file). libhdf5 needs a real file name for paths it opens itself, so HDF5 writers open the path
with `open(path, "w+b")` and give h5py the file object.

`folder_lock` serializes multi-file commits in one folder (a JSON/YAML architecture and its
weights, see modelio/formats/architecture_pair.py).
"""

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import FormatError

try:
    import fcntl
except ImportError:  # Windows: no flock; an open file cannot be deleted there anyway
    fcntl = None

TEMPORARY_PREFIX = ".modelio-"
TEMPORARY_SUFFIX = ".tmp"
TEMPORARY_NAME = re.compile(r"\.modelio-[0-9a-f]{12}\.tmp")
# Without flock, a temporary is taken for abandoned once it is this old.
STALE_WITHOUT_LOCKS_SECONDS = 3600.0
# errno values with which a file system says it cannot make unnamed files (or an old kernel that
# reads O_TMPFILE as O_DIRECTORY says the folder is a directory).
_NO_UNNAMED_FILES = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT}
# errno values with which a file system says it cannot fsync a folder.
_NO_FOLDER_SYNC = {errno.EINVAL, errno.EBADF, errno.EOPNOTSUPP, errno.EACCES, errno.EPERM}
_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


class NewFile:
    """A file being written for `target`, invisible under the target's name until `commit()`.

    Make one with `new_file(target)`; write through `path`. `commit()` makes the content durable
    and replaces the target in one rename; a NewFile that is closed without a commit vanishes."""

    def __init__(self, target: Path, folder_fd: int | None, fd: int, name: str | None):
        self.target, self.folder, self._folder_fd = target, target.parent, folder_fd
        self._fd, self._name = fd, name  # name: None while the file is unnamed (O_TMPFILE)
        # the final mode is set at the commit: a read-only mode now would stop the writer
        self._mode = _mode_for(target)
        self._unnamed = name is None
        self.committed = False

    @property
    def path(self) -> Path:
        """Where a writer in this process opens the new file."""
        if self._unnamed:
            return Path(f"/proc/self/fd/{self._fd}")
        return self.folder / self._name

    def commit(self) -> None:
        """fsync the content, put it in place of the target with one rename, fsync the folder."""
        if hasattr(os, "fchmod"):
            os.fchmod(self._fd, self._mode)
        else:
            os.chmod(self.path, self._mode)
        os.fsync(self._fd)
        if self._unnamed:
            if self._link_as(self.target.name):  # no target yet: the link is the commit
                self._name = self.target.name
                self.committed = True
                _sync_folder(self._folder_fd)
                return
            self._name = self._link_as_temporary()
        os.replace(self.folder / self._name, self.target)
        self._name = self.target.name
        self.committed = True
        _sync_folder(self._folder_fd)

    def close(self) -> None:
        """Release the file; one that was not committed is deleted (an unnamed one just ends)."""
        if not self.committed and self._name is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.folder / self._name)
        with contextlib.suppress(OSError):
            os.close(self._fd)
        if self._folder_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._folder_fd)
            self._folder_fd = None

    def _link_as(self, name: str) -> bool:
        """Give the unnamed file `name` in the folder; False when that name is taken."""
        try:
            # dst_dir_fd makes Python call linkat() with AT_SYMLINK_FOLLOW, which links the file
            # the /proc entry stands for (plain link() would try to link the /proc entry itself)
            os.link(f"/proc/self/fd/{self._fd}", name, dst_dir_fd=self._folder_fd,
                    follow_symlinks=True)
        except FileExistsError:
            return False
        return True

    def _link_as_temporary(self) -> str:
        while True:
            name = _temporary_name()
            if self._link_as(name):
                return name


@contextlib.contextmanager
def new_file(target: str | os.PathLike) -> Iterator[NewFile]:
    """A `NewFile` for `target`, deleted on leaving the block unless it was committed.

    The target's folder must exist; a target that is a directory, a path with a NUL byte, a
    file name too long for the file system and a folder that refuses a new file are each a
    FormatError naming the target, raised before anything is written."""
    target = _checked_target(target)
    folder = target.parent
    folder_fd = _open_folder(folder)
    try:
        remove_stale_temporaries(folder)
        fd, name = _create(folder, folder_fd)
    except BaseException as exc:
        if folder_fd is not None:
            os.close(folder_fd)
        if isinstance(exc, OSError):
            raise FormatError(f"{target}: cannot create a file in {folder} "
                              f"({_reason(exc)})") from exc
        raise
    pending = NewFile(target, folder_fd, fd, name)
    try:
        yield pending
    finally:
        pending.close()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a path to write the new content of `target` to; when the block ends without an
    error it replaces `target` (see `NewFile.commit`). On any failure nothing is left behind and
    an existing `target` is untouched. File system errors (a full disk, a read-only folder, a
    target that is a directory, a NUL in the path) are FormatErrors naming `target`."""
    target = _checked_target(target)
    with new_file(target) as pending:
        try:
            yield pending.path
            pending.commit()
        except OSError as exc:
            raise FormatError(f"{target}: cannot write the file ({_reason(exc)})") from exc


@contextlib.contextmanager
def scratch_path(beside: str | os.PathLike) -> Iterator[Path]:
    """Yield a path for a scratch file in the folder of `beside` (the same file system as the
    file being saved), deleted at the end of the block; a killed process leaves none (unnamed
    on Linux, else a temporary a later save removes)."""
    with new_file(beside) as pending:
        yield pending.path


def write_text_atomic(target: str | os.PathLike, text: str) -> None:
    """Write `text` (UTF-8, line ends kept as they are) to `target` atomically (see `atomic_path`)."""
    write_bytes_atomic(target, text.encode("utf-8"))


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `target` atomically (see `atomic_path`)."""
    with atomic_path(target) as temporary, open(temporary, "wb") as handle:
        handle.write(data)


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive `flock` on `folder` for the block: modelio saves that commit several
    files in one folder take it, so that two of them cannot interleave. Waits for a save that
    holds it. Where the lock is not available (no flock, or a file system that refuses it on a
    folder), the block runs without it."""
    fd = _open_folder(folder) if fcntl is not None else None
    try:
        if fd is not None:
            with contextlib.suppress(OSError):  # e.g. NFS refuses flock on a folder
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def remove_stale_temporaries(folder: str | os.PathLike) -> list[str]:
    """Delete the `.modelio-*.tmp` files in `folder` whose writer is gone (their lock is free);
    return their names. Errors are ignored: cleaning up never fails a save."""
    removed = []
    try:
        names = [entry.name for entry in os.scandir(folder) if TEMPORARY_NAME.fullmatch(entry.name)]
    except OSError:
        return removed
    for name in names:
        path = Path(folder) / name
        with contextlib.suppress(OSError):
            if _remove_if_abandoned(path):
                removed.append(name)
    return removed


# ----- helpers ------------------------------------------------------------------------------------

def _checked_target(target: str | os.PathLike) -> Path:
    """`target` as a Path whose folder exists and which is not a directory, or a FormatError."""
    if isinstance(target, bytes):
        target = os.fsdecode(target)
    target = Path(target)
    if "\0" in str(target):
        raise FormatError(f"{str(target)!r}: not a usable file name (it contains a NUL byte)")
    folder = target.parent
    try:
        folder_is_dir = folder.is_dir()
        target_mode = os.stat(target).st_mode
    except FileNotFoundError:
        target_mode = None
    except OSError as exc:
        raise FormatError(f"{target}: not a usable file name ({_reason(exc)})") from exc
    if not folder_is_dir:
        raise FormatError(f"{target}: folder {folder} does not exist")
    if target_mode is not None and stat.S_ISDIR(target_mode):
        raise FormatError(f"{target}: is a directory; give a file name to save to")
    return target


def _open_folder(folder: Path) -> int | None:
    """The folder open for linkat and fsync, or None (not POSIX, or a folder that can be
    written to but not read: then named temporaries are used)."""
    if os.name != "posix":
        return None
    try:
        return os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _FLAGS)
    except OSError:
        return None


def _create(folder: Path, folder_fd: int | None) -> tuple[int, str | None]:
    """An open (fd, name) for a new file in `folder`: name None for an unnamed file."""
    fd = _create_unnamed(folder) if folder_fd is not None else None
    if fd is not None:
        return fd, None
    while True:
        name = _temporary_name()
        fd = os.open(folder / name, os.O_RDWR | os.O_CREAT | os.O_EXCL |
                     getattr(os, "O_NOFOLLOW", 0) | _FLAGS, 0o600)
        try:
            _hold(fd)
            # a cleaner may have taken the fresh file for abandoned before the lock was held
            if _same_file(os.fstat(fd), folder / name):
                return fd, name
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _create_unnamed(folder: Path) -> int | None:
    """An unnamed file (O_TMPFILE) in `folder`, or None where there is no such thing."""
    if not hasattr(os, "O_TMPFILE") or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        fd = os.open(folder, os.O_TMPFILE | os.O_RDWR | _FLAGS, 0o600)
    except OSError as exc:
        if exc.errno in _NO_UNNAMED_FILES:
            return None
        raise
    try:
        _hold(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _hold(fd: int) -> None:
    """Mark the file as being written: a shared lock, which a cleaner's exclusive try fails on
    (shared, so that an HDF5 reader's own lock on a file just committed is not refused)."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_SH)


def _remove_if_abandoned(path: Path) -> bool:
    if fcntl is None:
        if time.time() - path.stat().st_mtime < STALE_WITHOUT_LOCKS_SECONDS:
            return False
        path.unlink()
        return True
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK | _FLAGS)
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # its writer holds it
        if not _same_file(opened, path):  # committed (renamed away) meanwhile
            return False
        path.unlink()
        return True
    finally:
        os.close(fd)


def _same_file(opened: os.stat_result, path: Path) -> bool:
    try:
        current = os.lstat(path)
    except FileNotFoundError:
        return False
    return (current.st_dev, current.st_ino) == (opened.st_dev, opened.st_ino)


def _temporary_name() -> str:
    return f"{TEMPORARY_PREFIX}{secrets.token_hex(6)}{TEMPORARY_SUFFIX}"


def _sync_folder(folder_fd: int | None) -> None:
    """Make the rename durable. Folders some file systems cannot fsync are left as they are."""
    if folder_fd is None:
        return
    try:
        os.fsync(folder_fd)
    except OSError as exc:
        if exc.errno not in _NO_FOLDER_SYNC:
            raise


def _mode_for(target: Path) -> int:
    """The replaced file's mode, or what a plain open() would give a new file."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__
