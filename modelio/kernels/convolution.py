"""N-d convolutions in numpy: plain/grouped, depthwise and transposed, with Keras's padding rules.

Layouts follow Keras: inputs are ``(batch, *spatial, channels)`` (``channels_first=True``:
``(batch, channels, *spatial)``, transposed to channels-last once on entry and back on exit);
a convolution kernel is ``(*window, in_channels // groups, filters)``, a depthwise kernel
``(*window, in_channels, multiplier)`` (output channel ``c * multiplier + m``) and a transposed
convolution kernel ``(*window, filters, in_channels)``.

How the work is done:

* ``conv`` gathers im2col columns from a strided window view of the padded input
  (``as_strided``: shape ``(batch, *out, *window, channels)``, no copy) and multiplies them by the
  flattened kernel with BLAS; groups become one batched ``matmul`` over the group axis. The
  columns are gathered block by block (whole samples, or runs of output rows) into a buffer of
  about ``IM2COL_BLOCK_BYTES`` that stays in the CPU cache, one ``matmul`` per block writing
  straight into the output. Padding is applied per block too, into a reused buffer. (Measured on
  a 3x3 conv of 8x56x56x64: the whole im2col matrix at once, 9x the input, must be written to
  memory and read back, which kept only ~55% of plain-matmul speed; blocks keep ~70-85%.)
* ``depthwise_conv`` multiplies and adds one strided input view per window position (no column
  matrix: each output channel only sees its own input channel), block by block so the partial
  sums stay in cache, with the channel axis innermost.
* ``conv_transpose`` multiplies the input by the kernel once, giving ``(*window, filters)``
  columns per input pixel, then scatter-adds each window position's columns into a strided slice
  of the output (a loop over window positions, never over pixels), and crops Keras's padding;
  a few samples at a time.

This module only uses numpy; the layers in ``modelio.layers.conv`` check arguments and shapes.
"""

import math
from itertools import product

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = [
    "DEPTHWISE_BLOCK_BYTES",
    "IM2COL_BLOCK_BYTES",
    "conv",
    "conv_output_length",
    "conv_transpose",
    "conv_transpose_crops",
    "conv_transpose_output_length",
    "depthwise_conv",
    "padding_amounts",
]

# Size of the im2col block gathered before each matmul: small enough to stay in the L3 cache,
# large enough that a conv makes few BLAS calls (each one synchronizes BLAS's threads).
IM2COL_BLOCK_BYTES = 1 << 22
# Output block of a depthwise convolution: its partial sums stay in the L2 cache.
DEPTHWISE_BLOCK_BYTES = 1 << 18


# ----- sizes and padding ------------------------------------------------------------------------

def _effective(kernel: int, dilation: int) -> int:
    return (kernel - 1) * dilation + 1


def conv_output_length(size, kernel: int, stride: int, dilation: int, padding: str):
    """Output length of a convolution along one axis (None stays None), as Keras computes it.

    ``valid``: floor((size - effective_kernel) / stride) + 1 (may be <= 0: the caller refuses);
    ``same`` and ``causal``: ceil(size / stride).
    """
    if size is None:
        return None
    if padding == "valid":
        return (size - _effective(kernel, dilation)) // stride + 1
    if padding in ("same", "causal"):
        return -(-size // stride)
    raise ValueError(f"unknown padding {padding!r}")


def padding_amounts(size: int, kernel: int, stride: int, dilation: int,
                    padding: str) -> tuple[int, int]:
    """``(before, after)`` zeros for one axis.

    ``same`` is TensorFlow's rule: output ceil(size / stride), total padding
    ``max((out - 1) * stride + effective_kernel - size, 0)``, the odd one at the end;
    ``causal`` pads ``effective_kernel - 1`` before (then it is a valid convolution).
    """
    effective = _effective(kernel, dilation)
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return effective - 1, 0
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + effective - size, 0)
        return total // 2, total - total // 2
    raise ValueError(f"unknown padding {padding!r}")


