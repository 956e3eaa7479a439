"""Deterministic contrast layers: AutoContrast, Equalization and
ContrastLimitedAdaptiveHistogramEqualization (CLAHE).

What Keras 3.15.1 does at inference (`training=False`):

* AutoContrast computes: each image's channels are stretched to the full value range
  (per image, the minimum and maximum over axes 1 and 2 of the batch, whatever the
  data_format); a constant channel comes back unchanged. The output is in the compute dtype.
* Equalization is the identity at inference: it equalizes only when training. The images come
  back untouched in their own dtype (and its symbolic output keeps the input's dtype).
* CLAHE always computes (it has no training switch) and returns the input's dtype.
  Where the image size is not a multiple of `tile_grid_size`, Keras pads the images at the bottom
  and right before tiling; its backends disagree on how: TensorFlow (and NumPy/JAX) mirror the
  edge ("symmetric"), PyTorch repeats the edge row ("replicate"). modelio follows TensorFlow.
"""

import numpy as np

from ...graph import register_layer
from .base import AugmentationLayer, transform_value_range

__all__ = ["AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization", "Equalization"]


@register_layer()
class AutoContrast(AugmentationLayer):
    """Stretches each image channel's [min, max] onto `value_range`."""

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.value_range = self.check_value_range(value_range)

    def infer(self, images):
        dtype = np.dtype(self.compute_dtype)
        batched = images if images.ndim == 4 else images[None]
        work = transform_value_range(batched, self.value_range, (0, 255), dtype)
        work = work.astype(dtype, copy=False)
        low = work.min(axis=(1, 2), keepdims=True)
        high = work.max(axis=(1, 2), keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            scale = dtype.type(255.0) / (high - low)
            offset = -low * scale
            stretched = np.clip(work * scale + offset, 0, 255).astype(dtype, copy=False)
            results = transform_value_range(stretched, (0, 255), self.value_range, dtype)
        results = np.where(np.isnan(results), batched, results).astype(dtype, copy=False)
        return results if images.ndim == 4 else results[0]

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range}


@register_layer()
class Equalization(AugmentationLayer):
    """Histogram equalization in training only; at inference the images pass untouched."""

    keeps_input_dtype = True
    symbolic_keeps_dtype = True

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
            raise self.bad("bins", "a positive integer", bins)
        self.bins = bins
        self.value_range = self.check_value_range(value_range)

    def get_config(self):
        return {**super().get_config(), "bins": self.bins, "value_range": self.value_range}


@register_layer()
class ContrastLimitedAdaptiveHistogramEqualization(AugmentationLayer):
    """Per-tile histogram equalization with clipped histograms, bilinearly blended between tile
    centres; always computed, in float32, and cast back to the input's dtype."""

    keeps_input_dtype = True

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8),
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = self.check_value_range(value_range, sort=False)
        self.clip_limit = self.check_number(clip_limit, "clip_limit")
        if not isinstance(tile_grid_size, (list, tuple)) or len(tile_grid_size) != 2 or not all(
                isinstance(size, int) and not isinstance(size, bool) and size >= 1
                for size in tile_grid_size):
            raise self.bad("tile_grid_size", "a list of two positive integers", tile_grid_size)
        self.tile_grid_size = list(tile_grid_size)

    def infer(self, images):
        original_dtype = images.dtype
        batched = images if images.ndim == 4 else images[None]
        if self.data_format == "channels_first":
            batched = batched.transpose(0, 2, 3, 1)
        work = transform_value_range(batched, self.value_range, (0, 255), np.float32)
        result = clahe(work, self.clip_limit, self.tile_grid_size)
        result = transform_value_range(result, (0, 255), self.value_range, np.float32)
        if self.data_format == "channels_first":
            result = result.transpose(0, 3, 1, 2)
        result = result.astype(original_dtype)
        return result if images.ndim == 4 else result[0]

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "clip_limit": self.clip_limit, "tile_grid_size": self.tile_grid_size}


def tile_layout(height: int, width: int, grid) -> tuple:
    """(tile_h, tile_w, pad_h, pad_w): tile sizes and the bottom/right padding that makes
    the image a whole number of tiles."""
    grid_h, grid_w = grid
    tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
    return tile_h, tile_w, tile_h * grid_h - height, tile_w * grid_w - width


