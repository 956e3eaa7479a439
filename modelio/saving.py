"""Saving and loading by file name: the format comes from the extension, and the file's first
bytes must match it.

| extension | format |
|---|---|
| `.keras` | Keras 3 zip archive (config.json + model.weights.h5) |
| `.h5`, `.hdf5` | legacy full-model HDF5 (Keras 2 or Keras 3 `model.save("x.h5")`) |
| `.json`, `.yaml`, `.yml` | architecture, with weights in a sibling `<stem>.weights.h5` (one commit: formats/architecture_pair.py) |
| `.onnx` | ONNX graph, imported into a functional model (see modelio/onnx/importer.py) |
| `.weights.h5` | weights only (Keras 3 layout; Keras 2 layout read too) — see `load_weights` |

Also here: `convert_to_onnx` (any file to ONNX), `file_metadata` (what `modelio summary` says
about a file's producer), and the Model's file conveniences (`to_json`, `to_yaml`, `save`,
`save_weights`, `load_weights`), which the graph core does not define: importing this module
(`import modelio` does) attaches them to `Functional`.

The `onnx` package takes a tenth of a second to import, so the ONNX modules are imported only
when an ONNX file is read or written.
"""

import os
from pathlib import Path

from .errors import FormatError, UnsupportedError
from .formats.architecture_pair import (
    load_architecture_pair,
    save_architecture_pair,
    sibling_weights_path,  # noqa: F401  (the CLI names the files a save writes)
)
from .formats.config import model_from_json, model_from_yaml, model_to_json, model_to_yaml
from .formats.hdf5 import KERAS3_LAYOUT, LEGACY_LAYOUT, open_hdf5, weights_layout
from .formats.keras_zip import (
    asset_layers,
    load_archive_weights,
    load_keras_archive,
    save_keras_archive,
)
from .formats.legacy_h5 import load_h5_model, load_h5_weights, save_h5_model, save_h5_weights
from .formats.metadata import archive_metadata, hdf5_metadata, json_metadata, yaml_metadata
from .formats.probe import check_regular_file, expect_hdf5, expect_zip
from .formats.weights_h5 import load_weights_h5, save_weights_h5
from .graph.functional import Functional

TEXT_READERS = {".json": model_from_json, ".yaml": model_from_yaml, ".yml": model_from_yaml}
TEXT_WRITERS = {".json": lambda model: model_to_json(model, indent=2), ".yaml": model_to_yaml,
                ".yml": model_to_yaml}
HDF5_SUFFIXES = (".h5", ".hdf5")
KNOWN = (".keras", *HDF5_SUFFIXES, *TEXT_READERS, ".onnx")

# What `file_metadata` reports as "format", with its description.
FORMATS = {
    "keras": "Keras 3 archive (.keras)",
    "h5": "HDF5 full model (.h5)",
    "weights.h5": "HDF5 weights only (.weights.h5)",
    "json": "JSON architecture",
    "yaml": "YAML architecture",
    "onnx": "ONNX model (.onnx)",
}


# ----- models -------------------------------------------------------------------------------------

def load_model(path: str | os.PathLike):
    """Load a model from `path`: `.keras`, `.h5`/`.hdf5`, or `.json`/`.yaml` (+ `<stem>.weights.h5`
    beside it when present), or `.onnx` (imported). The file's first bytes must match its extension."""
    path = Path(path)
    check_regular_file(path)
    suffix = path.suffix.lower()
    if suffix == ".keras":
        expect_zip(path)
        return load_keras_archive(path)
    if suffix in HDF5_SUFFIXES:
        expect_hdf5(path)
        if path.name.lower().endswith(".weights.h5"):
            raise FormatError(f"{path}: a weights file holds no architecture; build or load the "
                              f"model, then call model.load_weights({str(path)!r})")
        return load_h5_model(path)
    if suffix in TEXT_READERS:
        return load_architecture_pair(path)
    if suffix == ".onnx":
        from .onnx.importer import load_onnx_model
        return load_onnx_model(path)
    raise FormatError(f"{path}: unknown model file extension {suffix or '(none)'!r}; expected "
                      f"one of {', '.join(KNOWN)}")


