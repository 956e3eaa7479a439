"""`load_model` / `save_model`: pick the format from the file's extension and contents."""

import os
import stat
from pathlib import Path

from ..errors import FormatError, UnsupportedError
from .atomic import write_text_atomic
from .config import model_from_json, model_from_yaml, model_to_json, model_to_yaml

# Architecture files larger than this are refused before reading: a config is text describing
# layers, never the weights, and no real one comes near this size.
MAX_CONFIG_BYTES = 256 * 1024 * 1024

READERS = {".json": model_from_json, ".yaml": model_from_yaml, ".yml": model_from_yaml}
PLANNED = (".keras", ".h5", ".hdf5", ".onnx")


def load_model(path: str | os.PathLike):
    """Load a model from `path`. Today: `.json` / `.yaml` architecture files (weights come from
    HDF5 files in a later release; `.keras`, `.h5` and `.onnx` are refused clearly for now)."""
    path = Path(path)
    if _is_directory(path):
        raise FormatError(f"{path}: is a directory, not a model file")
    suffix = path.suffix.lower()
    if suffix in PLANNED:
        raise UnsupportedError(f"{path}: reading {suffix} files is not supported yet")
    reader = READERS.get(suffix)
    if reader is None:
        raise FormatError(f"{path}: unknown model file extension {suffix or '(none)'!r}; "
                          f"expected one of {', '.join(sorted(READERS))}")
    return reader(_read_text(path), source=str(path))


def save_model(model, path: str | os.PathLike) -> None:
    """Write `model` to `path` in the format its extension names (atomically)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        write_text_atomic(path, model_to_json(model, indent=2))
    elif suffix in (".yaml", ".yml"):
        write_text_atomic(path, model_to_yaml(model))
    elif suffix in PLANNED:
        raise UnsupportedError(f"{path}: writing {suffix} files is not supported yet")
    else:
        raise FormatError(f"{path}: unknown model file extension {suffix or '(none)'!r}")


def _is_directory(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _read_text(path: Path) -> str:
    """The file's text, read only if it is a regular file of sane size (never a FIFO or device,
    which could block or never end)."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise FormatError(f"{path}: is a directory, not a model file")
        if not stat.S_ISREG(mode):
            raise FormatError(f"{path}: not a regular file")
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as exc:
        raise FormatError(f"{path}: no such file") from exc
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise FormatError(f"{str(path)[:200]!r}: not a usable path ({exc})") from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise FormatError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes, too large for a model config")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not UTF-8 text (is it a binary file?)") from exc
