"""Explicit padding: begins and ends given per axis, negative amounts cropping (ONNX's Pad)."""

import numpy as np

__all__ = ["PAD_MODES", "onnx_pad"]

# How the added cells are filled: a constant, the mirror image without the edge cell, copies of
# the edge cell, or the array continued periodically (numpy's pad modes of the same names).
PAD_MODES = ("constant", "reflect", "edge", "wrap")


def onnx_pad(array: np.ndarray, pads, mode: str = "constant",
             constant_value: float = 0.0) -> np.ndarray:
    """`array` padded as ONNX Pad does: `pads` holds every axis' begin, then every axis' end;
    a negative amount crops that many cells instead. `mode` is one of PAD_MODES;
    `constant_value` (cast to the array's dtype) fills the cells of the constant mode."""
    rank = array.ndim
    begins, ends = pads[:rank], pads[rank:]
    crop = tuple(slice(max(-begin, 0), size - max(-end, 0))
                 for begin, end, size in zip(begins, ends, array.shape))
    array = array[crop]
    widths = [(max(begin, 0), max(end, 0)) for begin, end in zip(begins, ends)]
    if mode == "constant":
        return np.pad(array, widths, constant_values=np.asarray(constant_value, array.dtype))
    return np.pad(array, widths, mode=mode)
