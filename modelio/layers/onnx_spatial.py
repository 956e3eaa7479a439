"""Layers carrying ONNX spatial semantics that no Keras layer has (recurrent: onnx_recurrent.py).

The ONNX importer (modelio/onnx/import_spatial.py, import_sequence.py) uses Keras layers wherever
their numbers match exactly (Conv2D(data_format="channels_first"), MaxPooling2D, ...) and these
layers for the rest: explicit asymmetric pool padding with `ceil_mode` or `count_include_pad`,
strided dilated convolutions, reflect/edge padding, Resize and LRN. Every layer keeps the ONNX op's attributes as its config (NCHW layout, ONNX weight
layouts), computes with numpy, and lowers back to the same ONNX op (lower_onnx_layers.py).
"""

import math

import numpy as np

from ..errors import ConfigError, UnsupportedError
from ..graph import Layer, register_layer
from ..kernels import convolution as conv_kernels

__all__ = ["OnnxConv", "OnnxConvTranspose", "OnnxLayerNormalization", "OnnxLRN", "OnnxPad", "OnnxPool",
           "OnnxResize"]


class _OnnxLayer(Layer):
    """Base of the ONNX-semantics layers: serialized under modelio's own module name."""

    _keras_module = "modelio.layers.onnx"

    def _ints(self, value, argument: str, length: int | None = None, minimum: int | None = None):
        if not isinstance(value, (list, tuple)) or not all(
                isinstance(item, int) and not isinstance(item, bool) for item in value):
            raise ConfigError(f"layer '{self.name}' ({type(self).__name__}): {argument} must be a "
                              f"list of integers, got {value!r}")
        if length is not None and len(value) != length:
            raise ConfigError(f"layer '{self.name}' ({type(self).__name__}): {argument} must have "
                              f"{length} entries, got {list(value)}")
        if minimum is not None and any(item < minimum for item in value):
            raise ConfigError(f"layer '{self.name}' ({type(self).__name__}): every {argument} "
                              f"entry must be >= {minimum}, got {list(value)}")
        return [int(item) for item in value]

    def _check_rank(self, input_shape, rank: int) -> None:
        if len(input_shape) != rank:
            raise ConfigError(f"layer '{self.name}' ({type(self).__name__}) expects inputs of "
                              f"rank {rank} (N, C, spatial...), got shape {tuple(input_shape)}")

    def _float(self, inputs: np.ndarray) -> np.ndarray:
        return inputs if inputs.dtype.kind == "f" else inputs.astype(self.compute_dtype)


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


# ----- pooling ------------------------------------------------------------------------------------

