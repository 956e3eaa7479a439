"""Arrays for a model's inputs, from files or made up: `.npy` files matched to the inputs by
position, `.npz` archives by name, Keras recordings (`input:<name>` / `output:<i>` keys, as
fixtures/keras2_files/*.h5.npz), or random values of the inputs' shapes.

Every array is checked against its input's shape and cast to its dtype, refusing values the dtype
cannot hold (token ids beyond int32, negative ids for unsigned inputs, finite floats that would
become infinite; floats are never used as integers); a problem is a FormatError naming the input
and the file.

Files are read by modelio, not by `np.load`: each array's `.npy` header is read first and its
declared size checked against the file and against a budget (per array and in total) before
anything is allocated or decompressed, and then exactly that many bytes are read. Object arrays
(pickles) and `.npz` members that are not `.npy` arrays are refused.
"""

import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import FormatError
from .formats.probe import check_regular_file
from .graph.dtypes import STRING_DTYPE

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
NPY_SUFFIX = ".npy"
INPUT_PREFIX = "input:"
# Inputs are read whole before the model runs. One array may take this many bytes, all the arrays
# read for one command this many (each checked from its header before it is allocated).
MAX_INPUT_ARRAY_BYTES = 1024**3
MAX_INPUT_BYTES = 2 * 1024**3
# An .npz with more members than this is not a set of model inputs.
MAX_NPZ_MEMBERS = 1000
_READ_CHUNK = 16 * 1024 * 1024
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError,
               ValueError)


class InputBudget:
    """The bytes the arrays read so far may still take (`MAX_INPUT_BYTES` in all by default)."""

    def __init__(self, total: int | None = None):
        self.total = MAX_INPUT_BYTES if total is None else total
        self.left = self.total

    def take(self, nbytes: int, where: str) -> None:
        """Reserve `nbytes` for the array at `where`, or refuse it (before it is allocated)."""
        if nbytes > MAX_INPUT_ARRAY_BYTES:
            raise FormatError(f"{where}: the array takes {nbytes:,} bytes, more than the "
                              f"{MAX_INPUT_ARRAY_BYTES:,} modelio reads for one input array")
        if nbytes > self.left:
            raise FormatError(f"{where}: the array takes {nbytes:,} bytes, more than the "
                              f"{self.left:,} left of the {self.total:,} modelio reads for all "
                              f"the inputs together")
        self.left -= nbytes


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
    budget = InputBudget()
    if kinds == {".npy"}:
        sources = [(path, load_npy(path, budget)) for path in paths]
        if len(paths) != len(names):
            raise FormatError(f"model '{model.name}' has {len(names)} input(s) ({', '.join(names)}); "
                              f"got {len(paths)} .npy file(s)")
    else:
        found = {}
        for path in paths:
            for key, array in load_npz(path, budget).items():
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
        if tensor.dtype == STRING_DTYPE:
            arrays.append(rng.choice(np.array(["the", "a", "cat", "dog"]), shape))
        elif np.dtype(tensor.dtype).kind in "iub":
            arrays.append(rng.integers(0, 2, shape).astype(tensor.dtype))
        else:
            arrays.append(rng.standard_normal(shape).astype(tensor.dtype))
    return arrays


def checked_input(name: str, tensor, array: np.ndarray, source: str) -> np.ndarray:
    """`array` cast to the model input's dtype, after checking its shape, its kind of values and
    that every value survives the cast (no wrapped integers, no truncated fractions)."""
    if tensor.dtype == STRING_DTYPE:
        return _checked_strings(name, tensor, array, source)
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
    problem = _integer_problem(array, expected_dtype)
    if problem is None:
        with np.errstate(over="ignore"):
            cast = array.astype(expected_dtype, copy=False)
        problem = _overflow_problem(array, cast, expected_dtype)
    if problem is not None:
        raise FormatError(f"{wanted}; {given} ({problem})")
    return cast


def _checked_strings(name: str, tensor, array: np.ndarray, source: str) -> np.ndarray:
    """A string input: `array` must hold text (`<U`, UTF-8 `S`, StringDType) of the input's shape."""
    expected_shape = tuple(tensor.shape)
    wanted = (f"input '{name}' expects strings of shape {shape_text(expected_shape)} "
              f"(None = any size)")
    given = f"{source} gives {array.dtype} values of shape {shape_text(array.shape)}"
    if array.ndim != len(expected_shape) or any(
            want is not None and want != got for want, got in zip(expected_shape, array.shape)):
        raise FormatError(f"{wanted}; {given}")
    if array.dtype.kind not in "USTO":
        raise FormatError(f"{wanted}; {given}")
    return array


