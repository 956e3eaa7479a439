"""Atomic file writes: write a temporary file beside the target, then rename it into place."""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import FormatError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces `target`.

    On any failure the temporary file is removed and an existing `target` is left untouched.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FormatError(f"{target}: folder {folder} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        # mkstemp makes the file private (0600); give it the mode a plain open() would, or
        # the replaced file's own mode
        os.chmod(temporary, _mode_for(target))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise


def _mode_for(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_text_atomic(target: str | os.PathLike, text: str) -> None:
    """Write `text` (UTF-8) to `target` atomically (see `atomic_path`)."""
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")