@register_layer()
class OnnxPool(_OnnxLayer):
    """ONNX MaxPool / AveragePool over (N, C, spatial...): explicit `pads` (begins then ends),
    `dilations`, `ceil_mode`, and for averages `count_include_pad` (pads count in the divisor;
    cells past the padded input that ceil_mode adds never do). A max pool with `return_indices`
    returns `[values, indices]`: MaxPool's int64 Indices, flat positions in the input
    (row-major, or with `storage_order=1` column-major over the spatial axes)."""

    def __init__(self, mode, kernel_shape, strides=None, pads=None, dilations=None, ceil_mode=False,
                 count_include_pad=False, return_indices=False, storage_order=0, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("max", "average"):
            raise ConfigError(f"layer '{self.name}' (OnnxPool): mode must be 'max' or 'average', "
                              f"got {mode!r}")
        self.mode = mode
        self.kernel_shape = self._ints(kernel_shape, "kernel_shape", minimum=1)
        rank = len(self.kernel_shape)
        self.strides = self._ints(strides or [1] * rank, "strides", rank, minimum=1)
        self.pads = self._ints(pads or [0] * (2 * rank), "pads", 2 * rank, minimum=0)
        self.dilations = self._ints(dilations or [1] * rank, "dilations", rank, minimum=1)
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        if return_indices and mode != "max":
            raise ConfigError(f"layer '{self.name}' (OnnxPool): only max pools return indices")
        if storage_order not in (0, 1):
            raise ConfigError(f"layer '{self.name}' (OnnxPool): storage_order must be 0 or 1, "
                              f"got {storage_order!r}")
        self.return_indices = bool(return_indices)
        self.storage_order = storage_order
        self.built = True

    @property
    def _rank(self) -> int:
        return len(self.kernel_shape)

    def _counts(self, spatial) -> list:
        rank = self._rank
        return [None if size is None else pool_window_count(
            size, kernel, stride, dilation, self.pads[axis], self.pads[axis + rank], self.ceil_mode)
            for axis, (size, kernel, stride, dilation) in enumerate(
                zip(spatial, self.kernel_shape, self.strides, self.dilations))]

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape, self._rank + 2)
        counts = self._counts(input_shape[2:])
        if any(count is not None and count <= 0 for count in counts):
            raise ConfigError(f"layer '{self.name}' (OnnxPool): the window leaves no output for "
                              f"inputs of shape {tuple(input_shape)}")
        shape = (*input_shape[:2], *counts)
        return [shape, shape] if self.return_indices else shape

    def compute_output_spec(self, *args, **kwargs):
        specs = super().compute_output_spec(*args, **kwargs)
        if self.return_indices:
            specs[1].dtype = "int64"
        return specs

    def call(self, inputs):
        if self.mode == "average" or inputs.dtype.kind not in "iu":
            inputs = self._float(inputs)
        rank = self._rank
        counts = self._counts(inputs.shape[2:])
        # Extra cells at the end so that the last ceil_mode window fits.
        extra = [max((count - 1) * stride + (kernel - 1) * dilation + 1 - (size + begin + end), 0)
                 for count, stride, kernel, dilation, size, begin, end in zip(
                     counts, self.strides, self.kernel_shape, self.dilations, inputs.shape[2:],
                     self.pads[:rank], self.pads[rank:])]
        widths = [(0, 0), (0, 0)] + [(self.pads[axis], self.pads[axis + rank] + extra[axis])
                                     for axis in range(rank)]
        if self.mode == "max":
            lowest = (np.iinfo(inputs.dtype).min if inputs.dtype.kind in "iu" else -np.inf)
            padded = np.pad(inputs, widths, constant_values=lowest)
            if self.return_indices:
                return self._max_with_indices(padded, inputs.shape, counts, lowest)
            return self._reduce(padded, counts, np.maximum, lowest).astype(inputs.dtype)
        padded = np.pad(inputs, widths)
        totals = self._reduce(padded, counts, np.add, 0.0)
        if self.count_include_pad:
            inside = np.pad(np.ones(inputs.shape[2:], inputs.dtype),
                            [(begin, end) for begin, end in widths[2:]])
            inside[tuple(slice(0, size + begin + end) for size, begin, end in zip(
                inputs.shape[2:], self.pads[:rank], self.pads[rank:]))] = 2
            divisor = self._reduce((inside == 2).astype(inputs.dtype), counts, np.add, 0.0)
        else:
            ones = np.pad(np.ones(inputs.shape[2:], inputs.dtype), widths[2:])
            divisor = self._reduce(ones, counts, np.add, 0.0)
        return (totals / divisor).astype(inputs.dtype)

    def _max_with_indices(self, padded, input_shape, counts, lowest):
        """Max values and the flat input index of each (the first maximum in window order)."""
        rank = self._rank
        spatial = input_shape[2:]
        # Flat index of a spatial position: row-major, or column-major for storage_order=1.
        order = range(rank) if self.storage_order == 0 else range(rank - 1, -1, -1)
        multipliers, step = [0] * rank, 1
        for axis in reversed(list(order)):
            multipliers[axis], step = step, step * spatial[axis]
        planes = np.arange(input_shape[0] * input_shape[1], dtype=np.int64).reshape(
            input_shape[0], input_shape[1], *[1] * rank) * int(np.prod(spatial))
        best = np.full((*input_shape[:2], *counts), lowest, dtype=padded.dtype)
        indices = np.zeros(best.shape, dtype=np.int64)
        for offset in np.ndindex(*self.kernel_shape):
            flat = np.zeros([1] * rank, dtype=np.int64)
            window = []
            for axis, (position, dilation, count, stride) in enumerate(zip(
                    offset, self.dilations, counts, self.strides)):
                start = position * dilation
                window.append(slice(start, start + (count - 1) * stride + 1, stride))
                coordinate = start + np.arange(count) * stride - self.pads[axis]
                shape = [1] * rank
                shape[axis] = count
                flat = flat + coordinate.reshape(shape) * multipliers[axis]
            values = padded[(Ellipsis, *window)]
            better = values > best
            best = np.where(better, values, best)
            indices = np.where(better, planes + flat, indices)
        return [best, indices]

    def _reduce(self, padded, counts, ufunc, start):
        """`ufunc`-reduce every window: one strided slice per kernel position."""
        lead = padded.shape[:padded.ndim - self._rank]
        result = np.full((*lead, *counts), start, dtype=padded.dtype)
        for offset in np.ndindex(*self.kernel_shape):
            index = tuple(slice(position * dilation, position * dilation + (count - 1) * stride + 1,
                                stride)
                          for position, dilation, count, stride in zip(
                              offset, self.dilations, counts, self.strides))
            ufunc(result, padded[(Ellipsis, *index)], out=result)
        return result

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode, "kernel_shape": self.kernel_shape,
                "strides": self.strides, "pads": self.pads, "dilations": self.dilations,
                "ceil_mode": self.ceil_mode, "count_include_pad": self.count_include_pad,
                "return_indices": self.return_indices, "storage_order": self.storage_order}