def clahe_tables(pixels: np.ndarray, clip_limit: float, grid, tile_h: int, tile_w: int):
    """The equalization table of every tile, edge tiles repeated once around:
    (batch, grid_h + 2, grid_w + 2, channels, 256) float32, from the padded integer pixels."""
    batch, _, _, channels = pixels.shape
    grid_h, grid_w = grid
    tiles = pixels.reshape(batch, grid_h, tile_h, grid_w, tile_w, channels)
    tiles = tiles.transpose(0, 1, 3, 5, 2, 4).reshape(-1, tile_h * tile_w)
    offsets = (np.arange(tiles.shape[0]) * 256)[:, None]
    hists = np.bincount((tiles + offsets).ravel(), minlength=tiles.shape[0] * 256)
    hists = hists.reshape(batch, grid_h, grid_w, channels, 256).astype(np.float32)
    if clip_limit > 0:
        limit = np.float32(clip_limit * (tile_h * tile_w) / 256.0)
        clipped = np.clip(hists, 0, limit)
        excess = np.sum(hists - clipped, axis=-1, keepdims=True, dtype=np.float32)
        hists = clipped + excess / np.float32(256.0)
    cdf = np.cumsum(hists, axis=-1, dtype=np.float32)
    cdf_min = cdf.min(axis=-1, keepdims=True)
    denominator = np.float32(tile_h * tile_w) - cdf_min
    denominator = np.where(denominator == 0, np.float32(1), denominator)
    tables = np.clip((cdf - cdf_min) * np.float32(255.0) / denominator, 0, 255)
    tables = np.concatenate([tables[:, :1], tables, tables[:, -1:]], axis=1)
    return np.concatenate([tables[:, :, :1], tables, tables[:, :, -1:]], axis=2)


def blend_positions(size: int, tile: int, grid: int):
    """(lower index, upper index, upper weight) of each padded row/column between the centres
    of the tables around it (indices into the edge-extended table grid)."""
    position = (np.arange(size, dtype=np.float32) - np.float32(tile / 2.0)) / np.float32(tile)
    position = position + np.float32(1.0)
    lower = np.floor(position)
    weight = position - lower
    upper = np.clip(lower + 1, 0, grid + 1).astype(np.int64)
    return np.clip(lower, 0, grid + 1).astype(np.int64), upper, weight


def clahe(images: np.ndarray, clip_limit: float, grid) -> np.ndarray:
    """CLAHE of channels-last (batch, height, width, channels) images in [0, 255], as Keras's
    TensorFlow backend computes it; float32 result of the same shape."""
    batch, height, width, channels = images.shape
    tile_h, tile_w, pad_h, pad_w = tile_layout(height, width, grid)
    padded = images
    if pad_h or pad_w:
        padded = np.pad(images, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
    pixels = _as_pixels(padded)
    tables = clahe_tables(pixels, clip_limit, grid, tile_h, tile_w)
    y0, y1, wy = blend_positions(tile_h * grid[0], tile_h, grid[0])
    x0, x1, wx = blend_positions(tile_w * grid[1], tile_w, grid[1])
    b = np.arange(batch)[:, None, None, None]
    c = np.arange(channels)[None, None, None, :]
    y0, y1, wy = y0[None, :, None, None], y1[None, :, None, None], wy[None, :, None, None]
    x0, x1, wx = x0[None, None, :, None], x1[None, None, :, None], wx[None, None, :, None]
    one = np.float32(1.0)
    top = tables[b, y0, x0, c, pixels] * (one - wx) + tables[b, y0, x1, c, pixels] * wx
    bottom = tables[b, y1, x0, c, pixels] * (one - wx) + tables[b, y1, x1, c, pixels] * wx
    result = top * (one - wy) + bottom * wy
    return result[:, :height, :width, :].astype(np.float32, copy=False)


def _as_pixels(values: np.ndarray) -> np.ndarray:
    """Integer pixel values in [0, 255]: truncated toward zero, then clipped (Keras's cast to
    int32 and clip)."""
    if values.dtype.kind == "f":
        values = np.trunc(np.clip(np.nan_to_num(values, nan=0.0), -1.0, 256.0))
    return np.clip(values.astype(np.int64), 0, 255)

