"""What a model file says about itself: its format and the Keras that wrote it.

Read without building the model: a `.keras` archive's `metadata.json`, an `.h5` file's root
attributes `keras_version` / `backend`, the top-level `keras_version` / `backend` keys that Keras 2's
`to_json()` / `to_yaml()` write, an ONNX file's producer, opset and IR version.
"""

import json
import os
import zipfile
from pathlib import Path

import yaml

from ..errors import FormatError
from .dispatch import _check_regular_file, _expect_hdf5, _expect_zip, _read_text
from .hdf5 import open_hdf5, read_string

# metadata.json is a few dozen bytes; anything this large is not Keras's.
MAX_METADATA_BYTES = 1024 * 1024

FORMATS = {
    "keras": "Keras 3 archive (.keras)",
    "h5": "HDF5 full model (.h5)",
    "weights.h5": "HDF5 weights only (.weights.h5)",
    "json": "JSON architecture",
    "yaml": "YAML architecture",
    "onnx": "ONNX model (.onnx)",
}


def file_metadata(path: str | os.PathLike) -> dict:
    """`{"format", "format_description", "keras_version", "backend", "date_saved"}` for the model
    file at `path`; a value the file does not record is None. `format` is one of `FORMATS`.

    A missing, unreadable or damaged file raises FormatError; the model itself is not built."""
    path = Path(path)
    _check_regular_file(path)
    name, suffix = path.name.lower(), path.suffix.lower()
    if suffix == ".keras":
        kind, recorded = "keras", _archive_metadata(path)
    elif name.endswith(".weights.h5"):
        kind, recorded = "weights.h5", _hdf5_metadata(path)
    elif suffix in (".h5", ".hdf5"):
        kind, recorded = "h5", _hdf5_metadata(path)
    elif suffix == ".json":
        kind, recorded = "json", _document_metadata(path, _parse_json(path))
    elif suffix in (".yaml", ".yml"):
        kind, recorded = "yaml", _document_metadata(path, _parse_yaml(path))
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
    when the file records no producer."""
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
    from ..onnx.reader import read_onnx_header

    header = read_onnx_header(path)
    opset = next((entry.version for entry in header.opset_import
                  if entry.domain in ("", "ai.onnx")), None)
    return {"producer_name": header.producer_name or None,
            "producer_version": header.producer_version or None,
            "ir_version": header.ir_version, "opset": opset}


def _archive_metadata(path: Path) -> dict:
    _expect_zip(path)
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo("metadata.json")
            except KeyError:
                return {}
            if info.file_size > MAX_METADATA_BYTES:
                raise FormatError(f"{path}: metadata.json is {info.file_size} bytes, too large")
            data = archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
        raise FormatError(f"{path}: damaged .keras archive ({exc})") from exc
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"{path}: metadata.json is not valid JSON ({exc})") from exc
    return _string_fields(path, document, ("keras_version", "backend", "date_saved"))


def _hdf5_metadata(path: Path) -> dict:
    _expect_hdf5(path)
    with open_hdf5(path) as handle:
        recorded = {}
        for key in ("keras_version", "backend"):
            if key in handle.attrs:
                try:
                    recorded[key] = read_string(handle.attrs[key])
                except (FormatError, UnicodeDecodeError, TypeError, ValueError) as exc:
                    raise FormatError(f"{path}: root attribute '{key}' is not text") from exc
        return recorded


def _parse_json(path: Path):
    try:
        return json.loads(_read_text(path))
    except ValueError as exc:
        raise FormatError(f"{path}: not valid JSON ({exc})") from exc


def _parse_yaml(path: Path):
    try:
        return yaml.safe_load(_read_text(path))
    except yaml.YAMLError as exc:
        raise FormatError(f"{path}: not valid plain YAML ({str(exc).splitlines()[0]})") from exc


def _document_metadata(path: Path, document) -> dict:
    return _string_fields(path, document, ("keras_version", "backend"))


def _string_fields(path: Path, document, keys: tuple) -> dict:
    if not isinstance(document, dict):
        raise FormatError(f"{path}: expected a JSON/YAML object at the top level, got "
                          f"{type(document).__name__}")
    recorded = {}
    for key in keys:
        value = document.get(key)
        if value is not None and not isinstance(value, str):
            raise FormatError(f"{path}: '{key}' should be a string, got {type(value).__name__}")
        if value is not None:
            recorded[key] = value
    return recorded