# ----- convolution ------------------------------------------------------------------------------

class _OnnxConvBase(_OnnxLayer):
    def __init__(self, kernel_shape, strides=None, pads=None, dilations=None, group=1,
                 use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.kernel_shape = self._ints(kernel_shape, "kernel_shape", minimum=1)
        rank = len(self.kernel_shape)
        self.strides = self._ints(strides or [1] * rank, "strides", rank, minimum=1)
        self.pads = self._ints(pads or [0] * (2 * rank), "pads", 2 * rank)
        self.dilations = self._ints(dilations or [1] * rank, "dilations", rank, minimum=1)
        if not isinstance(group, int) or group < 1:
            raise ConfigError(f"layer '{self.name}' ({type(self).__name__}): group must be a "
                              f"positive integer, got {group!r}")
        self.group = group
        self.use_bias = bool(use_bias)

    @property
    def _rank(self) -> int:
        return len(self.kernel_shape)

    def _base_config(self) -> dict:
        return {"kernel_shape": self.kernel_shape, "strides": self.strides, "pads": self.pads,
                "dilations": self.dilations, "group": self.group, "use_bias": self.use_bias}


@register_layer()
class OnnxConv(_OnnxConvBase):
    """ONNX Conv over (N, C, spatial...) with explicit `pads` (begins then ends), any strides
    with any dilations, `group`. Weights: `kernel` (filters, C / group, *kernel_shape), `bias`."""

    def __init__(self, filters, kernel_shape, strides=None, pads=None, dilations=None, group=1,
                 use_bias=True, **kwargs):
        super().__init__(kernel_shape, strides, pads, dilations, group, use_bias, **kwargs)
        if not isinstance(filters, int) or filters < 1 or filters % self.group:
            raise ConfigError(f"layer '{self.name}' (OnnxConv): filters must be a positive "
                              f"multiple of group ({self.group}), got {filters!r}")
        self.filters = filters
        if min(self.pads) < 0:
            raise ConfigError(f"layer '{self.name}' (OnnxConv): pads must be >= 0, got {self.pads}")

    def build(self, input_shape):
        self._check_rank(input_shape, self._rank + 2)
        channels = input_shape[1]
        if channels is None or channels % self.group:
            raise ConfigError(f"layer '{self.name}' (OnnxConv): the input's channels ({channels}) "
                              f"must be known and divisible by group ({self.group})")
        self.kernel = self.add_weight("kernel", (self.filters, channels // self.group,
                                                 *self.kernel_shape))
        self.bias = self.add_weight("bias", (self.filters,)) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape, self._rank + 2)
        rank = self._rank
        sizes = []
        for axis, size in enumerate(input_shape[2:]):
            if size is None:
                sizes.append(None)
                continue
            effective = (self.kernel_shape[axis] - 1) * self.dilations[axis] + 1
            length = (size + self.pads[axis] + self.pads[axis + rank] - effective) // \
                self.strides[axis] + 1
            if length <= 0:
                raise ConfigError(f"layer '{self.name}' (OnnxConv): the kernel leaves no output "
                                  f"for inputs of shape {tuple(input_shape)}")
            sizes.append(length)
        return (input_shape[0], self.filters, *sizes)

    def call(self, inputs):
        inputs = self._float(inputs)
        rank = self._rank
        kernel = np.moveaxis(self.value_of(self.kernel), (0, 1), (-1, -2))
        pads = [(self.pads[axis], self.pads[axis + rank]) for axis in range(rank)]
        bias = self.value_of(self.bias) if self.bias is not None else None
        return conv_kernels.conv(inputs, kernel, self.strides, pads, self.dilations, self.group,
                                 bias, channels_first=True)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, **self._base_config()}


