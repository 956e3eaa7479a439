"""Saving and loading by file name: the format comes from the extension, and the file's first
bytes must match it.

| extension | format |
|---|---|
| `.keras` | Keras 3 zip archive (config.json + model.weights.h5) |
| `.h5`, `.hdf5` | legacy full-model HDF5 (Keras 2 or Keras 3 `model.save("x.h5")`) |
| `.json`, `.yaml`, `.yml` | architecture, with weights in a sibling `<stem>.weights.h5` (one commit: formats/architecture_pair.py) |
| `.onnx` | ONNX graph, imported into a functional model (see modelio/onnx/importer.py) |
| `.weights.h5` | weights only (Keras 3 layout; Keras 2 layout read too) — see `load_weights` |
| `.weights.json` | sharded weights: an index and its `.weights.h5` shards (`max_shard_size`) |
| a folder holding `config.json` | an unzipped Keras 3 model (`zipped=False`) |

`custom_objects` (on `load_model`, `load_weights`' models too) maps names a file uses for the
user's own activations and layers to modelio objects: see modelio/graph/custom_objects.py.

Also here: `convert_to_onnx` (any file to ONNX), `file_metadata` (what `modelio summary` says
about a file's producer), and the Model's file conveniences (`to_json`, `to_yaml`, `save`,
`save_weights`, `load_weights`), which the graph core does not define: importing this module
(`import modelio` does) attaches them to `Functional`.

The `onnx` package takes a tenth of a second to import, so the ONNX modules are imported only
when an ONNX file is read or written.
"""

import os
from pathlib import Path

from .errors import ConfigError, FormatError, UnsupportedError
from .formats import sharded_weights
from .formats.architecture_pair import (
    load_architecture_pair,
    save_architecture_pair,
    sibling_weights_path,  # noqa: F401  (the CLI names the files a save writes)
)
from .formats.config import model_from_json, model_from_yaml, model_to_json, model_to_yaml
from .formats.hdf5 import KERAS3_LAYOUT, LEGACY_LAYOUT, open_hdf5, weights_layout
from .formats.keras_dir import (
    folder_metadata,
    is_model_folder,
    load_folder_weights,
    load_model_folder,
    save_model_folder,
)
from .formats.keras_zip import (
    asset_layers,
    load_archive_weights,
    load_keras_archive,
    save_keras_archive,
)
from .formats.legacy_h5 import load_h5_model, load_h5_weights, save_h5_model, save_h5_weights
from .formats.metadata import archive_metadata, hdf5_metadata, json_metadata, yaml_metadata
from .formats.npz_weights import refuse_npz_save
from .formats.probe import check_regular_file, expect_hdf5, expect_zip
from .formats.weights_h5 import load_weights_h5, save_weights_h5
from .graph.custom_objects import custom_object_scope
from .graph.functional import Functional

TEXT_READERS = {".json": model_from_json, ".yaml": model_from_yaml, ".yml": model_from_yaml}
TEXT_WRITERS = {".json": lambda model, version: model_to_json(model, version, indent=2),
                ".yaml": model_to_yaml, ".yml": model_to_yaml}
HDF5_SUFFIXES = (".h5", ".hdf5")
KNOWN = (".keras", *HDF5_SUFFIXES, *TEXT_READERS, ".onnx")

# What `file_metadata` reports as "format", with its description.
FORMATS = {
    "keras": "Keras 3 archive (.keras)",
    "h5": "HDF5 full model (.h5)",
    "weights.h5": "HDF5 weights only (.weights.h5)",
    "weights.json": "sharded weights index (.weights.json)",
    "keras folder": "Keras 3 unzipped model (folder)",
    "json": "JSON architecture",
    "yaml": "YAML architecture",
    "onnx": "ONNX model (.onnx)",
}


# ----- models -------------------------------------------------------------------------------------

def load_model(path: str | os.PathLike, custom_objects: dict | None = None,
               input_shapes: dict | None = None):
    """Load a model from `path`: `.keras`, a folder holding `config.json` (an unzipped `.keras`),
    `.h5`/`.hdf5`, `.json`/`.yaml` (+ `<stem>.weights.h5`, or a sharded `<stem>.weights.json`,
    beside it when present), or `.onnx` (imported). A file's first bytes must match its
    extension. `custom_objects` maps names of the user's own activations and layers that the
    file uses to modelio objects (see modelio/graph/custom_objects.py). `input_shapes`
    ({graph input name: shape}) fixes the sizes of an ONNX file's inputs, e.g.
    `{"images": (1, 3, 640, 640)}` (onnx/importer.py import_onnx); other files refuse it."""
    path = Path(path)
    if input_shapes is not None and (is_model_folder(path) or path.suffix.lower() != ".onnx"):
        raise ConfigError(f"{path}: input_shapes applies to ONNX files only (a Keras model's "
                          f"input sizes are part of its config)")
    with custom_object_scope(custom_objects):
        if is_model_folder(path):
            return load_model_folder(path)
        check_regular_file(path)
        return _load_file(path, input_shapes)