def save_model(model, path: str | os.PathLike) -> None:
    """Write `model` to `path` in the format its extension names. Every file is written where no
    reader sees it and renamed into place (modelio/atomic.py): a failed or killed save leaves the
    old file (or the old JSON/YAML + weights pair) intact and no temporary behind. A file system
    refusal (full disk, read-only folder, a directory or a NUL byte in the path) is a
    FormatError naming the file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.name.lower().endswith(".weights.h5"):
        raise FormatError(f"{path}: use model.save_weights() for a weights-only file")
    if suffix in HDF5_SUFFIXES or suffix in TEXT_WRITERS:
        _refuse_lost_assets(model, path)
    if suffix == ".keras":
        save_keras_archive(model, path)
    elif suffix in HDF5_SUFFIXES:
        save_h5_model(model, path)
    elif suffix in TEXT_WRITERS:
        save_architecture_pair(model, path, TEXT_WRITERS[suffix](model))
    elif suffix == ".onnx":
        from .onnx import export_onnx
        export_onnx(model, path)
    else:
        raise FormatError(f"{path}: unknown model file extension {suffix or '(none)'!r}; expected "
                          f"one of {', '.join(KNOWN)}")


def _refuse_lost_assets(model, path: Path) -> None:
    """Only `.keras` archives hold asset files (an adapted lookup's vocabulary): refuse a format
    that would silently drop them."""
    for _, layer in asset_layers(model):
        if layer.save_assets():
            raise UnsupportedError(f"{path}: layer '{layer.name}' ({type(layer).__name__}) keeps "
                                   f"its vocabulary as an asset file, which only a .keras archive "
                                   f"holds; save the model as .keras")


def convert_to_onnx(source: str | os.PathLike, path: str | os.PathLike, opset: int | None = None,
                    batch_size: int | None = None, external_data: bool | None = None,
                    nchw: bool = False) -> None:
    """Read the model file `source` (any format `load_model` reads) and write its ONNX export to
    `path`, with the options of `export_onnx`. The model is released as soon as it is lowered,
    so the peak memory stays near one copy of the weights (what `modelio convert` uses)."""
    from .onnx.export import export_from_holder

    export_from_holder([load_model(source)], path, opset, batch_size, external_data, nchw, release=True)


# ----- weights ------------------------------------------------------------------------------------

def save_weights(model, path: str | os.PathLike) -> None:
    """Write the weights: Keras 3 layout for `*.weights.h5`, Keras 2 layout for other `*.h5`."""
    path = Path(path)
    if path.name.lower().endswith(".weights.h5"):
        save_weights_h5(model, path)
    elif path.suffix.lower() in HDF5_SUFFIXES:
        save_h5_weights(model, path)
    else:
        raise FormatError(f"{path}: weights are saved to .weights.h5 (Keras 3) or .h5 (Keras 2)")


def load_weights(model, path: str | os.PathLike, by_name: bool = False,
                 skip_mismatch: bool = False) -> None:
    """Load weights from an HDF5 file in either layout (detected from its contents), or from a
    `.keras` archive. `by_name`/`skip_mismatch` apply to Keras 2 layout files, as in tf-keras.
    Every shape is checked before anything is assigned."""
    path = Path(path)
    check_regular_file(path)
    if path.suffix.lower() == ".keras":
        expect_zip(path)
        load_archive_weights(model, path)
        return
    with open_hdf5(path, read_data=False) as handle:  # refuses a file that is not HDF5
        layout = weights_layout(handle)
    if layout == LEGACY_LAYOUT:
        load_h5_weights(model, path, by_name=by_name, skip_mismatch=skip_mismatch)
    elif layout == KERAS3_LAYOUT:
        if by_name or skip_mismatch:
            raise UnsupportedError(f"{path}: by_name/skip_mismatch apply to Keras 2 (.h5) weight "
                                   f"files only")
        load_weights_h5(model, path)
    else:
        raise FormatError(f"{path}: an HDF5 file, but not Keras weights (no 'layers' group or "
                          f"'layer_names' attribute)")


# ----- what a file says about itself --------------------------------------------------------------

def file_metadata(path: str | os.PathLike) -> dict:
    """`{"format", "format_description", "keras_version", "backend", "date_saved"}` for the model
    file at `path`; a value the file does not record is None. `format` is one of `FORMATS`; an
    ONNX file adds `"onnx": {"producer_name", "producer_version", "ir_version", "opset"}`.

    A missing, unreadable or damaged file raises FormatError; the model itself is not built."""
    path = Path(path)
    check_regular_file(path)
    name, suffix = path.name.lower(), path.suffix.lower()
    if suffix == ".keras":
        kind, recorded = "keras", archive_metadata(path)
    elif name.endswith(".weights.h5"):
        kind, recorded = "weights.h5", hdf5_metadata(path)
    elif suffix in HDF5_SUFFIXES:
        kind, recorded = "h5", hdf5_metadata(path)
    elif suffix == ".json":
        kind, recorded = "json", json_metadata(path)
    elif suffix in (".yaml", ".yml"):
        kind, recorded = "yaml", yaml_metadata(path)
    elif suffix == ".onnx":
        kind, recorded = "onnx", _onnx_metadata(path)
    else:
        raise FormatError(f"{path}: unknown model file extension {suffix or '(none)'!r}; expected "
                          f".keras, .h5, .hdf5, .json, .yaml, .yml or .onnx")
    metadata = {"format": kind, "format_description": FORMATS[kind],
                "keras_version": recorded.get("keras_version"),
                "backend": recorded.get("backend"), "date_saved": recorded.get("date_saved")}
    if kind == "onnx":
        metadata["onnx"] = recorded
    return metadata


def producer_text(metadata: dict) -> str:
    """`Keras 2.21.0 (tensorflow backend)`, `pytorch 2.13.0 (ONNX opset 17, IR 8)`, or `unknown`
    when the file records no producer; `metadata` is what `file_metadata` returns."""
    if metadata.get("format") == "onnx":
        onnx_info = metadata["onnx"]
        producer = " ".join(part for part in (onnx_info["producer_name"],
                                              onnx_info["producer_version"]) if part)
        return (f"{producer or 'unknown producer'} (ONNX opset {onnx_info['opset']}, "
                f"IR {onnx_info['ir_version']})")
    version = metadata.get("keras_version")
    if not version:
        return "unknown (the file records no Keras version)"
    backend = metadata.get("backend")
    return f"Keras {version}" + (f" ({backend} backend)" if backend else "")


def _onnx_metadata(path: Path) -> dict:
    from .onnx.reader import read_onnx_header

    header = read_onnx_header(path)
    opset = next((entry.version for entry in header.opset_import
                  if entry.domain in ("", "ai.onnx")), None)
    return {"producer_name": header.producer_name or None,
            "producer_version": header.producer_version or None,
            "ir_version": header.ir_version, "opset": opset}


# ----- the Model's conveniences -------------------------------------------------------------------

def _to_json(self, **kwargs) -> str:
    """The model as a Keras 3 JSON document (`json.dumps` keyword arguments pass through)."""
    return model_to_json(self, **kwargs)


def _to_yaml(self) -> str:
    """The model as a YAML document (the same content as `to_json`)."""
    return model_to_yaml(self)


def _save(self, path) -> None:
    """Save to `path`; the format comes from the extension (see `modelio.save_model`)."""
    save_model(self, path)


def _save_weights(self, path) -> None:
    """Write the weights: `*.weights.h5` in Keras 3's layout, other `*.h5` in Keras 2's."""
    save_weights(self, path)


def _load_weights(self, path, by_name: bool = False, skip_mismatch: bool = False) -> None:
    """Load weights from a `.weights.h5`/`.h5` file (either Keras layout) or a `.keras`
    archive. Every shape is checked before any weight changes."""
    load_weights(self, path, by_name=by_name, skip_mismatch=skip_mismatch)


MODEL_METHODS = {"to_json": _to_json, "to_yaml": _to_yaml, "save": _save,
                 "save_weights": _save_weights, "load_weights": _load_weights}


def _attach_model_methods() -> None:
    """Set the methods of `MODEL_METHODS` on `Functional`, so that every Model and Sequential has
    `model.to_json()`, `model.save(path)` and the rest, although the graph core (which defines
    `Functional`) knows no file format. Run once, when this module is imported."""
    for name, method in MODEL_METHODS.items():
        method.__name__, method.__qualname__ = name, f"{Functional.__qualname__}.{name}"
        setattr(Functional, name, method)


_attach_model_methods()
