"""Pooling kernels: max and average pooling over N spatial axes, TF/Keras "valid" and "same".

"same" padding follows TensorFlow (and Keras 3's JAX/NumPy backends): the output has
ceil(size / stride) positions, the total padding is `max((out - 1) * stride + pool - size, 0)`
and the odd cell goes at the end. Max pooling ignores padding (as if it held -inf); average
pooling divides each window by the number of real (unpadded) cells in it.

Vectorization: the kernels loop over the few offsets inside one window (prod(pool_size)
steps). For each offset, the input cells it reads for all output positions form one strided
slice - exactly the `[..., offset]` plane of `sliding_window_view` - and are combined into the
output with one whole-array ufunc call. Windows that hang over "same" padding simply skip the
offsets that fall outside the input, so no padded copy of the input is ever made.

ONNX's MaxPool / AveragePool (`padded_pool`, `max_pool_with_indices`) take explicit begin and
end pads, dilations and `ceil_mode` instead: the input is padded once (with the lowest value for
max pooling, zeros for averages) and every window reduced with one strided slice per kernel
offset, as above.
"""

import itertools
import math

import numpy as np

__all__ = ["adaptive_average_matrix", "adaptive_bins", "adaptive_max_indices", "adaptive_pool",
           "average_pool", "max_pool", "max_pool_with_indices", "padded_pool", "pool_output_size",
           "pool_window_count", "pool_window_counts", "same_padding"]


def pool_output_size(size, pool: int, stride: int, padding: str):
    """Output length of one spatial axis (None stays None). "valid" may give <= 0."""
    if size is None:
        return None
    if padding == "valid":
        return (size - pool) // stride + 1
    return (size - 1) // stride + 1