def _load_file(path: Path, input_shapes: dict | None = None):
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
    if sharded_weights.is_index_path(path):
        raise FormatError(f"{path}: a sharded weights index holds no architecture; load the "
                          f"model ({path.name[:-len('.weights.json')]}.json beside it loads "
                          f"with these weights), or call model.load_weights({str(path)!r})")
    if suffix in TEXT_READERS:
        return load_architecture_pair(path)
    if suffix == ".onnx":
        from .onnx.importer import load_onnx_model
        return load_onnx_model(path, input_shapes)
    raise FormatError(f"{path}: unknown model file extension {suffix or '(none)'!r}; expected "
                      f"one of {', '.join(KNOWN)}, or a model folder")


def save_model(model, path: str | os.PathLike, zipped: bool = True,
               weights_format: str = "h5", keras_version: int | None = None) -> None:
    """Write `model` to `path` in the format its extension names. Every file is written where no
    reader sees it and renamed into place (modelio/atomic.py): a failed or killed save leaves the
    old file (or the old JSON/YAML + weights pair) intact and no temporary behind. A file system
    refusal (full disk, read-only folder, a directory or a NUL byte in the path) is a
    FormatError naming the file.

    `zipped=False` writes an unzipped Keras model: a folder `path` (whose name must not end in
    `.keras`, as in Keras) replaced in one commit (modelio/formats/keras_dir.py).
    `weights_format="npz"` is refused: Keras 3.15.1 writes npz weights as pickles (see
    modelio/formats/npz_weights.py).

    `keras_version` picks the config dialect of `.h5`, `.json` and `.yaml` files: 2 writes what
    tf-keras writes (tf-keras and Keras 3 both load it), 3 what Keras 3 writes; the default
    (None) keeps the dialect of the file the model was read from, and Keras 3 for models built
    or imported here. `.keras` archives and folders are Keras 3 only."""
    path = Path(path)
    if keras_version == 2 and (not zipped or path.suffix.lower() in (".keras", ".onnx")):
        raise FormatError(f"{path}: keras_version=2 applies to .h5, .json and .yaml files; "
                          f".keras archives and folders are Keras 3 only")
    if weights_format == "npz":
        refuse_npz_save()
    if weights_format != "h5":
        raise FormatError(f"{path}: weights_format must be 'h5' (or 'npz', refused), got "
                          f"{weights_format!r}")
    if not isinstance(zipped, bool):
        raise FormatError(f"{path}: zipped must be true or false, got {zipped!r}")
    if not zipped:
        _refuse_lost_assets(model, path)  # the folder writer keeps no assets/ yet
        save_model_folder(model, path)
        return
    suffix = path.suffix.lower()
    if path.name.lower().endswith((".weights.h5", ".weights.json")):
        raise FormatError(f"{path}: use model.save_weights() for a weights-only file")
    if suffix in HDF5_SUFFIXES or suffix in TEXT_WRITERS:
        _refuse_lost_assets(model, path)
    if suffix == ".keras":
        save_keras_archive(model, path)
    elif suffix in HDF5_SUFFIXES:
        save_h5_model(model, path, keras_version)
    elif suffix in TEXT_WRITERS:
        save_architecture_pair(model, path, TEXT_WRITERS[suffix](model, keras_version))
    elif suffix == ".onnx":
        from .onnx import export_onnx
        export_onnx(model, path)
    else:
        raise FormatError(f"{path}: unknown model file extension {suffix or '(none)'!r}; expected "
                          f"one of {', '.join(KNOWN)} (or zipped=False for a model folder)")


def _refuse_lost_assets(model, path: Path) -> None:
    """Only `.keras` archives hold asset files here (an adapted lookup's vocabulary): refuse a
    format that would silently drop them."""
    for _, layer in asset_layers(model):
        if layer.save_assets():
            raise UnsupportedError(f"{path}: layer '{layer.name}' ({type(layer).__name__}) keeps "
                                   f"its vocabulary as an asset file, which only a .keras archive "
                                   f"holds; save the model as .keras")


