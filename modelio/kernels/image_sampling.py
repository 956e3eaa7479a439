"""Resampling images at computed positions, as Keras 3's `keras.ops.image` functions do (numpy).

* ``projective_transform``: TensorFlow's ImageProjectiveTransformV3, what Keras's TensorFlow
  backend runs for `affine_transform` and `perspective_transform`: each output pixel (x, y)
  reads the input at ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1,
  in float32; "reflect", "wrap" and "nearest" fill modes move that position into the image
  first, then "nearest" interpolation rounds halves away from zero and "bilinear" mixes the
  four neighbours, reading `fill_value` outside the image. "mirror" (which TensorFlow lacks)
  mirrors the neighbour indices as Keras's torch backend does.
* ``map_coordinates``: Keras's `map_coordinates` (order 0 or 1) on an array of any rank: the
  neighbour indices of each coordinate are moved into the array per fill mode ("reflect" as
  Keras's TensorFlow backend computes it: |i| reflected at the far edge).
* ``homography``: the eight projective coefficients mapping `end_points` to `start_points`.
* ``scale_and_translate_weights``: the (in, out) resampling matrix of Keras's
  `scale_and_translate` for one axis.
* ``gaussian_1d``: the normalized Gaussian taps Keras's blur and SSIM use;
  ``separable_correlate``: a valid 2-D correlation with an outer-product window, one axis after
  the other.
"""

import numpy as np

__all__ = ["SCALE_KERNELS", "gaussian_1d", "separable_correlate", "homography", "map_coordinates", "mirror_index",
           "projective_transform", "reflect_index_tf", "scale_and_translate_weights"]

_F32 = np.float32


def gaussian_1d(size: int, sigma: float, dtype=np.float32) -> np.ndarray:
    """exp(-x^2 / (2 sigma^2)) at x = i - (size - 1) / 2, normalized to sum 1."""
    x = np.arange(size, dtype=dtype) - dtype(size - 1) / dtype(2)
    taps = np.exp(dtype(-0.5) * (x / dtype(sigma)) ** 2)
    return taps / taps.sum(dtype=dtype)


def separable_correlate(x: np.ndarray, row_taps: np.ndarray, col_taps: np.ndarray,
                        row_axis: int, col_axis: int) -> np.ndarray:
    """Valid correlation of `x` with the window outer(row_taps, col_taps) over (row_axis,
    col_axis): rows first, then columns, one shifted multiply-add per tap."""
    for axis, taps in ((row_axis, row_taps), (col_axis, col_taps)):
        length = x.shape[axis] - len(taps) + 1
        out = None
        for index, tap in enumerate(taps.astype(x.dtype)):
            key = [slice(None)] * x.ndim
            key[axis] = slice(index, index + length)
            term = tap * x[tuple(key)]
            out = term if out is None else out + term
        x = out
    return x


def _trunc(values: np.ndarray) -> np.ndarray:
    return np.trunc(values).astype(values.dtype)


def _map_reflect(c: np.ndarray, length: int) -> np.ndarray:
    if length <= 1:
        return np.zeros_like(c)
    sz2 = _F32(2 * length)
    below = sz2 * _trunc(-c / sz2) + c
    below = np.where(below < -length, below + sz2, -below - _F32(1))
    above = c - sz2 * _trunc(c / sz2)
    above = np.where(above >= length, sz2 - above - _F32(1), above)
    mapped = np.where(c < 0, below, np.where(c > length - 1, above, c))
    return np.clip(mapped, _F32(0), _F32(length - 1))


def _map_wrap(c: np.ndarray, length: int) -> np.ndarray:
    if length <= 1:
        return np.zeros_like(c)
    sz = _F32(length - 1)
    below = c + _F32(length) * (_trunc(-c / sz) + _F32(1))
    above = c - _F32(length) * _trunc(c / sz)
    mapped = np.where(c < 0, below, np.where(c > length - 1, above, c))
    return np.clip(mapped, _F32(0), _F32(length - 1))


_POSITION_MAPS = {
    "constant": lambda c, length: c,
    "nearest": lambda c, length: np.clip(c, _F32(0), _F32(length - 1)),
    "reflect": _map_reflect,
    "wrap": _map_wrap,
}


def mirror_index(index: np.ndarray, size: int) -> np.ndarray:
    """(c d c b | a b c d | c b a b): the edge cell is not repeated."""
    if size <= 1:
        return np.zeros_like(index)
    period = size - 1
    return np.abs(np.mod(index + period, 2 * period) - period)


