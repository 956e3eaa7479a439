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
"""

import itertools

import numpy as np

__all__ = ["average_pool", "max_pool", "pool_output_size", "same_padding"]


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
