"""`load_model` / `save_model` / weights: pick the format from the extension, check the bytes.

| extension | format |
|---|---|
| `.keras` | Keras 3 zip archive (config.json + model.weights.h5) |
| `.h5`, `.hdf5` | legacy full-model HDF5 (Keras 2 or Keras 3 `model.save("x.h5")`) |
| `.json`, `.yaml`, `.yml` | architecture, with weights in a sibling `<stem>.weights.h5` when present |
| `.onnx` | ONNX graph, imported into a functional model (see modelio/onnx/importer.py) |
| `.weights.h5` | weights only (Keras 3 layout; Keras 2 layout read too) — see `load_weights` |
"""

import os
import stat
import zipfile
from pathlib import Path

from ..atomic import write_text_atomic
from ..errors import FormatError, UnsupportedError
from ..graph.layer import weights_follow
from .config import model_from_json, model_from_yaml, model_to_json, model_to_yaml
from .hdf5 import is_hdf5, open_hdf5

# Architecture files larger than this are refused before reading: a config is text describing
# layers, never the weights, and no real one comes near this size.
MAX_CONFIG_BYTES = 256 * 1024 * 1024

TEXT_READERS = {".json": model_from_json, ".yaml": model_from_yaml, ".yml": model_from_yaml}
TEXT_WRITERS = {".json": lambda model: model_to_json(model, indent=2), ".yaml": model_to_yaml,
                ".yml": model_to_yaml}
HDF5_SUFFIXES = (".h5", ".hdf5")
KNOWN = (".keras", *HDF5_SUFFIXES, *TEXT_READERS, ".onnx")


def load_model(path: str | os.PathLike):
    """Load a model from `path`: `.keras`, `.h5`/`.hdf5`, or `.json`/`.yaml` (+ `<stem>.weights.h5`
    beside it when present), or `.onnx` (imported). The file's first bytes must match its extension."""
    path = Path(path)
    _check_regular_file(path)
    suffix = path.suffix.lower()
    if suffix == ".keras":
        _expect_zip(path)
        from .keras_zip import load_keras_archive
        return load_keras_archive(path)
    if suffix in HDF5_SUFFIXES:
        _expect_hdf5(path)
        if path.name.lower().endswith(".weights.h5"):
            raise FormatError(f"{path}: a weights file holds no architecture; build or load the "
                              f"model, then call model.load_weights({str(path)!r})")
        from .legacy_h5 import load_h5_model
        return load_h5_model(path)
    if suffix in TEXT_READERS:
        text = _read_text(path)
        weights = sibling_weights_path(path)
        if not weights.exists():
            return TEXT_READERS[suffix](text, source=str(path))
        with weights_follow():
            model = TEXT_READERS[suffix](text, source=str(path))
        load_weights(model, weights)
        return model
    if suffix == ".onnx":
        from ..onnx.importer import load_onnx_model
        return load_onnx_model(path)
    raise FormatError(f"{path}: unknown model file extension {suffix or '(none)'!r}; expected "
                      f"one of {', '.join(KNOWN)}")


def save_model(model, path: str | os.PathLike) -> None:
    """Write `model` to `path` in the format its extension names. Every file is written to a
    temporary name first and renamed into place: a failure never leaves a partial file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.name.lower().endswith(".weights.h5"):
        raise FormatError(f"{path}: use model.save_weights() for a weights-only file")
    if suffix == ".keras":
        from .keras_zip import save_keras_archive
        save_keras_archive(model, path)
    elif suffix in HDF5_SUFFIXES:
        from .legacy_h5 import save_h5_model
        save_h5_model(model, path)
    elif suffix in TEXT_WRITERS:
        write_text_atomic(path, TEXT_WRITERS[suffix](model))
        if model.weights:
            save_weights(model, sibling_weights_path(path))
    elif suffix == ".onnx":
        from ..onnx import export_onnx
        export_onnx(model, path)
    else:
        raise FormatError(f"{path}: unknown model file extension {suffix or '(none)'!r}; expected "
                          f"one of {', '.join(KNOWN)}")


def save_weights(model, path: str | os.PathLike) -> None:
    """Write the weights: Keras 3 layout for `*.weights.h5`, Keras 2 layout for other `*.h5`."""
    path = Path(path)
    if path.name.lower().endswith(".weights.h5"):
        from .weights_h5 import save_weights_h5
        save_weights_h5(model, path)
    elif path.suffix.lower() in HDF5_SUFFIXES:
        from .legacy_h5 import save_h5_weights
        save_h5_weights(model, path)
    else:
        raise FormatError(f"{path}: weights are saved to .weights.h5 (Keras 3) or .h5 (Keras 2)")


def load_weights(model, path: str | os.PathLike, by_name: bool = False,
                 skip_mismatch: bool = False) -> None:
    """Load weights from an HDF5 file in either layout (detected from its contents), or from a
    `.keras` archive. `by_name`/`skip_mismatch` apply to Keras 2 layout files, as in tf-keras.
    Every shape is checked before anything is assigned."""
    path = Path(path)
    _check_regular_file(path)
    if path.suffix.lower() == ".keras":
        _expect_zip(path)
        from .keras_zip import load_archive_weights
        load_archive_weights(model, path)
        return
    _expect_hdf5(path)
    with open_hdf5(path) as handle:
        keras3_layout = ("layers" in handle or "vars" in handle
                         or "_layer_checkpoint_dependencies" in handle)
        legacy_layout = "layer_names" in handle.attrs or "layer_names0" in handle.attrs \
            or "model_weights" in handle
    if legacy_layout:
        from .legacy_h5 import load_h5_weights
        load_h5_weights(model, path, by_name=by_name, skip_mismatch=skip_mismatch)
    elif keras3_layout:
        if by_name or skip_mismatch:
            raise UnsupportedError(f"{path}: by_name/skip_mismatch apply to Keras 2 (.h5) weight "
                                   f"files only")
        from .weights_h5 import load_weights_h5
        load_weights_h5(model, path)
    else:
        raise FormatError(f"{path}: an HDF5 file, but not Keras weights (no 'layers' group or "
                          f"'layer_names' attribute)")


def sibling_weights_path(path: Path) -> Path:
    """`model.yaml` -> `model.weights.h5` in the same folder."""
    return path.with_name(path.stem + ".weights.h5")


def _expect_zip(path: Path) -> None:
    if not zipfile.is_zipfile(path):
        kind = " (it is an HDF5 file: use the .h5 extension)" if is_hdf5(path) else ""
        raise FormatError(f"{path}: not a .keras archive: the file is not a zip{kind}")


def _expect_hdf5(path: Path) -> None:
    if not is_hdf5(path):
        kind = " (it is a zip: use the .keras extension)" if zipfile.is_zipfile(path) else ""
        raise FormatError(f"{path}: not an HDF5 file{kind}")


def _check_regular_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise FormatError(f"{path}: no such file") from exc
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise FormatError(f"{str(path)[:200]!r}: not a usable path ({exc})") from exc
    if stat.S_ISDIR(mode):
        raise FormatError(f"{path}: is a directory, not a model file")
    if not stat.S_ISREG(mode):
        raise FormatError(f"{path}: not a regular file")


def _read_text(path: Path) -> str:
    """The file's text, read only if it is a regular file of sane size (never a FIFO or device,
    which could block or never end)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size  # read() of a maximum pre-allocates it all
            data = handle.read(min(size, MAX_CONFIG_BYTES) + 1)
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise FormatError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes, too large for a model config")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not UTF-8 text (is it a binary file?)") from exc
