"""`keras.ops.nn`'s adaptive pools, transposed and separable convolutions and PyTorch-style
unfold / fold as Keras 3 graphs record them (`AdaptiveAveragePool`, `AdaptiveMaxPool`,
`ConvTranspose`, `SeparableConv`, `Unfold`, `Fold`), each a registered class with Keras's
config. Kernels arrive as call arguments: tensors or `__numpy__` constants."""

import math

import numpy as np

from ..graph.registry import register_operation
from ..kernels import convolution as conv_kernels
from ..kernels import patches as patch_kernels
from ..kernels import pooling as pool_kernels
from .base import REQUIRED, spec_of
from .nn_functions import _NN, DepthwiseConv, _Windowed, spatial_tuple
from .onnx_layer import MAX_RUNTIME_BYTES

__all__ = ["AdaptiveAveragePool", "AdaptiveMaxPool", "ConvTranspose", "Fold", "SeparableConv",
           "Unfold"]


def _check_size(op, shape, dtype) -> None:
    """Refuse, before it is allocated, an array of `shape` larger than MAX_RUNTIME_BYTES."""
    size = math.prod(int(dim) for dim in shape) * np.dtype(dtype).itemsize
    if size > MAX_RUNTIME_BYTES:
        op.fail(f"refusing to build an array of shape {tuple(int(d) for d in shape)} ({size} "
                f"bytes; at most {MAX_RUNTIME_BYTES} bytes are computed)")


def _float_input(op, dtype: str) -> None:
    if np.dtype(dtype).kind != "f":
        op.fail(f"expects float inputs, got {dtype}")


class _AdaptivePool(_NN):
    ARGUMENTS = {"output_size": REQUIRED, "data_format": None}
    mode = ""

    def check(self):
        self.check_choice("data_format", (None, "channels_last", "channels_first"))
        size = self.arguments["output_size"]
        spatial_tuple(self, size, len(size) if isinstance(size, list) else 1, "output_size")

    def layout(self, rank: int) -> tuple[tuple, tuple]:
        """(spatial axes, output sizes) of rank-`rank` inputs; data_format None computes as
        channels_last (what Keras's backends do with it)."""
        if not 3 <= rank <= 5:
            self.fail(f"expects inputs of rank 3, 4 or 5 (1 to 3 spatial axes), got rank {rank}")
        sizes = spatial_tuple(self, self.arguments["output_size"], rank - 2, "output_size")
        first = self.arguments["data_format"] == "channels_first"
        return (tuple(range(2, rank)) if first else tuple(range(1, rank - 1))), sizes

    def call(self, inputs):
        axes, sizes = self.layout(inputs.ndim)
        _float_input(self, inputs.dtype.name)
        if any(inputs.shape[axis] == 0 for axis in axes):
            self.fail(f"cannot pool the empty spatial axes of inputs of shape {inputs.shape}")
        _check_size(self, self.output_spec(inputs)[0], inputs.dtype)
        return pool_kernels.adaptive_pool(inputs, sizes, axes, self.mode).astype(
            inputs.dtype, copy=False)

    def output_spec(self, inputs):
        shape, dtype = spec_of(inputs)
        axes, sizes = self.layout(len(shape))
        _float_input(self, dtype)
        out = list(shape)
        for axis, size in zip(axes, sizes):
            out[axis] = size
        return tuple(out), dtype


@register_operation
class AdaptiveAveragePool(_AdaptivePool):
    """Averages each spatial axis into `output_size` bins whatever its length (PyTorch's bins:
    bin i of n over length L spans [floor(i L / n), ceil((i + 1) L / n)))."""

    mode = "average"


@register_operation
class AdaptiveMaxPool(_AdaptivePool):
    """The maximum of each of `output_size` bins per spatial axis (PyTorch's bins)."""

    mode = "max"