def shape_text(shape) -> str:
    """`(None, 28, 28, 1)`; a one-dimensional shape keeps Python's comma: `(4,)`."""
    return "(" + ", ".join("None" if dim is None else str(dim) for dim in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _integer_problem(array: np.ndarray, expected: np.dtype) -> str | None:
    """Why the integers in `array` do not all fit the integer type `expected` (None when they
    do, or when either is not an integer type: floats are refused for integer inputs by kind)."""
    if expected.kind not in "iu" or array.dtype.kind not in "iu" or array.size == 0:
        return None
    low, high, limits = array.min().item(), array.max().item(), np.iinfo(expected)
    if low < limits.min or high > limits.max:  # Python integers: exact comparisons
        return (f"values from {low} to {high}, outside {expected.name}'s range {limits.min} to "
                f"{limits.max}")
    return None


def _overflow_problem(array: np.ndarray, cast: np.ndarray, expected: np.dtype) -> str | None:
    """Why casting `array` to the floats `expected` holds lost values (None when it did not):
    finite values too large for the type become infinities."""
    if expected.kind != "f" or array.dtype.kind not in "iuf" or array.size == 0:
        return None
    if (np.isinf(cast) & ~np.isinf(array)).any():
        return (f"values beyond {expected.name}'s largest {float(np.finfo(expected).max):g} would "
                f"become infinite")
    return None


def _castable(given, expected) -> bool:
    if expected.kind == "f":
        return given.kind in "biuf"
    if expected.kind in "iu":
        return given.kind in "biu"
    if expected.kind == "b":
        return given.kind == "b"
    return given == expected


def load_npy(path: str, budget: InputBudget | None = None) -> np.ndarray:
    """The array in the .npy file at `path` (a regular file with the .npy signature, no object
    array), its declared size checked against the file and `budget` before it is read."""
    check_regular_file(Path(path))
    if not _starts_with(path, NPY_MAGIC):
        raise FormatError(f"{path}: not a .npy file (the .npy signature is missing)")
    try:
        with open(path, "rb") as handle:
            return _read_npy(handle, os.fstat(handle.fileno()).st_size, path,
                             budget or InputBudget())
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def load_npz(path: str, budget: InputBudget | None = None) -> dict:
    """Name -> array for the .npz archive at `path` (a regular file that is a zip of .npy
    members, no object array), each member's declared size checked against its stored size and
    `budget` before it is decompressed."""
    check_regular_file(Path(path))
    if not _starts_with(path, ZIP_MAGIC):
        raise FormatError(f"{path}: not an .npz file (it is not a zip archive)")
    budget = budget or InputBudget()
    try:
        with zipfile.ZipFile(path) as archive:
            members = _npz_members(archive, path)
            arrays = {}
            for key, info in members.items():
                with archive.open(info) as stream:
                    arrays[key] = _read_npy(stream, info.file_size, f"{path}:{info.filename}",
                                            budget)
            return arrays
    except _ZIP_ERRORS as exc:
        raise FormatError(f"{path}: not a readable .npz archive ({_first_line(exc)})") from exc


def _npz_members(archive: zipfile.ZipFile, path: str) -> dict:
    """Array name -> ZipInfo, refusing too many members, members that are not .npy arrays and
    names given twice."""
    infos = archive.infolist()
    if len(infos) > MAX_NPZ_MEMBERS:
        raise FormatError(f"{path}: {len(infos):,} members, more than the {MAX_NPZ_MEMBERS:,} an "
                          f".npz of model inputs may hold")
    members = {}
    for info in infos:
        if info.is_dir() or not info.filename.endswith(NPY_SUFFIX):
            raise FormatError(f"{path}: member {info.filename[:100]!r} is not a .npy array (an .npz "
                              f"holds only <name>.npy members)")
        key = info.filename[:-len(NPY_SUFFIX)]
        if key in members:
            raise FormatError(f"{path}: two members are named {info.filename[:100]!r}")
        members[key] = info
    return members


def _read_npy(stream, size: int, where: str, budget: InputBudget) -> np.ndarray:
    """The array in the .npy bytes `stream` holds (`size` bytes in all, header included): the
    header is read and checked first, then exactly the bytes it declares."""
    shape, fortran_order, dtype = _npy_header(stream, where)
    if dtype.hasobject:
        raise FormatError(f"{where}: not a readable .npy array: it holds Python objects (dtype "
                          f"{dtype}), which .npy stores as a pickle, and modelio never unpickles")
    if any(dim < 0 for dim in shape):
        raise FormatError(f"{where}: the header declares the negative shape {shape}")
    nbytes = math.prod(shape) * dtype.itemsize  # Python integers: no overflow
    stored = size - stream.tell()
    if stored != nbytes:
        raise FormatError(f"{where}: the header declares {dtype} values of shape {shape_text(shape)} "
                          f"({nbytes:,} bytes) but the file holds {stored:,} bytes of data")
    budget.take(nbytes, where)
    data = _read_exactly(stream, nbytes, where)
    try:
        flat = data.view(dtype) if nbytes else np.empty(0, dtype)
        return flat.reshape(shape[::-1]).T if fortran_order else flat.reshape(shape)
    except (ValueError, TypeError) as exc:
        raise FormatError(f"{where}: not a readable .npy array ({_first_line(exc)})") from exc


def _npy_header(stream, where: str) -> tuple:
    """(shape, fortran_order, dtype) from the .npy header at the start of `stream` (format 1.0
    or 2.0; numpy's header reader refuses headers over 10,000 bytes)."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(stream)
    except (ValueError, SyntaxError, TypeError) as exc:
        raise FormatError(f"{where}: not a readable .npy array ({_first_line(exc)})") from exc
    raise FormatError(f"{where}: .npy format version {version[0]}.{version[1]} is not read "
                      f"(1.0 and 2.0 are)")


def _read_exactly(stream, nbytes: int, where: str) -> np.ndarray:
    """`nbytes` bytes from `stream` into a new uint8 array, read in chunks; never more."""
    data = np.empty(nbytes, np.uint8)
    view, filled = memoryview(data), 0
    while filled < nbytes:
        count = stream.readinto(view[filled:filled + _READ_CHUNK])
        if not count:
            raise FormatError(f"{where}: truncated: {filled:,} of the {nbytes:,} bytes of data "
                              f"its header declares")
        filled += count
    return data


def _starts_with(path: str, magic: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(magic)) == magic
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