def _transpose_pads(kernel: int, stride: int, dilation: int, padding: str,
                    output_padding) -> tuple[int, int]:
    """Keras's (JAX's) left/right padding of the stride-dilated input of a transposed conv."""
    effective = _effective(kernel, dilation)
    if padding == "valid":
        extra = max(effective, stride) - effective if output_padding is None else output_padding
        return effective - 1, effective - 1 + extra
    if padding == "same":
        if output_padding is None:
            total = stride + effective - 2
        else:
            total = effective + effective % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, effective - 1)
        return left, total - left
    raise ValueError(f"unknown padding {padding!r}")


def conv_transpose_crops(kernel: int, stride: int, dilation: int, padding: str,
                         output_padding) -> tuple[int, int]:
    """``(start, end)`` cropped from the full ``(size - 1) * stride + effective_kernel`` output of a
    transposed convolution along one axis; a negative end means zeros are appended instead."""
    left, right = _transpose_pads(kernel, stride, dilation, padding, output_padding)
    effective = _effective(kernel, dilation)
    return effective - 1 - left, effective - 1 - right


def conv_transpose_output_length(size, kernel: int, stride: int, dilation: int, padding: str,
                                 output_padding):
    """Output length of a transposed convolution along one axis (None stays None), as Keras:
    valid: ``(size - 1) * stride + max(k, stride)`` (``+ output_padding`` instead of the max when
    given); same: ``size * stride`` (``(size - 1) * stride + k % 2 + output_padding`` when given),
    with ``k`` the dilated kernel size."""
    if size is None:
        return None
    start, end = conv_transpose_crops(kernel, stride, dilation, padding, output_padding)
    return (size - 1) * stride + _effective(kernel, dilation) - start - end


# ----- helpers ----------------------------------------------------------------------------------

def _channels_last(x: np.ndarray, channels_first: bool) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)) if channels_first else x


def _restore_layout(y: np.ndarray, channels_first: bool) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(y, -1, 1)) if channels_first else y


def _finish(out: np.ndarray, bias: np.ndarray | None, channels_first: bool) -> np.ndarray:
    """Channels-last ``out`` plus ``bias`` (if any, in ``out``'s dtype), in the caller's layout."""
    if bias is not None:
        out += bias.astype(out.dtype, copy=False)
    return _restore_layout(out, channels_first)


def _pad(x: np.ndarray, pads) -> np.ndarray:
    """Zero-pad the spatial axes of channels-last ``x`` (``pads``: one (before, after) per axis)."""
    if not any(before or after for before, after in pads):
        return x
    shape = (x.shape[0], *(size + before + after for size, (before, after) in zip(x.shape[1:-1], pads)),
             x.shape[-1])
    padded = np.zeros(shape, x.dtype)
    inner = tuple(slice(before, before + size) for size, (before, _) in zip(x.shape[1:-1], pads))
    padded[(slice(None), *inner, slice(None))] = x
    return padded


def _out_sizes(padded_sizes, window, strides, dilation) -> tuple:
    return tuple((size - _effective(k, d)) // s + 1
                 for size, k, s, d in zip(padded_sizes, window, strides, dilation))


def _window_view(padded: np.ndarray, out_sizes, window, strides, dilation) -> np.ndarray:
    """Read-only view ``(batch, *out, *window, channels)`` of a padded channels-last input."""
    batch_stride, *spatial_strides, channel_stride = padded.strides
    shape = (padded.shape[0], *out_sizes, *window, padded.shape[-1])
    strides_ = (batch_stride, *(st * s for st, s in zip(spatial_strides, strides)),
                *(st * d for st, d in zip(spatial_strides, dilation)), channel_stride)
    return as_strided(padded, shape, strides_, writeable=False)


