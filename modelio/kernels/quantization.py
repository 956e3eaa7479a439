"""Integer quantization math of Keras 3's quantized layers (keras/src/quantizers): abs-max
quantization, int4 nibble packing, grouped (sub-channel) dequantization.

Keras's conventions, which these functions follow:
- abs-max: `scale = value_max / (max|x| + epsilon)` over the reduced axes (kept as size-1
  axes), `q = clip(round(x * scale), value_min, value_max)`; the real value is `q / scale`.
- int4 packing: two signed nibbles per int8 byte along an axis, the first of each pair in the
  low nibble; an odd length is padded with a zero nibble.
- grouped int4: `value = (q - zero[group]) * scale[group]` with `group = g_idx[row]`."""

import numpy as np

__all__ = ["abs_max_quantize", "pack_int4", "unpack_int4", "packed_length",
           "dequantize_grouped", "quantize_grouped"]


def abs_max_quantize(x, axes, value_range=(-127, 127), epsilon=1e-7, dtype="int8"):
    """`(q, scale)`: `x` quantized along `axes` (reduced, kept as size 1 in `scale`). The scale is
    computed in `x`'s float type, as Keras computes it on the backend."""
    x = np.asarray(x)
    ftype = x.dtype if x.dtype.kind == "f" else np.dtype("float32")
    x = x.astype(ftype, copy=False)
    peak = np.max(np.abs(x), axis=tuple(axes), keepdims=True)
    scale = (ftype.type(value_range[1]) / (peak + ftype.type(epsilon))).astype(ftype)
    q = np.clip(np.round(x * scale), value_range[0], value_range[1])
    return q.astype(dtype), scale


def packed_length(length: int) -> int:
    """How many bytes hold `length` int4 values."""
    return (int(length) + 1) // 2


def pack_int4(values, axis: int = -1) -> np.ndarray:
    """Int4 values in [-8, 7] (any integer dtype) packed two per int8 byte along `axis`."""
    values = np.moveaxis(np.asarray(values).astype(np.int8), axis, 0)
    if values.shape[0] % 2:
        values = np.concatenate([values, np.zeros((1, *values.shape[1:]), np.int8)])
    low = values[0::2].astype(np.uint8) & 0x0F
    high = (values[1::2].astype(np.uint8) & 0x0F) << 4
    return np.ascontiguousarray(np.moveaxis((low | high).astype(np.int8), 0, axis))


def unpack_int4(packed, length: int, axis: int = -1) -> np.ndarray:
    """The int8 values in [-8, 7] that `pack_int4` packed: `length` of them along `axis`."""
    packed = np.moveaxis(np.asarray(packed), axis, 0).astype(np.uint8)
    low = ((packed & 0x0F) ^ 8).astype(np.int8) - 8
    high = (((packed >> 4) & 0x0F) ^ 8).astype(np.int8) - 8
    both = np.stack([low, high], axis=1).reshape(-1, *packed.shape[1:])
    return np.ascontiguousarray(np.moveaxis(both[:length], 0, axis).astype(np.int8))


def dequantize_grouped(q, scale, zero, g_idx, group_axis: int):
    """`(q - zero[g]) * scale[g]`, the group `g` of each position along the dequantized axis
    taken from `g_idx` and looked up along `group_axis` of `scale` and `zero`."""
    groups = np.asarray(g_idx).astype(np.int64)
    scale = np.asarray(scale)
    scales = np.take(scale, groups, axis=group_axis)
    zeros = np.take(np.asarray(zero), groups, axis=group_axis).astype(scale.dtype)
    return (np.asarray(q).astype(scale.dtype) - zeros) * scales


def quantize_grouped(x, block_size: int, value_range=(-8, 7), epsilon=1e-7):
    """`(q, scale, zero)`: asymmetric per-group quantization of a 2-D `x` (rows grouped by
    `block_size`), as Keras's `abs_max_quantize_grouped_with_zero_point` (numpy path)."""
    x = np.asarray(x, dtype=np.float32)
    rows, columns = x.shape
    groups = -(-rows // block_size)
    padded = np.zeros((groups * block_size, columns), np.float32)
    padded[:rows] = x
    blocks = padded.reshape(groups, block_size, columns)
    low, high = value_range
    minimum = blocks.min(axis=1, keepdims=True)
    maximum = blocks.max(axis=1, keepdims=True)
    scale = (maximum - minimum + np.float32(epsilon)) / np.float32(high - low)
    zero = np.clip(np.round(-minimum / scale) + low, low, high)
    q = np.clip(np.round(blocks / scale) + zero, low, high).astype(np.int8)
    return (q.reshape(-1, columns)[:rows], scale[:, 0].astype(np.float32),
            zero[:, 0].astype(np.int8))
