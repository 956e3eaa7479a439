"""Per-axis weight matrices of the resize filters Keras 3's TensorFlow backend reaches through
`tf.image.resize`: "bicubic", "lanczos3", "lanczos5" and "area" (with and without `antialias`),
and the "gaussian" and "mitchellcubic" that only tf-keras reaches.

Each function returns an (in_size, out_size) float64 matrix W: the product of an axis of
`in_size` cells with W resizes that axis to `out_size` cells, so an image is resized by one
matrix product per axis. Positions are computed in float32 as TensorFlow's kernels compute them
(half-pixel centres throughout):

* "bicubic" without antialias (TF's ResizeBicubic, half_pixel_centers=True): Keys' cubic with
  a = -0.5 on the four cells around each sample, the weights read from a table of 1025 samples
  (the fraction rounded to 1/1024), taps outside the image dropped and the rest renormalized;
* "bicubic" with antialias, "lanczos3", "lanczos5", "gaussian", "mitchellcubic" (TF's
  ScaleAndTranslate with that kernel, "keyscubic" for bicubic): the filter centred on each sample, widened by the
  downscale factor when `antialias` is set, cut to the image and normalized to sum 1;
* "area" (TF's ResizeArea): each output cell averages the input cells its box overlaps, weighted
  by the overlap; `antialias` does not change it.

Keras 3's PyTorch backend computes "bicubic" differently (a = -0.75, edge cells repeated,
exact weights) and refuses "lanczos3", "lanczos5" and "area"; modelio follows TensorFlow.
Keras 3 refuses "gaussian" and "mitchellcubic" on every backend; tf-keras (Keras 2) computes
them with tf.image.resize.
"""

import numpy as np

__all__ = ["BLURRING_INTERPOLATIONS", "FILTERED_INTERPOLATIONS", "area_weights", "bicubic_weights", "filter_weights",
           "scale_and_translate_weights"]

FILTERED_INTERPOLATIONS = ("bicubic", "lanczos3", "lanczos5", "area", "gaussian", "mitchellcubic")
# Filters that are not zero at whole-cell distances: they blur an axis whose size stays the same
# (tf.image.resize does not skip such axes).
BLURRING_INTERPOLATIONS = ("gaussian", "mitchellcubic")

_TABLE_SIZE = 1024
_F32 = np.float32
_TINY = 1000.0 * float(np.finfo(np.float32).tiny)  # TF's "is the weight sum non-zero" bound


def _keys_table(a: float = -0.5) -> np.ndarray:
    """(1025, 2) float32: Keys' cubic at distance i / 1024 (column 0) and 1 + i / 1024 (column
    1), as ResizeBicubic tabulates it."""
    x = (np.arange(_TABLE_SIZE + 1, dtype=np.float64) / _TABLE_SIZE).astype(_F32).astype(np.float64)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    x = (x + 1.0).astype(_F32).astype(np.float64)
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.stack([near, far], axis=1).astype(_F32)