@register_layer()
class OnnxConvTranspose(_OnnxConvBase):
    """ONNX ConvTranspose over (N, C, spatial...): the full output `(size - 1) * stride +
    effective_kernel + output_padding`, then `pads` (begins then ends) cropped. Weights: `kernel`
    (C, filters / group, *kernel_shape), `bias`."""

    def __init__(self, filters, kernel_shape, strides=None, pads=None, dilations=None, group=1,
                 use_bias=True, output_padding=None, **kwargs):
        super().__init__(kernel_shape, strides, pads, dilations, group, use_bias, **kwargs)
        if not isinstance(filters, int) or filters < 1 or filters % self.group:
            raise ConfigError(f"layer '{self.name}' (OnnxConvTranspose): filters must be a "
                              f"positive multiple of group ({self.group}), got {filters!r}")
        self.filters = filters
        self.output_padding = self._ints(output_padding or [0] * self._rank, "output_padding",
                                         self._rank, minimum=0)

    def build(self, input_shape):
        self._check_rank(input_shape, self._rank + 2)
        channels = input_shape[1]
        if channels is None or channels % self.group:
            raise ConfigError(f"layer '{self.name}' (OnnxConvTranspose): the input's channels "
                              f"({channels}) must be known and divisible by group ({self.group})")
        self.kernel = self.add_weight("kernel", (channels, self.filters // self.group,
                                                 *self.kernel_shape))
        self.bias = self.add_weight("bias", (self.filters,)) if self.use_bias else None

    def _crops(self) -> list:
        rank = self._rank
        return [(self.pads[axis], self.pads[axis + rank] - self.output_padding[axis])
                for axis in range(rank)]

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape, self._rank + 2)
        sizes = []
        for axis, size in enumerate(input_shape[2:]):
            if size is None:
                sizes.append(None)
                continue
            effective = (self.kernel_shape[axis] - 1) * self.dilations[axis] + 1
            start, end = self._crops()[axis]
            length = (size - 1) * self.strides[axis] + effective - start - end
            if length <= 0:
                raise ConfigError(f"layer '{self.name}' (OnnxConvTranspose): the pads leave no "
                                  f"output for inputs of shape {tuple(input_shape)}")
            sizes.append(length)
        return (input_shape[0], self.filters, *sizes)

    def call(self, inputs):
        inputs = self._float(inputs)
        kernel = self.value_of(self.kernel)  # (C, filters / group, *window)
        channels = kernel.shape[0]
        per_group_in, per_group_out = channels // self.group, self.filters // self.group
        bias = self.value_of(self.bias) if self.bias is not None else None
        outputs = []
        for index in range(self.group):
            part = kernel[index * per_group_in:(index + 1) * per_group_in]
            window_kernel = np.moveaxis(part, (0, 1), (-1, -2))  # (*window, filters, channels)
            part_bias = None if bias is None else bias[index * per_group_out:
                                                       (index + 1) * per_group_out]
            outputs.append(conv_kernels.conv_transpose(
                inputs[:, index * per_group_in:(index + 1) * per_group_in], window_kernel,
                self.strides, self.dilations, self._crops(), part_bias, channels_first=True))
        return outputs[0] if self.group == 1 else np.concatenate(outputs, axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, **self._base_config(),
                "output_padding": self.output_padding}


