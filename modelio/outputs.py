"""A model's outputs as named arrays: computed with the numpy kernels, named after the model's
outputs, saved as an .npz archive (what `modelio run` writes)."""

import os
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import FormatError
from .graph.tree import flatten


def predict_outputs(model, arrays: list, batch_size: int | None) -> list[np.ndarray]:
    """`model.predict` on the arrays (in input order), every output as an array in output order."""
    result = model.predict(arrays if len(arrays) > 1 else arrays[0], batch_size=batch_size)
    return [value for value in flatten(result)]


def unique_output_names(model) -> list[str]:
    """The model's output names, with `:<i>` added to a name already used (a layer with several
    outputs)."""
    names, seen = [], set()
    for index, name in enumerate(model.output_names):
        unique = name if name not in seen else f"{name}:{index}"
        seen.add(unique)
        names.append(unique)
    return names


def check_npz_path(path: str | os.PathLike) -> Path:
    """`path` as a Path, refused unless it names an .npz file."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise FormatError(f"{path}: --output must be an .npz file")
    return path


def save_npz(path: str | os.PathLike, named: dict) -> None:
    """Write the arrays of `named` (name -> array) to the .npz archive `path`, atomically.
    bfloat16 arrays are widened to float32 (exactly): `.npy` has no bfloat16 and would store
    them as untyped 2-byte values."""
    named = {name: value.astype(np.float32) if np.asarray(value).dtype.name == "bfloat16"
             else value for name, value in named.items()}
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, **named)
