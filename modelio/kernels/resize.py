"""Image resizing kernels matching Keras 3's `ops.image.resize` (NumPy, PyTorch and TensorFlow
backends for "nearest" and "bilinear"; the TensorFlow backend for "bicubic", "lanczos3",
"lanczos5" and "area", whose per-axis weight matrices live in resize_filters.py).

"nearest" and "bilinear" use half-pixel centres (TF's `half_pixel_centers=True`, PyTorch's
`align_corners=False`):

* "nearest": output cell i of n reads input cell floor((i + 0.5) * m / n) of m (PyTorch's
  "nearest-exact"), computed in exact integer arithmetic;
* "bilinear": output cell i samples input coordinate (i + 0.5) * m / n - 0.5, clamped at 0, and
  blends its two neighbours (the last cell is repeated past the end). With `antialias=True` a
  downscale widens the triangle filter by m / n and normalizes its weights (PIL style), as
  both backends do.

Axes are resized one after the other: a gather and a blend per axis, no loop over pixels.

ONNX's Resize defines more: a coordinate transformation mode (`source_coordinates`), four
rounding rules for "nearest", Keys' cubic filter and antialiased linear / cubic filters. For those,
`interpolation_taps` gives each output cell the input cells it mixes and their weights.
"""

import numpy as np

from .resize_filters import BLURRING_INTERPOLATIONS, FILTERED_INTERPOLATIONS, filter_weights

__all__ = ["COORDINATE_MODES", "NEAREST_MODES", "antialias_coefficients", "antialias_weights",
           "aspect_crop_box", "aspect_pad_box", "cubic_coefficients", "interpolation_taps",
           "linear_taps", "nearest_indices", "resize_axis", "resize_images", "round_nearest",
           "source_coordinates"]


def nearest_indices(in_size: int, out_size: int) -> np.ndarray:
    """Input index read by each output cell for "nearest" resizing."""
    indices = ((2 * np.arange(out_size, dtype=np.int64) + 1) * in_size) // (2 * out_size)
    return np.minimum(indices, in_size - 1)