@register_operation
class ConvTranspose(_Windowed):
    """Transposed convolution of the inputs with a `kernel` call argument of shape (*window,
    filters, channels): input pixel i adds `x[i] @ kernel[p].T` at output i * stride + p *
    dilation, then Keras's padding rule crops the full output ("valid": length (n - 1) *
    stride + max(k, stride); "same": n * stride; `output_padding` fixes the extra cells).

    Keras 3.15.1's own ConvTranspose.call passes `output_padding` and `padding` to its backend
    swapped, so Keras cannot run the models it records with this operation; modelio computes
    what `keras.ops.conv_transpose` computes when called directly."""

    ARGUMENTS = {"strides": 1, "padding": "valid", "output_padding": None, "data_format": None,
                 "dilation_rate": 1}

    def check(self):
        self.check_format()

    def geometry(self, shape, kernel_shape):
        """(strides, dilation, output paddings (None or ints), spatial axes, channels_first)."""
        dims = len(shape) - 2
        if dims not in (1, 2, 3) or len(kernel_shape) != dims + 2:
            self.fail(f"a kernel of shape {tuple(kernel_shape)} does not fit inputs of shape "
                      f"{tuple(shape)} (1 to 3 spatial axes)")
        strides = spatial_tuple(self, self.arguments["strides"], dims, "strides")
        dilation = spatial_tuple(self, self.arguments["dilation_rate"], dims, "dilation_rate")
        padding = self.arguments["output_padding"]
        if padding is not None:
            padding = tuple(padding) if isinstance(padding, list) else (padding,) * dims
            if len(padding) != dims or not all(
                    isinstance(item, int) and not isinstance(item, bool) and 0 <= item < stride
                    for item, stride in zip(padding, strides)):
                self.fail(f"output_padding must be null or {dims} integer(s) >= 0 and smaller "
                          f"than strides {list(strides)}, got {self.arguments['output_padding']!r}")
        axes, first = self.spatial(len(shape))
        channels = shape[1] if first else shape[-1]
        if channels is not None and kernel_shape[-1] is not None and \
                channels != kernel_shape[-1]:
            self.fail(f"{channels} input channels do not match the kernel's {kernel_shape[-1]}")
        paddings = padding or (None,) * dims
        return strides, dilation, paddings, axes, first

    def call(self, inputs, kernel):
        kernel = np.asarray(kernel)
        strides, dilation, paddings, axes, first = self.geometry(inputs.shape, kernel.shape)
        work = inputs if inputs.dtype.kind == "f" else inputs.astype(np.float32)
        full = [(size - 1) * stride + (k - 1) * rate + 1 + max(0, -(pad or 0))
                for size, k, stride, rate, pad in zip(
                    [inputs.shape[axis] for axis in axes], kernel.shape, strides, dilation,
                    paddings)]
        _check_size(self, [inputs.shape[0], kernel.shape[-2], *full], work.dtype)
        crops = [conv_kernels.conv_transpose_crops(size, stride, rate, self.arguments["padding"],
                                                   pad)
                 for size, stride, rate, pad in zip(kernel.shape, strides, dilation, paddings)]
        return conv_kernels.conv_transpose(work, kernel.astype(work.dtype), strides, dilation,
                                           crops, None, channels_first=first)

    def output_spec(self, inputs, kernel):
        shape, dtype = spec_of(inputs)
        kernel_shape = spec_of(kernel)[0]
        strides, dilation, paddings, axes, first = self.geometry(shape, kernel_shape)
        out = list(shape)
        for index, (axis, stride, rate, pad) in enumerate(zip(axes, strides, dilation, paddings)):
            out[axis] = conv_kernels.conv_transpose_output_length(
                shape[axis], kernel_shape[index], stride, rate, self.arguments["padding"], pad)
            if out[axis] is not None and out[axis] < 1:
                self.fail(f"the kernel leaves no output for inputs of shape {tuple(shape)}")
        out[1 if first else -1] = kernel_shape[-2]
        return tuple(out), "float32" if np.dtype(dtype).kind != "f" else dtype


@register_operation
class SeparableConv(DepthwiseConv):
    """A depthwise convolution (`depthwise_kernel` (*window, channels, multiplier), with the
    strides, padding and dilation) followed by a pointwise one (`pointwise_kernel` (1, ..., 1,
    channels * multiplier, filters))."""

    def _pointwise(self, depthwise_shape, pointwise_shape) -> None:
        dims = len(depthwise_shape) - 2
        if len(pointwise_shape) != dims + 2 or any(size != 1 for size in pointwise_shape[:dims]):
            self.fail(f"pointwise_kernel must have shape (1, ..., 1, channels * multiplier, "
                      f"filters) with {dims} ones, got {tuple(pointwise_shape)}")
        middle = None if None in depthwise_shape[-2:] else \
            depthwise_shape[-2] * depthwise_shape[-1]
        if middle is not None and pointwise_shape[-2] is not None and \
                pointwise_shape[-2] != middle:
            self.fail(f"pointwise_kernel takes {pointwise_shape[-2]} channels, the depthwise "
                      f"convolution gives {middle}")

    def call(self, inputs, depthwise_kernel, pointwise_kernel):
        depthwise_kernel, pointwise_kernel = np.asarray(depthwise_kernel), np.asarray(
            pointwise_kernel)
        self._pointwise(depthwise_kernel.shape, pointwise_kernel.shape)
        hidden = DepthwiseConv.call(self, inputs, depthwise_kernel)
        strides, dilation, _, first = self.geometry(hidden.shape, pointwise_kernel.shape)
        dims = hidden.ndim - 2
        return conv_kernels.conv(hidden, pointwise_kernel.astype(hidden.dtype), (1,) * dims,
                                 [(0, 0)] * dims, (1,) * dims, 1, None, channels_first=first)

    def output_spec(self, inputs, depthwise_kernel, pointwise_kernel):
        pointwise_shape = spec_of(pointwise_kernel)[0]
        self._pointwise(spec_of(depthwise_kernel)[0], pointwise_shape)
        shape, dtype = DepthwiseConv.output_spec(self, inputs, depthwise_kernel)
        out = list(shape)
        out[1 if self.arguments["data_format"] == "channels_first" else -1] = pointwise_shape[-1]
        return tuple(out), dtype