def convert_to_onnx(source: str | os.PathLike, path: str | os.PathLike, opset: int | None = None,
                    batch_size: int | None = None, external_data: bool | None = None,
                    nchw: bool = False, input_shapes: dict | None = None) -> None:
    """Read the model file `source` (any format `load_model` reads, with its `input_shapes`) and
    write its ONNX export to `path`, with the options of `export_onnx`. The model is released as soon as it is lowered,
    so the peak memory stays near one copy of the weights (what `modelio convert` uses)."""
    from .onnx.export import export_from_holder

    export_from_holder([load_model(source) if input_shapes is None else load_model(source, input_shapes=input_shapes)], path, opset, batch_size, external_data, nchw, release=True)


# ----- weights ------------------------------------------------------------------------------------

def save_weights(model, path: str | os.PathLike, max_shard_size: float | None = None) -> None:
    """Write the weights: Keras 3 layout for `*.weights.h5`, Keras 2 layout for other `*.h5`;
    with `max_shard_size` (GB, as Keras), sharded: a `*.weights.json` index and its shards."""
    path = Path(path)
    if max_shard_size is not None:
        sharded_weights.save_sharded_weights(model, path, max_shard_size)
    elif sharded_weights.is_index_path(path):
        raise FormatError(f"{path}: a .weights.json index is written with max_shard_size (GB)")
    elif path.name.lower().endswith(".weights.h5"):
        save_weights_h5(model, path)
    elif path.suffix.lower() in HDF5_SUFFIXES:
        save_h5_weights(model, path)
    else:
        raise FormatError(f"{path}: weights are saved to .weights.h5 (Keras 3), .h5 (Keras 2) "
                          f"or, with max_shard_size, .weights.json (sharded)")


def load_weights(model, path: str | os.PathLike, by_name: bool = False,
                 skip_mismatch: bool = False) -> None:
    """Load weights from an HDF5 file in either layout (detected from its contents), a sharded
    `.weights.json` index, a `.keras` archive or an unzipped model folder. `by_name` /
    `skip_mismatch` apply to Keras 2 layout files, as in tf-keras. Every shape is checked
    before anything is assigned."""
    path = Path(path)
    keras3_only = (by_name or skip_mismatch) and (
        is_model_folder(path) or sharded_weights.is_index_path(path))
    if keras3_only:
        raise UnsupportedError(f"{path}: by_name/skip_mismatch apply to Keras 2 (.h5) weight "
                               f"files only")
    if is_model_folder(path):
        load_folder_weights(model, path)
        return
    check_regular_file(path)
    if sharded_weights.is_index_path(path):
        sharded_weights.load_sharded_weights(model, path)
        return
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
    if is_model_folder(path):
        kind, recorded = "keras folder", folder_metadata(path)
        return {"format": kind, "format_description": FORMATS[kind],
                "keras_version": recorded.get("keras_version"),
                "backend": recorded.get("backend"), "date_saved": recorded.get("date_saved")}
    check_regular_file(path)
    name, suffix = path.name.lower(), path.suffix.lower()
    if name.endswith(".weights.json"):
        return {"format": "weights.json", "format_description": FORMATS["weights.json"],
                "keras_version": None, "backend": None, "date_saved": None}
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

def _to_json(self, keras_version: int | None = 3, **kwargs) -> str:
    """The model as a Keras 3 JSON document (`keras_version=2`: tf-keras's; `json.dumps`
    keyword arguments pass through)."""
    return model_to_json(self, keras_version, **kwargs)


def _to_yaml(self, keras_version: int | None = 3) -> str:
    """The model as a YAML document (the same content as `to_json`)."""
    return model_to_yaml(self, keras_version)


def _save(self, path, zipped: bool = True, weights_format: str = "h5",
          keras_version: int | None = None) -> None:
    """Save to `path`; the format comes from the extension (see `modelio.save_model`)."""
    save_model(self, path, zipped=zipped, weights_format=weights_format,
               keras_version=keras_version)


def _save_weights(self, path, max_shard_size: float | None = None) -> None:
    """Write the weights: `*.weights.h5` in Keras 3's layout, other `*.h5` in Keras 2's; with
    `max_shard_size` (GB), a sharded `*.weights.json` index and its shards."""
    save_weights(self, path, max_shard_size=max_shard_size)


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
