"""What a Keras model file says about itself, read without building the model: a `.keras`
archive's `metadata.json`, an `.h5` file's root attributes `keras_version` / `backend`, the
top-level `keras_version` / `backend` keys that Keras 2's `to_json()` / `to_yaml()` write.

Each reader returns the fields the file records (`keras_version`, `backend`, `date_saved`), leaving
out what it does not; `modelio.saving.file_metadata` picks the reader from the file name.
"""

import json
import zipfile
from pathlib import Path

from ..errors import FormatError
from .config import config_from_json, config_from_yaml
from .hdf5 import open_hdf5, read_string
from .probe import expect_zip, read_text

# metadata.json is a few dozen bytes; anything this large is not Keras's.
MAX_METADATA_BYTES = 1024 * 1024


def archive_metadata(path: Path) -> dict:
    """`keras_version`, `backend`, `date_saved` from a `.keras` archive's metadata.json."""
    expect_zip(path)
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


def hdf5_metadata(path: Path) -> dict:
    """`keras_version`, `backend` from an HDF5 file's root attributes."""
    with open_hdf5(path, read_data=False) as handle:
        recorded = {}
        for key in ("keras_version", "backend"):
            if key in handle.attrs:
                try:
                    recorded[key] = read_string(handle.attrs[key])
                except (FormatError, UnicodeDecodeError, TypeError, ValueError) as exc:
                    raise FormatError(f"{path}: root attribute '{key}' is not text") from exc
        return recorded


def json_metadata(path: Path) -> dict:
    """`keras_version`, `backend` from the top level of a JSON architecture file."""
    return _document_metadata(path, config_from_json(read_text(path), str(path)))


def yaml_metadata(path: Path) -> dict:
    """`keras_version`, `backend` from the top level of a YAML architecture file (read with the
    same bounds and refusals as the model itself)."""
    return _document_metadata(path, config_from_yaml(read_text(path), str(path)))


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