# ----- padding, resizing, LRN ---------------------------------------------------------------------

@register_layer()
class OnnxPad(_OnnxLayer):
    """ONNX Pad with fixed `pads` (begins then ends, one per axis; negative ones crop) in `mode`
    'constant' (filled with `constant_value`), 'reflect', 'edge' or 'wrap'. The batch entries must
    be 0."""

    _MODES = {"constant": "constant", "reflect": "reflect", "edge": "edge", "wrap": "wrap"}

    def __init__(self, pads, mode="constant", constant_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.pads = self._ints(pads, "pads")
        if len(self.pads) % 2 or not self.pads:
            raise ConfigError(f"layer '{self.name}' (OnnxPad): pads must hold a begin and an end "
                              f"per axis, got {self.pads}")
        rank = len(self.pads) // 2
        if self.pads[0] or self.pads[rank]:
            raise UnsupportedError(f"layer '{self.name}' (OnnxPad): padding the batch axis is not "
                                   f"supported, got pads {self.pads}")
        if mode not in self._MODES:
            raise ConfigError(f"layer '{self.name}' (OnnxPad): mode must be one of "
                              f"{sorted(self._MODES)}, got {mode!r}")
        self.mode = mode
        self.constant_value = float(constant_value)
        self.built = True

    def compute_output_shape(self, input_shape):
        rank = len(self.pads) // 2
        self._check_rank(input_shape, rank)
        shape = [None if size is None else size + self.pads[axis] + self.pads[axis + rank]
                 for axis, size in enumerate(input_shape)]
        if any(size is not None and size < 0 for size in shape):
            raise ConfigError(f"layer '{self.name}' (OnnxPad): pads {self.pads} crop more than "
                              f"inputs of shape {tuple(input_shape)} hold")
        return tuple(shape)

    def call(self, inputs):
        return onnx_pad(inputs, self.pads, self.mode, self.constant_value)

    def get_config(self) -> dict:
        return {**super().get_config(), "pads": self.pads, "mode": self.mode,
                "constant_value": self.constant_value}


def onnx_pad(array: np.ndarray, pads, mode: str = "constant", constant_value: float = 0.0):
    """`array` padded as ONNX Pad does: `pads` are begins then ends, negative ones crop."""
    rank = array.ndim
    begins, ends = pads[:rank], pads[rank:]
    crop = tuple(slice(max(-begin, 0), size - max(-end, 0))
                 for begin, end, size in zip(begins, ends, array.shape))
    array = array[crop]
    widths = [(max(begin, 0), max(end, 0)) for begin, end in zip(begins, ends)]
    if mode == "constant":
        return np.pad(array, widths, constant_values=np.asarray(constant_value, array.dtype))
    return np.pad(array, widths, mode=OnnxPad._MODES[mode])


_COORDINATE_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                     "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize")
_NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def _cubic_coefficients(ratio: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic weights of the taps at offsets -1, 0, 1, 2 from `base` (rows: outputs)."""
    r, s = ratio, 1 - ratio
    return np.stack([((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
                     ((a + 2) * r - (a + 3)) * r * r + 1,
                     ((a + 2) * s - (a + 3)) * s * s + 1,
                     ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a], axis=1)


def _antialias_coefficients(ratio: np.ndarray, scale: float, mode: str, a: float):
    """(offsets, weights) of ONNX's antialiased linear / cubic filters, stretched by 1/scale
    when downsampling and normalized to sum 1."""
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


@register_layer()
class OnnxResize(_OnnxLayer):
    """ONNX Resize (and Upsample), one axis after the other as ONNX's reference does, in mode
    'nearest' (with `nearest_mode`), 'linear' or 'cubic' (`cubic_coeff_a`, `exclude_outside`),
    optionally `antialias`ed, with every coordinate transformation mode (tf_crop_and_resize
    reads `roi`, starts then ends per axis, and fills `extrapolation_value` outside the input).
    `scales` (one per axis) map output to input coordinates and, without `sizes`, give the
    output size `floor(size * scale)`; `sizes` fix the output sizes (the batch entry is ignored:
    the batch keeps its size), and without `scales` each axis' scale is `output / input`."""

    def __init__(self, mode="nearest", scales=None, sizes=None,
                 coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor",
                 cubic_coeff_a=-0.75, exclude_outside=False, antialias=False, roi=None,
                 extrapolation_value=0.0, **kwargs):
        super().__init__(**kwargs)
        label = f"layer '{self.name}' (OnnxResize)"
        if mode not in ("nearest", "linear", "cubic"):
            raise UnsupportedError(f"{label}: mode {mode!r} is not supported (nearest, linear, "
                                   f"cubic)")
        if coordinate_transformation_mode not in _COORDINATE_MODES:
            raise UnsupportedError(f"{label}: coordinate_transformation_mode "
                                   f"{coordinate_transformation_mode!r} is not supported "
                                   f"({', '.join(_COORDINATE_MODES)})")
        if nearest_mode not in _NEAREST_MODES:
            raise UnsupportedError(f"{label}: nearest_mode {nearest_mode!r} is not supported")
        if antialias and mode == "nearest":
            raise UnsupportedError(f"{label}: antialias applies to linear and cubic modes only")
        if scales is None and sizes is None:
            raise ConfigError(f"{label}: give scales or sizes")
        if scales is not None:
            if not isinstance(scales, (list, tuple)) or not all(
                    isinstance(item, (int, float)) and not isinstance(item, bool) and item > 0
                    for item in scales):
                raise ConfigError(f"{label}: scales must be positive numbers, got {scales!r}")
            scales = [float(item) for item in scales]
            if scales[0] != 1.0:
                raise UnsupportedError(f"{label}: resizing the batch axis is not supported")
        if sizes is not None:
            sizes = self._ints(sizes, "sizes", minimum=1)
        rank = len(scales if scales is not None else sizes)
        if scales is not None and sizes is not None and len(scales) != len(sizes):
            raise ConfigError(f"{label}: scales and sizes must have one entry per axis")
        if coordinate_transformation_mode == "tf_crop_and_resize":
            if not isinstance(roi, (list, tuple)) or len(roi) != 2 * rank or not all(
                    isinstance(item, (int, float)) and not isinstance(item, bool) for item in roi):
                raise ConfigError(f"{label}: tf_crop_and_resize needs roi, {2 * rank} numbers "
                                  f"(starts then ends), got {roi!r}")
            roi = [float(item) for item in roi]
        elif roi is not None:
            roi = None  # only tf_crop_and_resize reads it
        self.mode = mode
        self.scales = scales
        self.sizes = sizes
        self.coordinate_transformation_mode = coordinate_transformation_mode
        self.nearest_mode = nearest_mode
        self.cubic_coeff_a = float(cubic_coeff_a)
        self.exclude_outside = bool(exclude_outside)
        self.antialias = bool(antialias)
        self.roi = roi
        self.extrapolation_value = float(extrapolation_value)
        self.built = True

    def _output_size(self, axis: int, size):
        if axis == 0:
            return size
        if self.sizes is not None:
            return self.sizes[axis]
        return None if size is None else int(math.floor(size * self.scales[axis]))

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape, len(self.scales if self.scales is not None else self.sizes))
        shape = tuple(self._output_size(axis, size) for axis, size in enumerate(input_shape))
        if any(size is not None and size < 1 for size in shape[1:]):
            raise ConfigError(f"layer '{self.name}' (OnnxResize): scales {self.scales} leave no "
                              f"output for inputs of shape {tuple(input_shape)}")
        return shape

    def _scale(self, axis: int, in_size: int, out_size: int) -> float:
        return self.scales[axis] if self.scales is not None else out_size / in_size

    def _source_coordinates(self, axis: int, in_size: int, out_size: int) -> np.ndarray:
        """The input coordinate of each output index along `axis`, as ONNX's reference."""
        scale = self._scale(axis, in_size, out_size)
        out_float = scale * in_size
        x = np.arange(out_size, dtype=np.float64)
        mode = self.coordinate_transformation_mode
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
            rank = len(self.roi) // 2
            start, end = self.roi[axis], self.roi[axis + rank]
            if out_float == 1:
                return np.full(out_size, (end - start) * (in_size - 1) / 2 + start * (in_size - 1))
            return x * (end - start) * (in_size - 1) / (out_float - 1) + start * (in_size - 1)
        return x / scale  # asymmetric

    def _nearest(self, coordinates: np.ndarray) -> np.ndarray:
        if self.nearest_mode == "floor":
            return np.floor(coordinates)
        if self.nearest_mode == "ceil":
            return np.ceil(coordinates)
        fraction = coordinates - np.floor(coordinates)
        if self.nearest_mode == "round_prefer_floor":
            return np.where(fraction == 0.5, np.floor(coordinates), np.round(coordinates))
        return np.where(fraction == 0.5, np.ceil(coordinates), np.round(coordinates))

    def _taps(self, coordinates: np.ndarray, scale: float, in_size: int):
        """(indices, weights), each (outputs, taps): which inputs each output mixes, and how."""
        if self.mode == "nearest":
            indices = np.clip(self._nearest(coordinates), 0, in_size - 1).astype(np.int64)
            return indices[:, None], np.ones((len(coordinates), 1))
        # ONNX's reference picks the taps around `base` (the left neighbour; one to the left of
        # an integer coordinate, whose ratio is then 1).
        integral = coordinates == np.floor(coordinates)
        base = np.where(integral, coordinates - 1, np.floor(coordinates))
        ratio = coordinates - base
        if self.antialias:
            offsets, weights = _antialias_coefficients(ratio, scale, self.mode, self.cubic_coeff_a)
        elif self.mode == "linear":
            offsets, weights = np.arange(2), np.stack([1 - ratio, ratio], axis=1)
        else:
            offsets, weights = np.arange(-1, 3), _cubic_coefficients(ratio, self.cubic_coeff_a)
        positions = base.astype(np.int64)[:, None] + offsets[None, :]
        if self.exclude_outside:
            weights = np.where((positions < 0) | (positions >= in_size), 0.0, weights)
            weights = weights / weights.sum(axis=1, keepdims=True)
        return np.clip(positions, 0, in_size - 1), weights

    def call(self, inputs):
        result = inputs
        compute = inputs.dtype if inputs.dtype.kind == "f" else np.dtype(np.float32)
        for axis in range(1, inputs.ndim):
            in_size, out_size = inputs.shape[axis], self._output_size(axis, inputs.shape[axis])
            scale = self._scale(axis, in_size, out_size)
            cropping = self.roi is not None and (self.roi[axis], self.roi[axis + inputs.ndim]) != (
                0.0, 1.0)
            if in_size == out_size and scale == 1.0 and not cropping:
                continue
            coordinates = self._source_coordinates(axis, in_size, out_size)
            indices, weights = self._taps(coordinates, scale, in_size)
            moved = np.moveaxis(result, axis, -1)
            if self.mode == "nearest":
                mixed = moved[..., indices[:, 0]]
            else:
                mixed = np.zeros((*moved.shape[:-1], out_size), dtype=compute)
                for tap in range(indices.shape[1]):
                    mixed += moved[..., indices[:, tap]] * weights[:, tap].astype(compute)
            if self.coordinate_transformation_mode == "tf_crop_and_resize":
                outside = (coordinates < 0) | (coordinates > in_size - 1)
                mixed = np.where(outside, np.asarray(self.extrapolation_value, mixed.dtype), mixed)
            result = np.moveaxis(mixed, -1, axis)
        return result.astype(inputs.dtype, copy=False)

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode, "scales": self.scales,
                "sizes": self.sizes,
                "coordinate_transformation_mode": self.coordinate_transformation_mode,
                "nearest_mode": self.nearest_mode, "cubic_coeff_a": self.cubic_coeff_a,
                "exclude_outside": self.exclude_outside, "antialias": self.antialias,
                "roi": self.roi, "extrapolation_value": self.extrapolation_value}


