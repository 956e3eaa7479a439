"""PyTorch's unfold (im2col) and fold (col2im) of (N, C, H, W) images, in numpy.

`unfold` gathers every sliding `kernel_size` block (spaced by `dilation`, moved by `stride`, over
the image zero-padded by `padding` on both sides of each axis) into columns: the result is
(N, C * kH * kW, L), rows ordered channel, then kernel row, then kernel column, and L the blocks
in row-major order. `fold` is its adjoint: it adds each column back where its block came from in
an (oH, oW) image and crops the padding, so overlapping blocks sum.

Both loop over the kH * kW kernel positions only: each position's cells of every block form one
strided slice of the padded image.
"""

import numpy as np

__all__ = ["block_counts", "fold", "unfold"]


def block_counts(size, kernel, dilation, padding, stride) -> tuple:
    """Blocks along each spatial axis: `(size + 2 padding - dilation (kernel - 1) - 1) //
    stride + 1` per axis (None sizes stay None)."""
    return tuple(None if n is None else (n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, d, p, s in zip(size, kernel, dilation, padding, stride))


def _position_slices(position, counts, dilation, stride) -> tuple:
    return tuple(slice(i * d, i * d + (n - 1) * s + 1, s)
                 for i, n, d, s in zip(position, counts, dilation, stride))


def unfold(x: np.ndarray, kernel, dilation, padding, stride) -> np.ndarray:
    """im2col of (N, C, H, W) `x` into (N, C * kH * kW, L); the other arguments are pairs."""
    n, c = x.shape[:2]
    counts = block_counts(x.shape[2:], kernel, dilation, padding, stride)
    padded = np.pad(x, [(0, 0), (0, 0), *((p, p) for p in padding)])
    columns = np.empty((n, c, *kernel, *counts), x.dtype)
    for position in np.ndindex(*kernel):
        columns[(slice(None), slice(None), *position)] = padded[
            (Ellipsis, *_position_slices(position, counts, dilation, stride))]
    return columns.reshape(n, c * kernel[0] * kernel[1], counts[0] * counts[1])


def fold(x: np.ndarray, output_size, kernel, dilation, padding, stride) -> np.ndarray:
    """col2im of (N, C * kH * kW, L) `x` into (N, C, oH, oW): each column added where its block
    lies in the padded (oH, oW) image, the padding then cropped. `L` must be the number of
    blocks that fit (`block_counts`)."""
    n = x.shape[0]
    counts = block_counts(output_size, kernel, dilation, padding, stride)
    channels = x.shape[1] // (kernel[0] * kernel[1])
    blocks = x.reshape(n, channels, *kernel, *counts)
    padded = np.zeros((n, channels, *(o + 2 * p for o, p in zip(output_size, padding))),
                      x.dtype)
    for position in np.ndindex(*kernel):
        padded[(Ellipsis, *_position_slices(position, counts, dilation, stride))] += blocks[
            (slice(None), slice(None), *position)]
    return padded[(Ellipsis, *(slice(p, p + o) for o, p in zip(output_size, padding)))]