def linear_taps(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower index, upper index, upper weight) of each output cell for bilinear resizing of
    an axis of `in_size` cells to `out_size` (three arrays of `out_size` entries)."""
    source = (np.arange(out_size, dtype=np.float64) + 0.5) * (in_size / out_size) - 0.5
    source = np.maximum(source, 0.0)
    lower = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
    upper = np.minimum(lower + 1, in_size - 1)
    return lower, upper, source - lower


def antialias_weights(in_size: int, out_size: int) -> np.ndarray:
    """(in_size, out_size) weights of a triangle filter widened to the downscale factor: the
    product of an axis of `in_size` cells with them resizes it, antialiased, to `out_size`."""
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
    if in_size == out_size and interpolation not in BLURRING_INTERPOLATIONS:
        return x
    if in_size == 0:
        raise ValueError(f"cannot resize an empty axis to {out_size} cells")
    if interpolation == "nearest":
        return np.take(x, nearest_indices(in_size, out_size), axis=axis)
    if interpolation in FILTERED_INTERPOLATIONS:
        weights = filter_weights(in_size, out_size, interpolation, antialias).astype(x.dtype)
        return np.moveaxis(np.tensordot(x, weights, axes=(axis, 0)), -1, axis)
    if interpolation != "bilinear":
        raise ValueError(f"unknown interpolation {interpolation!r}")
    if antialias and out_size < in_size:
        weights = antialias_weights(in_size, out_size).astype(x.dtype)
        return np.moveaxis(np.tensordot(x, weights, axes=(axis, 0)), -1, axis)
    lower, upper, upper_weight = linear_taps(in_size, out_size)
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


# ----- ONNX Resize -------------------------------------------------------------------------------

COORDINATE_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                    "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def source_coordinates(mode: str, in_size: int, out_size: int, scale: float,
                       roi_start: float = 0.0, roi_end: float = 1.0) -> np.ndarray:
    """The input coordinate of each of the `out_size` output cells of an axis, by ONNX's
    coordinate transformation `mode` (one of COORDINATE_MODES) for `scale` (output size over
    input size); tf_crop_and_resize reads the axis' region `roi_start`..`roi_end`."""
    out_float = scale * in_size
    x = np.arange(out_size, dtype=np.float64)
    if mode == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        offset = in_size / 2 * (1 - out_size / out_float)
        return offset + (x + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if out_float != 1 else np.full(out_size, -0.5)
    if mode == "align_corners":
        return x * (in_size - 1) / (out_float - 1) if out_float != 1 else np.zeros(out_size)
    if mode == "tf_half_pixel_for_nn":
        return (x + 0.5) / scale
    if mode == "tf_crop_and_resize":
        if out_float == 1:
            return np.full(out_size, (roi_end - roi_start) * (in_size - 1) / 2
                           + roi_start * (in_size - 1))
        return (x * (roi_end - roi_start) * (in_size - 1) / (out_float - 1)
                + roi_start * (in_size - 1))
    return x / scale  # asymmetric


def round_nearest(coordinates: np.ndarray, nearest_mode: str) -> np.ndarray:
    """`coordinates` rounded to whole cells by ONNX's `nearest_mode` (one of NEAREST_MODES)."""
    if nearest_mode == "floor":
        return np.floor(coordinates)
    if nearest_mode == "ceil":
        return np.ceil(coordinates)
    fraction = coordinates - np.floor(coordinates)
    if nearest_mode == "round_prefer_floor":
        return np.where(fraction == 0.5, np.floor(coordinates), np.round(coordinates))
    return np.where(fraction == 0.5, np.ceil(coordinates), np.round(coordinates))


def cubic_coefficients(ratio: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic weights (`a`: ONNX's cubic_coeff_a) of the taps at offsets -1, 0, 1, 2 from
    each output's left neighbour, `ratio` being its distance from it: (outputs, 4)."""
    r, s = ratio, 1 - ratio
    return np.stack([((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
                     ((a + 2) * r - (a + 3)) * r * r + 1,
                     ((a + 2) * s - (a + 3)) * s * s + 1,
                     ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a], axis=1)


def antialias_coefficients(ratio: np.ndarray, scale: float, mode: str,
                           a: float) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, weights) of ONNX's antialiased "linear" / "cubic" `mode` filters, stretched by
    1 / `scale` when downsampling and normalized to sum 1; `ratio` as in `cubic_coefficients`,
    weights (outputs, len(offsets))."""
    scale = min(scale, 1.0)
    if mode == "linear":
        start = int(np.floor(-1 / scale) + 1)
        offsets = np.arange(start, 2 - start)
        weights = np.clip(1 - np.abs((offsets[None, :] - ratio[:, None]) * scale), 0, 1)
    else:
        start = int(np.floor(-2 / scale) + 1)
        offsets = np.arange(start, 2 - start)
        x = np.abs((offsets[None, :] - ratio[:, None]) * scale)
        weights = np.where(x <= 1, (a + 2) * x**3 - (a + 3) * x**2 + 1,
                           np.where(x < 2, a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a, 0.0))
    return offsets, weights / weights.sum(axis=1, keepdims=True)


def interpolation_taps(coordinates: np.ndarray, scale: float, in_size: int, mode: str,
                       nearest_mode: str = "round_prefer_floor", cubic_coeff_a: float = -0.75,
                       exclude_outside: bool = False,
                       antialias: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(indices, weights), each (outputs, taps): which of the `in_size` input cells each
    output at `coordinates` (from `source_coordinates`) mixes, and how, for ONNX Resize's `mode`
    ("nearest", "linear" or "cubic") and its options. Indices are clamped into the input;
    `exclude_outside` gives cells outside it weight 0 (the rest renormalized)."""
    if mode == "nearest":
        indices = np.clip(round_nearest(coordinates, nearest_mode), 0, in_size - 1).astype(np.int64)
        return indices[:, None], np.ones((len(coordinates), 1))
    # ONNX's reference picks the taps around `base` (the left neighbour; one to the left of
    # an integer coordinate, whose ratio is then 1).
    integral = coordinates == np.floor(coordinates)
    base = np.where(integral, coordinates - 1, np.floor(coordinates))
    ratio = coordinates - base
    if antialias:
        offsets, weights = antialias_coefficients(ratio, scale, mode, cubic_coeff_a)
    elif mode == "linear":
        offsets, weights = np.arange(2), np.stack([1 - ratio, ratio], axis=1)
    else:
        offsets, weights = np.arange(-1, 3), cubic_coefficients(ratio, cubic_coeff_a)
    positions = base.astype(np.int64)[:, None] + offsets[None, :]
    if exclude_outside:
        weights = np.where((positions < 0) | (positions >= in_size), 0.0, weights)
        weights = weights / weights.sum(axis=1, keepdims=True)
    return np.clip(positions, 0, in_size - 1), weights