@register_layer()
class OnnxLayerNormalization(_OnnxLayer):
    """ONNX LayerNormalization over the axes `axis`.. (the batch axis included when `axis` is 0),
    returning `[Y, Mean, InvStdDev]` when `return_statistics` (Mean and InvStdDev keep the
    normalized axes with size 1). Weights: `scale` and, when `center`, `bias`, shaped like the
    normalized axes."""

    def __init__(self, axis=-1, epsilon=1e-5, center=True, return_statistics=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ConfigError(f"layer '{self.name}' (OnnxLayerNormalization): axis must be an "
                              f"integer, got {axis!r}")
        self.axis, self.epsilon = axis, float(epsilon)
        self.center, self.return_statistics = bool(center), bool(return_statistics)

    def _axis(self, rank: int) -> int:
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 0 <= axis < rank:
            raise ConfigError(f"layer '{self.name}' (OnnxLayerNormalization): axis {self.axis} "
                              f"is out of range for rank {rank}")
        return axis

    def build(self, input_shape):
        normalized = tuple(input_shape[self._axis(len(input_shape)):])
        if any(size is None for size in normalized):
            raise ConfigError(f"layer '{self.name}' (OnnxLayerNormalization): the normalized "
                              f"axes need known sizes, got {tuple(input_shape)}")
        self.scale = self.add_weight("scale", normalized)
        self.bias = self.add_weight("bias", normalized) if self.center else None

    def compute_output_shape(self, input_shape):
        axis = self._axis(len(input_shape))
        if not self.return_statistics:
            return tuple(input_shape)
        statistics = (*input_shape[:axis], *([1] * (len(input_shape) - axis)))
        return [tuple(input_shape), statistics, statistics]

    def call(self, inputs):
        inputs = self._float(inputs)
        axes = tuple(range(self._axis(inputs.ndim), inputs.ndim))
        mean = inputs.mean(axis=axes, keepdims=True)
        centered = inputs - mean
        inverse_std = 1.0 / np.sqrt(np.square(centered).mean(axis=axes, keepdims=True)
                                    + np.asarray(self.epsilon, inputs.dtype))
        y = centered * inverse_std * self.value_of(self.scale)
        if self.bias is not None:
            y = y + self.value_of(self.bias)
        y = y.astype(inputs.dtype, copy=False)
        return [y, mean, inverse_std] if self.return_statistics else y

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "return_statistics": self.return_statistics}