def _scatter(in_size: int, positions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(in_size, outputs) matrix from per-output tap `positions` and `weights` (outputs, taps);
    taps at positions outside the input must have weight 0."""
    matrix = np.zeros((in_size, positions.shape[0]), np.float64)
    columns = np.broadcast_to(np.arange(positions.shape[0])[:, None], positions.shape)
    np.add.at(matrix, (np.clip(positions, 0, in_size - 1), columns), weights)
    return matrix


def _normalized(weights: np.ndarray) -> np.ndarray:
    totals = weights.sum(axis=1, dtype=_F32, keepdims=True).astype(np.float64)
    safe = np.abs(totals) >= _TINY
    return np.where(safe, weights / np.where(safe, totals, 1.0), weights)


def bicubic_weights(in_size: int, out_size: int) -> np.ndarray:
    """TF's ResizeBicubic (half-pixel centres, Keys a = -0.5, tabulated, edge taps dropped)."""
    scale = _F32(in_size) / _F32(out_size)
    position = (np.arange(out_size, dtype=_F32) + _F32(0.5)) * scale - _F32(0.5)
    base = np.floor(position)
    offset = np.rint((position - base) * _F32(_TABLE_SIZE)).astype(np.int64)
    table = _keys_table()
    weights = np.stack([table[offset, 1], table[offset, 0], table[_TABLE_SIZE - offset, 0],
                        table[_TABLE_SIZE - offset, 1]], axis=1).astype(np.float64)
    positions = base.astype(np.int64)[:, None] + np.arange(-1, 3)[None, :]
    weights = np.where((positions >= 0) & (positions < in_size), weights, 0.0)
    return _scatter(in_size, positions, _normalized(weights))


def _keys_cubic(x):
    return np.where(x >= 2, 0.0, np.where(x >= 1, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0,
                                          (1.5 * x - 2.5) * x * x + 1.0))


def _mitchell_cubic(x):
    return np.where(x >= 2, 0.0, np.where(
        x >= 1, ((-7.0 / 18.0 * x + 2.0) * x - 10.0 / 3.0) * x + 16.0 / 9.0,
        (7.0 / 6.0 * x - 2.0) * x * x + 8.0 / 9.0))


def _gaussian(x):  # radius 1.5, sigma = radius / 3
    return np.where(x >= 1.5, 0.0, np.exp(-x * x / (2.0 * 0.5 * 0.5)))


def _lanczos(radius: int):
    def kernel(x):
        pi_x = np.pi * np.maximum(x, 1e-3)
        value = radius * np.sin(pi_x) * np.sin(pi_x / radius) / (pi_x * pi_x)
        return np.where(x > radius, 0.0, np.where(x <= 1e-3, 1.0, value))
    return kernel


# kernel name -> (radius, function of the distance in cells)
_KERNELS = {"keyscubic": (2, _keys_cubic), "lanczos3": (3, _lanczos(3)),
            "lanczos5": (5, _lanczos(5)), "gaussian": (1.5, _gaussian),
            "mitchellcubic": (2, _mitchell_cubic)}


def scale_and_translate_weights(in_size: int, out_size: int, kernel: str,
                                antialias: bool) -> np.ndarray:
    """TF's ScaleAndTranslate with no translation: `kernel` ("keyscubic", "lanczos3",
    "lanczos5", "gaussian", "mitchellcubic") centred on each output's sample, widened by the downscale factor when
    `antialias`, cut to the input and normalized."""
    radius, function = _KERNELS[kernel]
    scale = _F32(out_size) / _F32(in_size)
    inv_scale = _F32(1.0 / float(scale))
    kernel_scale = max(inv_scale, _F32(1.0)) if antialias else _F32(1.0)
    reach = _F32(radius) * kernel_scale
    sample = (np.arange(out_size, dtype=_F32) + _F32(0.5)) * inv_scale
    start = np.clip(np.ceil(sample - reach - _F32(0.5)).astype(np.int64), 0, in_size - 1)
    end = np.clip(np.floor(sample + reach - _F32(0.5)).astype(np.int64), 0, in_size - 1) + 1
    span = min(2 * int(np.ceil(reach)) + 1, in_size)
    positions = start[:, None] + np.arange(span)[None, :]
    distance = (positions.astype(_F32) + _F32(0.5) - sample[:, None]) * (_F32(1.0) / kernel_scale)
    weights = function(np.abs(distance.astype(np.float64)))
    inside = (positions < end[:, None]) & ((sample >= 0) & (sample <= in_size))[:, None]
    weights = np.where(inside, weights, 0.0)
    return _scatter(in_size, positions, _normalized(weights))


def area_weights(in_size: int, out_size: int) -> np.ndarray:
    """TF's ResizeArea: output cell x averages input cells over [x, x + 1) * in / out, each
    weighted by its overlap with that box."""
    scale = _F32(in_size) / _F32(out_size)
    cells = np.arange(out_size, dtype=_F32)
    low = (cells * scale).astype(np.float64)
    high = ((cells + _F32(1)) * scale).astype(np.float64)
    edges = np.arange(in_size, dtype=np.float64)[:, None]
    overlap = np.minimum(edges + 1, high[None, :]) - np.maximum(edges, low[None, :])
    return np.maximum(overlap, 0.0) / float(scale)


def filter_weights(in_size: int, out_size: int, interpolation: str,
                   antialias: bool = False) -> np.ndarray:
    """The (in_size, out_size) matrix of `interpolation` (one of FILTERED_INTERPOLATIONS) as
    Keras 3's TensorFlow backend resizes with it."""
    if interpolation == "area":
        return area_weights(in_size, out_size)
    if interpolation == "bicubic":
        if not antialias:
            return bicubic_weights(in_size, out_size)
        return scale_and_translate_weights(in_size, out_size, "keyscubic", True)
    if interpolation in ("lanczos3", "lanczos5", "gaussian", "mitchellcubic"):
        return scale_and_translate_weights(in_size, out_size, interpolation, antialias)
    raise ValueError(f"unknown interpolation {interpolation!r}")