def reflect_index_tf(index: np.ndarray, size: int) -> np.ndarray:
    """Keras's TensorFlow backend's "reflect" of `map_coordinates`: |i| folded at the far edge
    (d c b a | a b c d | d c b a) — negative indices are mirrored, not reflected."""
    folded = np.mod(np.abs(index), 2 * size)
    return np.where(folded < size, folded, 2 * size - folded - 1)


def _read(images, batch, rows, cols, fill_value):
    """images[batch, rows, cols, :] where (rows, cols) lies inside, else fill_value."""
    height, width = images.shape[1:3]
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    values = images[batch, np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)]
    return np.where(inside[..., None], values, fill_value)


def projective_transform(images: np.ndarray, transforms: np.ndarray, interpolation: str,
                         fill_mode: str, fill_value: float) -> np.ndarray:
    """`images` (N, H, W, C) float resampled through `transforms` (N or 1, 8) (see the module
    docstring); same shape and dtype."""
    count, height, width, _ = images.shape
    dtype = images.dtype
    fill = np.asarray(fill_value, dtype)
    t = np.broadcast_to(transforms.astype(_F32), (count, 8))[:, :, None, None]
    y, x = np.meshgrid(np.arange(height, dtype=_F32), np.arange(width, dtype=_F32),
                       indexing="ij")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        k = t[:, 6] * x + t[:, 7] * y + _F32(1)
        defined = k != 0
        k = np.where(defined, k, _F32(1))
        in_x = (t[:, 0] * x + t[:, 1] * y + t[:, 2]) / k
        in_y = (t[:, 3] * x + t[:, 4] * y + t[:, 5]) / k
    batch = np.arange(count)[:, None, None]
    if fill_mode == "mirror":
        out = _mirrored(images, batch, in_y, in_x, interpolation)
    else:
        in_x = _POSITION_MAPS[fill_mode](in_x, width)
        in_y = _POSITION_MAPS[fill_mode](in_y, height)
        if interpolation == "nearest":
            def half_away(v):
                return (np.sign(v) * np.floor(np.abs(v) + _F32(0.5))).astype(np.int64)
            out = _read(images, batch, half_away(in_y), half_away(in_x), fill)
        else:
            x0, y0 = np.floor(in_x), np.floor(in_y)
            x1, y1 = x0 + _F32(1), y0 + _F32(1)
            rows0, rows1 = y0.astype(np.int64), y1.astype(np.int64)
            cols0, cols1 = x0.astype(np.int64), x1.astype(np.int64)
            wx0, wx1 = (x1 - in_x)[..., None], (in_x - x0)[..., None]
            wy0, wy1 = (y1 - in_y)[..., None], (in_y - y0)[..., None]
            top = wx0 * _read(images, batch, rows0, cols0, fill) + \
                wx1 * _read(images, batch, rows0, cols1, fill)
            bottom = wx0 * _read(images, batch, rows1, cols0, fill) + \
                wx1 * _read(images, batch, rows1, cols1, fill)
            out = wy0 * top + wy1 * bottom
    return np.where(defined[..., None], out, fill).astype(dtype, copy=False)


def _mirrored(images, batch, in_y, in_x, interpolation):
    height, width = images.shape[1:3]
    if interpolation == "nearest":
        rows = mirror_index(np.rint(in_y).astype(np.int64), height)
        cols = mirror_index(np.rint(in_x).astype(np.int64), width)
        return images[batch, rows, cols]
    y0, x0 = np.floor(in_y), np.floor(in_x)
    wy1, wx1 = in_y - y0, in_x - x0
    rows = [mirror_index(y0.astype(np.int64) + step, height) for step in (0, 1)]
    cols = [mirror_index(x0.astype(np.int64) + step, width) for step in (0, 1)]
    weights_y, weights_x = (_F32(1) - wy1, wy1), (_F32(1) - wx1, wx1)
    out = 0
    for i in (0, 1):
        for j in (0, 1):
            out = out + (weights_y[i] * weights_x[j])[..., None] * images[batch, rows[i], cols[j]]
    return out


_INDEX_FIXERS = {
    "constant": lambda index, size: np.clip(index, 0, size - 1),
    "nearest": lambda index, size: np.clip(index, 0, size - 1),
    "wrap": lambda index, size: np.mod(index, size),
    "mirror": mirror_index,
    "reflect": reflect_index_tf,
}