@register_layer()
class OnnxLRN(_OnnxLayer):
    """ONNX LRN across channels (axis 1): `x / (bias + alpha / size * sum of x**2 over the
    channels c - floor((size-1)/2) .. c + ceil((size-1)/2)) ** beta`."""

    def __init__(self, size, alpha=1e-4, beta=0.75, bias=1.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or size < 1:
            raise ConfigError(f"layer '{self.name}' (OnnxLRN): size must be a positive integer, "
                              f"got {size!r}")
        self.size, self.alpha, self.beta, self.bias = size, float(alpha), float(beta), float(bias)
        self.built = True

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ConfigError(f"layer '{self.name}' (OnnxLRN) expects (N, C, spatial...) inputs, "
                              f"got shape {tuple(input_shape)}")
        return input_shape

    def call(self, inputs):
        inputs = self._float(inputs)
        before, after = (self.size - 1) // 2, -(-(self.size - 1) // 2)
        squares = np.pad(np.square(inputs), [(0, 0), (before, after)] + [(0, 0)] * (inputs.ndim - 2))
        channels = inputs.shape[1]
        sums = sum(squares[:, offset:offset + channels] for offset in range(self.size))
        return (inputs / (self.bias + self.alpha / self.size * sums) ** self.beta).astype(
            inputs.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size, "alpha": self.alpha,
                "beta": self.beta, "bias": self.bias}


# ----- recurrent ----------------------------------------------------------------------------------
