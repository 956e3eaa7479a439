"""Image resizing kernels matching Keras 3's `ops.image.resize` (NumPy and PyTorch backends).

Both interpolations use half-pixel centres (TF's `half_pixel_centers=True`, PyTorch's
`align_corners=False`):

* "nearest": output cell i of n reads input cell floor((i + 0.5) * m / n) of m (PyTorch's
  "nearest-exact"), computed in exact integer arithmetic;
* "bilinear": output cell i samples input coordinate (i + 0.5) * m / n - 0.5, clamped at 0, and
  blends its two neighbours (the last cell is repeated past the end). With `antialias=True` a
  downscale widens the triangle filter by m / n and normalizes its weights (PIL style), as
  both backends do.

Axes are resized one after the other: a gather and a blend per axis, no loop over pixels.
"""

import numpy as np

__all__ = ["aspect_crop_box", "aspect_pad_box", "nearest_indices", "resize_axis",
           "resize_images"]


def nearest_indices(in_size: int, out_size: int) -> np.ndarray:
    """Input index read by each output cell for "nearest" resizing."""
    indices = ((2 * np.arange(out_size, dtype=np.int64) + 1) * in_size) // (2 * out_size)
    return np.minimum(indices, in_size - 1)


def _linear_taps(in_size: int, out_size: int):
    """(lower index, upper index, upper weight) of each output cell for bilinear resizing."""
    source = (np.arange(out_size, dtype=np.float64) + 0.5) * (in_size / out_size) - 0.5
    source = np.maximum(source, 0.0)
    lower = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
    upper = np.minimum(lower + 1, in_size - 1)
    return lower, upper, source - lower


def _antialias_weights(in_size: int, out_size: int) -> np.ndarray:
    """(in_size, out_size) weights of a triangle filter widened to the downscale factor."""
    inv_scale = in_size / out_size
    kernel_scale = max(inv_scale, 1.0)
    sample = (np.arange(out_size, dtype=np.float64) + 0.5) * inv_scale - 0.5
    distance = np.abs(sample[np.newaxis, :] - np.arange(in_size, dtype=np.float64)[:, np.newaxis])
    weights = np.maximum(0.0, 1.0 - distance / kernel_scale)
    totals = weights.sum(axis=0, keepdims=True)
    return weights / np.where(totals != 0, totals, 1.0)


def _along(values: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = values.shape[0]
    return values.reshape(shape)


def resize_axis(x: np.ndarray, axis: int, out_size: int, interpolation: str,
                antialias: bool = False) -> np.ndarray:
    """Resize float (or, for "nearest", any) `x` along `axis` to `out_size` cells."""
    axis = axis % x.ndim
    in_size = x.shape[axis]
    if in_size == out_size:
        return x
    if in_size == 0:
        raise ValueError(f"cannot resize an empty axis to {out_size} cells")
    if interpolation == "nearest":
        return np.take(x, nearest_indices(in_size, out_size), axis=axis)
    if interpolation != "bilinear":
        raise ValueError(f"unknown interpolation {interpolation!r}")
    if antialias and out_size < in_size:
        weights = _antialias_weights(in_size, out_size).astype(x.dtype)
        return np.moveaxis(np.tensordot(x, weights, axes=(axis, 0)), -1, axis)
    lower, upper, upper_weight = _linear_taps(in_size, out_size)
    upper_weight = _along(upper_weight.astype(x.dtype), axis, x.ndim)
    below = np.take(x, lower, axis=axis)
    above = np.take(x, upper, axis=axis)
    below *= 1 - upper_weight
    above *= upper_weight
    below += above
    return below


def resize_images(x: np.ndarray, height: int, width: int, height_axis: int, width_axis: int,
                  interpolation: str, antialias: bool = False) -> np.ndarray:
    """Resize the (height_axis, width_axis) plane of `x` to (height, width)."""
    x = resize_axis(x, height_axis, height, interpolation, antialias)
    return resize_axis(x, width_axis, width, interpolation, antialias)


def aspect_crop_box(height: int, width: int, target_height: int, target_width: int):
    """(top, left, crop_height, crop_width): the centred crop with the target aspect ratio."""
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    top = int(float(height - crop_height) / 2)
    left = int(float(width - crop_width) / 2)
    return top, left, crop_height, crop_width


def aspect_pad_box(height: int, width: int, target_height: int, target_width: int):
    """(rows, cols) added on each side so the image gets the target aspect ratio (Keras 3)."""
    pad_height = max(height, int(float(width * target_height) / target_width))
    pad_width = max(width, int(float(height * target_width) / target_height))
    return int(float(pad_height - height) / 2), int(float(pad_width - width) / 2)