def _position_slices(offsets, out_sizes, strides) -> tuple:
    """Slices picking, for one window position, the input element of every output position."""
    return (slice(None),
            *(slice(o, o + (n - 1) * s + 1, s) for o, n, s in zip(offsets, out_sizes, strides)),
            slice(None))


def _blocks(batch: int, rows: int, row_bytes: int, block_bytes: int):
    """``(first sample, end sample, first row, end row)`` pieces of about ``block_bytes``: whole
    samples when a sample fits, otherwise runs of rows (first output axis) of one sample."""
    sample_bytes = rows * row_bytes
    if sample_bytes <= block_bytes or rows <= 1:
        step = max(1, block_bytes // max(sample_bytes, 1))
        for start in range(0, batch, step):
            yield start, min(start + step, batch), 0, rows
        return
    step = max(1, block_bytes // max(row_bytes, 1))
    for sample in range(batch):
        for start in range(0, rows, step):
            yield sample, sample + 1, start, min(start + step, rows)


class _PaddedRows:
    """Zero-padded row blocks of channels-last ``x``, filled into one reused buffer: the padding
    of the other spatial axes is zeroed once, each block only copies its rows."""

    def __init__(self, x: np.ndarray, pads):
        self.x = x
        self.pads = pads
        self.rest = [(b, a) for b, a in pads[1:]]
        self.copy_free = not any(b or a for b, a in self.rest)
        self.inner = tuple(slice(b, b + n) for n, (b, _) in zip(x.shape[2:-1], self.rest))
        self.buffer = None

    def rows(self, samples: slice, first: int, end: int) -> np.ndarray:
        """Rows ``first:end`` (padded coordinates, first spatial axis) of ``x[samples]``, padded:
        a view of ``x`` when no zeros are needed."""
        x = self.x
        before = self.pads[0][0]
        size = x.shape[1]
        low = min(max(first - before, 0), size)
        high = max(min(end - before, size), low)
        block = x[samples, low:high]
        if self.copy_free and low == first - before and high == end - before:
            return block
        count, length = block.shape[0], end - first
        if (self.buffer is None or self.buffer.shape[0] < count
                or self.buffer.shape[1] < length):
            shape = (count, length, *(n + b + a for n, (b, a) in zip(x.shape[2:-1], self.rest)),
                     x.shape[-1])
            self.buffer = np.zeros(shape, x.dtype)
        padded = self.buffer[:count, :length]
        offset = low - (first - before)
        padded[:, :offset] = 0
        padded[(slice(None), slice(offset, offset + high - low), *self.inner, slice(None))] = block
        padded[:, offset + high - low:] = 0
        return padded


# ----- convolution ------------------------------------------------------------------------------

def conv(x: np.ndarray, kernel: np.ndarray, strides, pads, dilation, groups: int = 1,
         bias: np.ndarray | None = None, channels_first: bool = False,
         block_bytes: int = IM2COL_BLOCK_BYTES) -> np.ndarray:
    """Cross-correlation of ``x`` with ``kernel`` (``(*window, channels // groups, filters)``).

    ``pads`` holds ``(before, after)`` zeros per spatial axis (see ``padding_amounts``); ``bias``
    (``(filters,)``) is added before the layout is restored. Computes in ``x``'s dtype.
    """
    x = _channels_last(x, channels_first)
    rank = x.ndim - 2
    window = kernel.shape[:rank]
    channels = x.shape[-1]
    filters = kernel.shape[-1]
    group_channels = channels // groups
    group_filters = filters // groups
    kernel = kernel.astype(x.dtype, copy=False)
    padded_sizes = [n + b + a for n, (b, a) in zip(x.shape[1:-1], pads)]
    out_sizes = _out_sizes(padded_sizes, window, strides, dilation)
    batch = x.shape[0]
    out = np.empty((batch, *out_sizes, filters), x.dtype)
    window_size = math.prod(window)

    if window_size == 1 and groups == 1:  # pointwise: one matmul on the (strided) input
        picked = _pad(x, pads)[_position_slices((0,) * rank, out_sizes, strides)]
        np.matmul(picked.reshape(-1, channels), kernel.reshape(channels, filters),
                  out=out.reshape(-1, filters))
    elif out.size:
        # Kernel as (groups, window * group_channels, group_filters).
        grouped_kernel = np.ascontiguousarray(
            kernel.reshape(window_size, group_channels, groups, group_filters).transpose(2, 0, 1, 3)
        ).reshape(groups, window_size * group_channels, group_filters)
        depth = window_size * group_channels
        row_bytes = math.prod(out_sizes[1:]) * depth * groups * x.itemsize
        reach = _effective(window[0], dilation[0])
        buffer = None
        padded_rows = _PaddedRows(x, pads)
        for first, end, low, high in _blocks(batch, out_sizes[0], row_bytes, block_bytes):
            # The padded input rows these output rows read, as (samples, rows, ..., channels).
            source = padded_rows.rows(slice(first, end), low * strides[0],
                                      (high - 1) * strides[0] + reach)
            view = _window_view(source, (high - low, *out_sizes[1:]), window, strides, dilation)
            if groups > 1:  # split channels into (groups, group_channels), groups in front
                view = view.reshape(*view.shape[:-1], groups, group_channels)
                view = np.moveaxis(view, -2, 0)  # (groups, samples, *out, *window, channels)
            if buffer is None or buffer.size < view.size:
                buffer = np.empty(view.size, x.dtype)
            columns = buffer[:view.size].reshape(view.shape)
            np.copyto(columns, view)
            target = out[first:end, low:high]
            rows = target.size // filters
            if groups == 1:
                np.matmul(columns.reshape(rows, depth), grouped_kernel[0],
                          out=target.reshape(rows, filters))
            else:
                target = target.reshape(rows, groups, group_filters).transpose(1, 0, 2)
                np.matmul(columns.reshape(groups, rows, depth), grouped_kernel, out=target)
    return _finish(out, bias, channels_first)


def depthwise_conv(x: np.ndarray, kernel: np.ndarray, strides, pads, dilation,
                   bias: np.ndarray | None = None, channels_first: bool = False,
                   block_bytes: int = DEPTHWISE_BLOCK_BYTES) -> np.ndarray:
    """Depthwise convolution: ``kernel`` is ``(*window, channels, multiplier)`` and output channel
    ``c * multiplier + m`` sees only input channel ``c``.

    One multiply-add per window position over the output, done block by block (about
    ``block_bytes`` of output at a time) so that the partial sums stay in the CPU cache."""
    x = _channels_last(x, channels_first)
    rank = x.ndim - 2
    window = kernel.shape[:rank]
    channels, multiplier = kernel.shape[-2:]
    kernel = kernel.astype(x.dtype, copy=False)
    padded_sizes = [n + b + a for n, (b, a) in zip(x.shape[1:-1], pads)]
    out_sizes = _out_sizes(padded_sizes, window, strides, dilation)
    batch = x.shape[0]
    out = np.empty((batch, *out_sizes, channels, multiplier), x.dtype)
    if out.size:
        row_bytes = math.prod(out_sizes[1:]) * channels * multiplier * x.itemsize
        reach = _effective(window[0], dilation[0])
        padded_rows = _PaddedRows(x, pads)
        # Partial sums as (..., multiplier, channels): the long channel axis innermost.
        kernel = np.ascontiguousarray(np.swapaxes(kernel, -1, -2))
        scratch = None
        positions = list(product(*(range(k) for k in window)))
        for first, end, low, high in _blocks(batch, out_sizes[0], row_bytes, block_bytes):
            source = padded_rows.rows(slice(first, end), low * strides[0],
                                      (high - 1) * strides[0] + reach)
            target = out[first:end, low:high]
            if scratch is None or scratch.size < 2 * target.size:
                scratch = np.empty(2 * target.size, x.dtype)
            shape = (*target.shape[:-2], multiplier, channels)
            term = scratch[:target.size].reshape(shape)
            total = (np.swapaxes(target, -1, -2) if multiplier == 1
                     else scratch[target.size:2 * target.size].reshape(shape))
            block_sizes = (high - low, *out_sizes[1:])
            for index, position in enumerate(positions):
                offsets = tuple(p * d for p, d in zip(position, dilation))
                picked = source[_position_slices(offsets, block_sizes, strides)][..., None, :]
                if index == 0:
                    np.multiply(picked, kernel[position], out=total)
                else:
                    np.multiply(picked, kernel[position], out=term)
                    total += term
            if multiplier > 1:
                np.copyto(target, np.swapaxes(total, -1, -2))
    out = out.reshape(*out.shape[:-2], channels * multiplier)
    return _finish(out, bias, channels_first)


def conv_transpose(x: np.ndarray, kernel: np.ndarray, strides, dilation, crops,
                   bias: np.ndarray | None = None, channels_first: bool = False,
                   block_bytes: int = IM2COL_BLOCK_BYTES) -> np.ndarray:
    """Transposed convolution: ``kernel`` is ``(*window, filters, channels)``; input pixel ``i``
    adds ``x[i] @ kernel[p].T`` at output ``i * stride + p * dilation`` (no kernel flip); then
    ``crops`` (``(start, end)`` per axis, from ``conv_transpose_crops``) trims the full output, a
    negative amount appending zeros instead. Works on blocks of about ``block_bytes`` of samples
    so that the columns and the full output stay in the CPU cache."""
    x = _channels_last(x, channels_first)
    rank = x.ndim - 2
    window = kernel.shape[:rank]
    filters, channels = kernel.shape[-2:]
    in_sizes = x.shape[1:-1]
    window_size = math.prod(window)
    # (channels, window * filters): every window position's (filters, channels) matrix, transposed.
    kernel_matrix = np.ascontiguousarray(
        kernel.astype(x.dtype, copy=False).reshape(window_size * filters, channels).T)
    # The full output of one sample, grown by the zeros a negative crop appends.
    full_sizes = [(n - 1) * s + _effective(k, d) if n else 0
                  for n, k, s, d in zip(in_sizes, window, strides, dilation)]
    lead = [max(0, -start) for start, _ in crops]
    trail = [max(0, -end) for _, end in crops]
    full_shape = (*(f + a + b for f, a, b in zip(full_sizes, lead, trail)), filters)
    keep = (slice(None), *(slice(a + start, a + f - end)
                           for a, f, (start, end) in zip(lead, full_sizes, crops)), slice(None))
    out_sizes = [f - start - end for f, (start, end) in zip(full_sizes, crops)]
    batch = x.shape[0]
    out = np.empty((batch, *out_sizes, filters), x.dtype)
    positions = list(product(*(range(k) for k in window)))
    sample_bytes = (math.prod(in_sizes) * window_size * filters + math.prod(full_shape)) * x.itemsize
    step = max(1, block_bytes // max(sample_bytes, 1))
    buffer = None
    for first in range(0, batch if out.size else 0, step):
        block = x[first:first + step]
        count = block.shape[0]
        columns = np.matmul(block.reshape(-1, channels), kernel_matrix)
        columns = columns.reshape(*block.shape[:-1], window_size, filters)
        if buffer is None:
            buffer = np.zeros((count, *full_shape), x.dtype)
        else:
            buffer.fill(0)
        full = buffer[:count]
        for index, position in enumerate(positions):
            offsets = [a + p * d for a, p, d in zip(lead, position, dilation)]
            full[_position_slices(offsets, in_sizes, strides)] += columns[..., index, :]
        out[first:first + count] = full[keep]
    return _finish(out, bias, channels_first)