def same_padding(size: int, pool: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of one axis for TF "same" pooling; the extra cell goes after."""
    out = (size - 1) // stride + 1
    total = max((out - 1) * stride + pool - size, 0)
    return total // 2, total - total // 2


def _offset_slices(offset: tuple, axes: tuple, sizes, strides, out_sizes, befores, ndim: int):
    """(output slice, input slice, covers every output) for one offset inside the window;
    None when this offset reads only padding."""
    out_index = [slice(None)] * ndim
    in_index = [slice(None)] * ndim
    covers_all = True
    for axis, j, size, stride, out, before in zip(axes, offset, sizes, strides, out_sizes,
                                                  befores):
        # Output cell o reads input cell o * stride + j - before, when that is in [0, size).
        low = max(0, -((j - before) // stride))
        high = min(out, (size - 1 - j + before) // stride + 1)
        if low >= high:
            return None
        covers_all = covers_all and low == 0 and high == out
        start = low * stride + j - before
        out_index[axis] = slice(low, high)
        in_index[axis] = slice(start, start + (high - low - 1) * stride + 1, stride)
    return tuple(out_index), tuple(in_index), covers_all


def _pool(x: np.ndarray, pool_size, strides, padding: str, axes, ufunc, fill):
    """Combine every window's cells with `ufunc`.

    Returns (result, input sizes, output sizes, padding before) of the pooled axes.
    """
    pool_size, strides, axes = tuple(pool_size), tuple(strides), tuple(axes)
    sizes = [x.shape[axis] for axis in axes]
    out_sizes = [pool_output_size(size, pool, stride, padding)
                 for size, pool, stride in zip(sizes, pool_size, strides)]
    if any(out <= 0 for out in out_sizes):
        raise ValueError(f"pool_size {pool_size} with strides {strides} and padding "
                         f"{padding!r} leaves no output for spatial size {tuple(sizes)}")
    befores = [same_padding(size, pool, stride)[0] if padding == "same" else 0
               for size, pool, stride in zip(sizes, pool_size, strides)]
    out_shape = list(x.shape)
    for axis, out in zip(axes, out_sizes):
        out_shape[axis] = out
    result = None
    for offset in itertools.product(*(range(pool) for pool in pool_size)):
        slices = _offset_slices(offset, axes, sizes, strides, out_sizes, befores, x.ndim)
        if slices is None:
            continue
        out_index, in_index, covers_all = slices
        if result is None:
            if covers_all:
                result = np.array(x[in_index])
                continue
            result = np.full(out_shape, fill, dtype=x.dtype)
        view = result[out_index]
        ufunc(view, x[in_index], out=view)
    return result, sizes, out_sizes, befores


def max_pool(x: np.ndarray, pool_size, strides, padding: str, axes) -> np.ndarray:
    """Max over windows of `pool_size` moved by `strides` along spatial `axes` of float `x`."""
    return _pool(x, pool_size, strides, padding, axes, np.maximum, -np.inf)[0]


def average_pool(x: np.ndarray, pool_size, strides, padding: str, axes) -> np.ndarray:
    """Mean over windows; with "same" padding only the real cells of a window are counted."""
    total, sizes, out_sizes, befores = _pool(x, pool_size, strides, padding, axes, np.add, 0)
    divisor = np.ones((), dtype=total.dtype)
    for axis, size, pool, stride, out, before in zip(axes, sizes, pool_size, strides, out_sizes,
                                                     befores):
        starts = np.arange(out) * stride - before  # window starts in unpadded coordinates
        count = np.minimum(starts + pool, size) - np.maximum(starts, 0)
        if (count == pool).all():
            divisor = divisor * pool
        else:
            shape = [1] * x.ndim
            shape[axis] = out
            divisor = divisor * count.astype(total.dtype).reshape(shape)
    total /= divisor
    return total


# ----- ONNX's explicit pads, dilations and ceil_mode ----------------------------------------------

def pool_window_count(size: int, kernel: int, stride: int, dilation: int, begin: int,
                      end: int, ceil_mode: bool) -> int:
    """Number of pooling windows along one axis, as ONNX counts them (a ceil_mode window must
    start inside the input or its leading pad)."""
    effective = (kernel - 1) * dilation + 1
    span = size + begin + end - effective
    count = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (count - 1) * stride >= size + begin:
        count -= 1
    return count


def pool_window_counts(spatial, kernel_shape, strides, pads, dilations, ceil_mode: bool) -> list:
    """`pool_window_count` of each spatial axis (`pads`: every begin, then every end); an
    unknown size (None) gives None."""
    rank = len(kernel_shape)
    return [None if size is None else pool_window_count(
        size, kernel, stride, dilation, pads[axis], pads[axis + rank], ceil_mode)
        for axis, (size, kernel, stride, dilation) in enumerate(
            zip(spatial, kernel_shape, strides, dilations))]


def _pool_pad_widths(spatial, counts, kernel_shape, strides, pads, dilations) -> list:
    """(before, after) of each spatial axis: the pads, plus cells at the end so that the last
    ceil_mode window fits."""
    rank = len(kernel_shape)
    extra = [max((count - 1) * stride + (kernel - 1) * dilation + 1 - (size + begin + end), 0)
             for count, stride, kernel, dilation, size, begin, end in zip(
                 counts, strides, kernel_shape, dilations, spatial, pads[:rank], pads[rank:])]
    return [(pads[axis], pads[axis + rank] + extra[axis]) for axis in range(rank)]


def _window_reduce(padded: np.ndarray, counts, kernel_shape, strides, dilations, ufunc,
                   start) -> np.ndarray:
    """`ufunc`-reduce every window of the trailing axes: one strided slice per kernel offset."""
    lead = padded.shape[:padded.ndim - len(kernel_shape)]
    result = np.full((*lead, *counts), start, dtype=padded.dtype)
    for offset in np.ndindex(*kernel_shape):
        index = tuple(slice(position * dilation, position * dilation + (count - 1) * stride + 1,
                            stride)
                      for position, dilation, count, stride in zip(
                          offset, dilations, counts, strides))
        ufunc(result, padded[(Ellipsis, *index)], out=result)
    return result


def _lowest(dtype) -> float:
    return np.iinfo(dtype).min if dtype.kind in "iu" else -np.inf


def padded_pool(x: np.ndarray, mode: str, kernel_shape, strides, pads, dilations,
                ceil_mode: bool = False, count_include_pad: bool = False) -> np.ndarray:
    """ONNX MaxPool (`mode="max"`) or AveragePool (`"average"`) over the trailing
    `len(kernel_shape)` axes of `x`: `pads` are every begin then every end, windows dilated
    by `dilations`, counted by `pool_window_count`. Averages divide by the real cells of each
    window, or with `count_include_pad` by its cells inside the padded input (never the extra
    cells a ceil_mode window reaches past it). Returns an array of `x`'s dtype."""
    rank = len(kernel_shape)
    spatial = x.shape[x.ndim - rank:]
    counts = pool_window_counts(spatial, kernel_shape, strides, pads, dilations, ceil_mode)
    spatial_widths = _pool_pad_widths(spatial, counts, kernel_shape, strides, pads, dilations)
    widths = [(0, 0)] * (x.ndim - rank) + spatial_widths
    if mode == "max":
        lowest = _lowest(x.dtype)
        padded = np.pad(x, widths, constant_values=lowest)
        return _window_reduce(padded, counts, kernel_shape, strides, dilations, np.maximum,
                              lowest).astype(x.dtype)
    padded = np.pad(x, widths)
    totals = _window_reduce(padded, counts, kernel_shape, strides, dilations, np.add, 0.0)
    if count_include_pad:
        inside = np.pad(np.ones(spatial, x.dtype), spatial_widths)
        inside[tuple(slice(0, size + begin + end) for size, begin, end in zip(
            spatial, pads[:rank], pads[rank:]))] = 2
        cells = (inside == 2).astype(x.dtype)
    else:
        cells = np.pad(np.ones(spatial, x.dtype), spatial_widths)
    divisor = _window_reduce(cells, counts, kernel_shape, strides, dilations, np.add, 0.0)
    return (totals / divisor).astype(x.dtype)


def max_pool_with_indices(x: np.ndarray, kernel_shape, strides, pads, dilations,
                          ceil_mode: bool = False, storage_order: int = 0) -> list:
    """ONNX MaxPool with its Indices output: `[values, indices]` for windows as in
    `padded_pool`, the int64 indices being flat positions in `x` (row-major over all axes, or
    with `storage_order=1` column-major over the spatial ones) of each window's first maximum."""
    rank = len(kernel_shape)
    lead, spatial = x.shape[:x.ndim - rank], x.shape[x.ndim - rank:]
    counts = pool_window_counts(spatial, kernel_shape, strides, pads, dilations, ceil_mode)
    widths = [(0, 0)] * len(lead) + _pool_pad_widths(spatial, counts, kernel_shape, strides, pads,
                                                     dilations)
    lowest = _lowest(x.dtype)
    padded = np.pad(x, widths, constant_values=lowest)
    # Flat index of a spatial position: row-major, or column-major for storage_order=1.
    order = range(rank) if storage_order == 0 else range(rank - 1, -1, -1)
    multipliers, step = [0] * rank, 1
    for axis in reversed(list(order)):
        multipliers[axis], step = step, step * spatial[axis]
    planes = np.arange(math.prod(lead), dtype=np.int64).reshape(
        *lead, *[1] * rank) * int(np.prod(spatial))
    best = np.full((*lead, *counts), lowest, dtype=padded.dtype)
    indices = np.zeros(best.shape, dtype=np.int64)
    for offset in np.ndindex(*kernel_shape):
        flat = np.zeros([1] * rank, dtype=np.int64)
        window = []
        for axis, (position, dilation, count, stride) in enumerate(zip(
                offset, dilations, counts, strides)):
            start = position * dilation
            window.append(slice(start, start + (count - 1) * stride + 1, stride))
            coordinate = start + np.arange(count) * stride - pads[axis]
            shape = [1] * rank
            shape[axis] = count
            flat = flat + coordinate.reshape(shape) * multipliers[axis]
        values = padded[(Ellipsis, *window)]
        better = values > best
        best = np.where(better, values, best)
        indices = np.where(better, planes + flat, indices)
    return [best, indices]


# ----- adaptive pooling (PyTorch's bins) ------------------------------------------------------------

def adaptive_bins(length: int, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """`(starts, ends)` of the `bins` windows adaptive pooling takes over `length` positions, as
    PyTorch and Keras compute them: bin i spans [floor(i L / n), ceil((i + 1) L / n))."""
    index = np.arange(bins)
    starts = (index * length) // bins
    ends = -((-(index + 1) * length) // bins)
    return starts, ends


def adaptive_average_matrix(length: int, bins: int, dtype) -> np.ndarray:
    """The (length, bins) matrix whose column i averages bin i's positions."""
    starts, ends = adaptive_bins(length, bins)
    positions = np.arange(length)[:, None]
    inside = (positions >= starts) & (positions < ends)
    return (inside / (ends - starts)).astype(dtype)


def adaptive_max_indices(length: int, bins: int) -> np.ndarray:
    """(bins, widest window) positions of each bin; short windows repeat their last position,
    which leaves their maximum unchanged."""
    starts, ends = adaptive_bins(length, bins)
    width = int((ends - starts).max())
    return np.minimum(starts[:, None] + np.arange(width), (ends - 1)[:, None])


def adaptive_pool(x: np.ndarray, output_size, axes, mode: str) -> np.ndarray:
    """Adaptive average (`mode="average"`) or max pooling of float `x`: each of `axes` (non-empty)
    pooled into its `output_size` bins (`adaptive_bins`), one axis after the other."""
    for axis, bins in zip(axes, output_size):
        length = x.shape[axis]
        if mode == "average":
            moved = np.moveaxis(x, axis, -1) @ adaptive_average_matrix(length, bins, x.dtype)
            x = np.moveaxis(moved, -1, axis)
        else:
            x = np.take(x, adaptive_max_indices(length, bins), axis=axis).max(axis=axis + 1)
    return x