def map_coordinates(array: np.ndarray, coordinates: np.ndarray, order: int, fill_mode: str,
                    fill_value) -> np.ndarray:
    """`array` read at `coordinates` (rank, *shape): nearest (order 0, halves to even) or
    linear (order 1) in each axis; indices outside handled per `fill_mode` (module docstring).
    Integer arrays are rounded back."""
    dtype = array.dtype
    fill = np.asarray(fill_value, dtype)
    nodes = []
    for coordinate, size in zip(coordinates, array.shape):
        if order == 0:
            pairs = [(np.rint(coordinate).astype(np.int64), None)]
        else:
            lower = np.floor(coordinate)
            upper_weight = coordinate - lower
            index = lower.astype(np.int64)
            pairs = [(index, 1 - upper_weight), (index + 1, upper_weight)]
        nodes.append([(_INDEX_FIXERS[fill_mode](index, size), (index >= 0) & (index < size),
                       weight) for index, weight in pairs])
    result = None
    for corner in np.ndindex(*(len(axis_nodes) for axis_nodes in nodes)):
        items = [nodes[axis][choice] for axis, choice in enumerate(corner)]
        values = array[tuple(index for index, _, _ in items)]
        if fill_mode == "constant":
            valid = np.logical_and.reduce([valid for _, valid, _ in items])
            values = np.where(valid, values, fill)
        weights = [weight for _, _, weight in items if weight is not None]
        if weights:
            weight = weights[0]
            for other in weights[1:]:
                weight = weight * other
            values = weight * values
        result = values if result is None else result + values
    if dtype.kind in "iub":
        result = np.rint(result)
    return np.asarray(result).astype(dtype, copy=False)


def homography(start_points: np.ndarray, end_points: np.ndarray) -> np.ndarray:
    """(N, 8) coefficients [a0, a1, a2, b0, b1, b2, c0, c1] taking each of the four
    `end_points` (N, 4, 2) (x, y) to its `start_points` one."""
    start = start_points.astype(np.float64)
    end = end_points.astype(np.float64)
    count = start.shape[0]
    matrix = np.zeros((count, 8, 8))
    for corner in range(4):
        ex, ey = end[:, corner, 0], end[:, corner, 1]
        sx, sy = start[:, corner, 0], start[:, corner, 1]
        matrix[:, 2 * corner, 0:3] = np.stack([ex, ey, np.ones_like(ex)], axis=-1)
        matrix[:, 2 * corner, 6:8] = np.stack([-sx * ex, -sx * ey], axis=-1)
        matrix[:, 2 * corner + 1, 3:6] = np.stack([ex, ey, np.ones_like(ex)], axis=-1)
        matrix[:, 2 * corner + 1, 6:8] = np.stack([-sy * ex, -sy * ey], axis=-1)
    target = start.reshape(count, 8, 1)
    return np.linalg.solve(matrix, target)[..., 0].astype(_F32)


def _triangle(x):
    return np.maximum(0, 1 - np.abs(x))


def _keys_cubic(x):
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return np.where(x >= 2.0, 0.0, out)


def _lanczos(radius: float):
    def kernel(x):
        y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(x > 1e-3, y / np.where(x != 0, np.pi ** 2 * x ** 2, 1), 1)
        return np.where(x > radius, 0.0, out)
    return kernel


# Keras's method names -> the kernel of the distance in input cells
SCALE_KERNELS = {"linear": _triangle, "bilinear": _triangle, "trilinear": _triangle,
                 "triangle": _triangle, "cubic": _keys_cubic, "bicubic": _keys_cubic,
                 "tricubic": _keys_cubic, "lanczos3": _lanczos(3.0), "lanczos5": _lanczos(5.0)}


def scale_and_translate_weights(in_size: int, out_size: int, scale, translation, method: str,
                                antialias: bool, dtype=np.float32) -> np.ndarray:
    """(in_size, out_size) matrix: output cell j samples input position
    (j + 0.5 - translation) / scale - 0.5 with `method`'s kernel (widened by 1 / scale when
    downscaling with `antialias`), normalized; samples outside the input get no weight."""
    scale, translation = dtype(scale), dtype(translation)
    inv_scale = dtype(1.0) / scale
    kernel_scale = max(inv_scale, dtype(1.0)) if antialias else dtype(1.0)
    sample = (np.arange(out_size, dtype=dtype) + dtype(0.5)) * inv_scale - \
        translation * inv_scale - dtype(0.5)
    x = np.abs(sample[None, :] - np.arange(in_size, dtype=dtype)[:, None]) / kernel_scale
    weights = SCALE_KERNELS[method](x).astype(dtype)
    total = weights.sum(axis=0, keepdims=True, dtype=dtype)
    weights = np.where(np.abs(total) > 1000.0 * float(np.finfo(np.float32).eps),
                       weights / np.where(total != 0, total, dtype(1)), dtype(0))
    inside = (sample >= -0.5) & (sample <= in_size - 0.5)
    return np.where(inside[None, :], weights, dtype(0)).astype(dtype)