class _Patches(_NN):
    ARGUMENTS = {"kernel_size": REQUIRED, "dilation": 1, "padding": 0, "stride": 1}

    def check(self):
        self.pairs()

    def pairs(self) -> tuple:
        """(kernel_size, dilation, padding, stride), each as a pair."""
        values = []
        for key in ("kernel_size", "dilation", "padding", "stride"):
            value = self.arguments[key]
            pair = tuple(value) if isinstance(value, list) else (value, value)
            minimum = 0 if key == "padding" else 1
            if len(pair) != 2 or not all(isinstance(item, int) and not isinstance(item, bool)
                                         and item >= minimum for item in pair):
                self.fail(f"{key} must be an integer >= {minimum} or two of them, got {value!r}")
            values.append(pair)
        return tuple(values)

    def counts(self, size) -> tuple:
        kernel, dilation, padding, stride = self.pairs()
        counts = patch_kernels.block_counts(size, kernel, dilation, padding, stride)
        if any(count is not None and count < 1 for count in counts):
            self.fail(f"the kernel leaves no block for a spatial size {tuple(size)}")
        return counts


@register_operation
class Unfold(_Patches):
    """im2col of (N, C, H, W) images: every sliding `kernel_size` block (spaced by `dilation`,
    moved by `stride`, over the image zero-padded by `padding`) as a column of the (N, C * kH
    * kW, L) result, as `torch.nn.functional.unfold`."""

    def call(self, x):
        shape = self.output_spec(x)[0]
        padding = self.pairs()[2]
        _check_size(self, shape, x.dtype)
        _check_size(self, [*x.shape[:2], *(n + 2 * p for n, p in zip(x.shape[2:], padding))],
                    x.dtype)
        return patch_kernels.unfold(x, *self.pairs())

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        if len(shape) != 4:
            self.fail(f"expects (N, C, H, W) inputs, got shape {tuple(shape)}")
        kernel = self.pairs()[0]
        counts = self.counts(shape[2:])
        blocks = None if None in counts else counts[0] * counts[1]
        rows = None if shape[1] is None else shape[1] * kernel[0] * kernel[1]
        return (shape[0], rows, blocks), dtype


@register_operation
class Fold(_Patches):
    """col2im: the (N, C * kH * kW, L) columns of `Unfold` added back into (N, C, *output_size)
    images (overlapping blocks sum), as `torch.nn.functional.fold`."""

    ARGUMENTS = {"output_size": REQUIRED, **_Patches.ARGUMENTS}

    def check(self):
        super().check()
        self.output_size()

    def output_size(self) -> tuple:
        value = self.arguments["output_size"]
        pair = tuple(value) if isinstance(value, list) else (value, value)
        if len(pair) != 2 or not all(isinstance(item, int) and not isinstance(item, bool)
                                     and item >= 1 for item in pair):
            self.fail(f"output_size must be a positive integer or two of them, got {value!r}")
        return pair

    def call(self, x):
        shape = self.output_spec(x)[0]
        padding = self.pairs()[2]
        _check_size(self, [*shape[:2], *(n + 2 * p for n, p in zip(shape[2:], padding))],
                    x.dtype)
        return patch_kernels.fold(x, self.output_size(), *self.pairs())

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        if len(shape) != 3:
            self.fail(f"expects (N, C * kH * kW, L) inputs, got shape {tuple(shape)}")
        kernel = self.pairs()[0]
        window = kernel[0] * kernel[1]
        if shape[1] is not None and shape[1] % window:
            self.fail(f"{shape[1]} rows do not split into blocks of {kernel[0]}x{kernel[1]}")
        counts = self.counts(self.output_size())
        if shape[2] is not None and shape[2] != counts[0] * counts[1]:
            self.fail(f"{shape[2]} blocks given, output_size {list(self.output_size())} holds "
                      f"{counts[0]}x{counts[1]}")
        channels = None if shape[1] is None else shape[1] // window
        return (shape[0], channels, *self.output_size()), dtype
