"""Arrays for a model's inputs, from files or made up: `.npy` files matched to the inputs by
position, `.npz` archives by name, Keras recordings (`input:<name>` / `output:<i>` keys, as
fixtures/keras2_files/*.h5.npz), or random values of the inputs' shapes.

Every array is checked against its input's shape and cast to its dtype; a problem is a
FormatError naming the input and the file. Files are read with allow_pickle=False (object arrays refused).
"""

import zipfile
from pathlib import Path

import numpy as np

from .errors import FormatError
from .formats.probe import check_regular_file

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
INPUT_PREFIX = "input:"


def read_inputs(model, paths: list[str]) -> list[np.ndarray]:
    """The arrays for `model.inputs`, in order, from .npy files (by position) or .npz files (by
    name: keys are input names or 'input:<name>'). Each is checked against the input's shape and
    cast to its dtype; a problem is a FormatError naming the input and the file."""
    kinds = {Path(path).suffix.lower() for path in paths}
    unknown = kinds - {".npy", ".npz"}
    if unknown:
        raise FormatError(f"--input takes .npy or .npz files, got {', '.join(sorted(unknown))}")
    if kinds == {".npy", ".npz"}:
        raise FormatError("give the inputs either as .npy files (by position) or as .npz files "
                          "(by name), not both")
    names = model.input_names
    if kinds == {".npy"}:
        sources = [(path, load_npy(path)) for path in paths]
        if len(paths) != len(names):
            raise FormatError(f"model '{model.name}' has {len(names)} input(s) ({', '.join(names)}); "
                              f"got {len(paths)} .npy file(s)")
    else:
        found = {}
        for path in paths:
            for key, array in load_npz(path).items():
                name = key[len(INPUT_PREFIX):] if key.startswith(INPUT_PREFIX) else key
                found.setdefault(name, (path, array))
        missing = [name for name in names if name not in found]
        if missing:
            raise FormatError(f"no array for input(s) {', '.join(map(repr, missing))} in "
                              f"{', '.join(paths)} (it holds {', '.join(sorted(found)) or 'nothing'}; "
                              f"the model's inputs are {', '.join(names)})")
        sources = [found[name] for name in names]
    arrays = [checked_input(name, tensor, array, path)
              for name, tensor, (path, array) in zip(names, model.inputs, sources)]
    batch_sizes = {array.shape[0] for array in arrays}
    if len(batch_sizes) > 1:
        raise FormatError("the inputs have different batch sizes: "
                          + ", ".join(f"{name} {array.shape[0]}" for name, array in zip(names, arrays)))
    return arrays


def read_reference(model, path: Path) -> tuple[list, list]:
    """Recorded inputs (in input order) and outputs (in output order) from an .npz with keys
    'input:<name>' and 'output:<i>' (as fixtures/keras2_files/*.h5.npz)."""
    stored = load_npz(str(path))
    inputs = []
    for name, tensor in zip(model.input_names, model.inputs):
        key = f"{INPUT_PREFIX}{name}" if f"{INPUT_PREFIX}{name}" in stored else name
        if key not in stored:
            raise FormatError(f"{path}: no recorded input '{name}' (keys: {', '.join(sorted(stored))})")
        inputs.append(checked_input(name, tensor, stored[key], str(path)))
    outputs = []
    for index in range(len(model.outputs)):
        key = f"output:{index}"
        if key not in stored:
            raise FormatError(f"{path}: no recorded output '{key}' (keys: {', '.join(sorted(stored))})")
        outputs.append(stored[key])
    return inputs, outputs


def recording_beside(source: str | Path) -> Path | None:
    """`<source>.npz` when that file exists (where the fixtures keep what Keras computed)."""
    sibling = Path(str(source) + ".npz")
    return sibling if sibling.is_file() else None


def random_inputs(model, batch: int) -> list[np.ndarray]:
    """Reproducible random arrays for `model.inputs` with `batch` samples (unknown sizes become 1):
    normal values for float inputs, 0 or 1 for integer and boolean ones."""
    rng = np.random.default_rng(0)
    arrays = []
    for tensor in model.inputs:
        shape = (batch, *[dim or 1 for dim in tensor.shape[1:]])
        if np.dtype(tensor.dtype).kind in "iub":
            arrays.append(rng.integers(0, 2, shape).astype(tensor.dtype))
        else:
            arrays.append(rng.standard_normal(shape).astype(tensor.dtype))
    return arrays


def checked_input(name: str, tensor, array: np.ndarray, source: str) -> np.ndarray:
    """`array` cast to the model input's dtype, after checking its shape and kind of values."""
    expected_shape, expected_dtype = tuple(tensor.shape), np.dtype(tensor.dtype)
    wanted = (f"input '{name}' expects {expected_dtype.name} values of shape "
              f"{shape_text(expected_shape)} (None = any size)")
    given = f"{source} gives {array.dtype} values of shape {shape_text(array.shape)}"
    if array.ndim != len(expected_shape) or any(
            want is not None and want != got for want, got in zip(expected_shape, array.shape)):
        raise FormatError(f"{wanted}; {given}")
    if not _castable(array.dtype, expected_dtype):
        raise FormatError(f"{wanted}; {given} ({array.dtype} cannot be used as "
                          f"{expected_dtype.name})")
    return array.astype(expected_dtype, copy=False)


def shape_text(shape) -> str:
    """`(None, 28, 28, 1)`; a one-dimensional shape keeps Python's comma: `(4,)`."""
    return "(" + ", ".join("None" if dim is None else str(dim) for dim in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _castable(given, expected) -> bool:
    if expected.kind == "f":
        return given.kind in "biuf"
    if expected.kind in "iu":
        return given.kind in "biu"
    if expected.kind == "b":
        return given.kind == "b"
    return given == expected


def load_npy(path: str) -> np.ndarray:
    """The array in the .npy file at `path` (a regular file with the .npy signature; no pickle)."""
    check_regular_file(Path(path))
    if not _starts_with(path, NPY_MAGIC):
        raise FormatError(f"{path}: not a .npy file (the .npy signature is missing)")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FormatError(f"{path}: not a readable .npy array ({_first_line(exc)})") from exc
    if not isinstance(array, np.ndarray):
        raise FormatError(f"{path}: not a .npy array")
    return array


def load_npz(path: str) -> dict:
    """Name -> array for the .npz archive at `path` (a regular file that is a zip; no pickle)."""
    check_regular_file(Path(path))
    if not _starts_with(path, ZIP_MAGIC):
        raise FormatError(f"{path}: not an .npz file (it is not a zip archive)")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise FormatError(f"{path}: not a readable .npz archive ({_first_line(exc)})") from exc
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise FormatError(f"{path}: a .npy array, not an .npz archive")
    with loaded:
        try:
            return {key: loaded[key] for key in loaded.files}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise FormatError(f"{path}: not a readable .npz archive ({_first_line(exc)})") from exc


def _starts_with(path: str, magic: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(magic)) == magic
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
