"""More of `keras.ops.image` as Keras 3 graphs record it: `RGBToHSV` and `HSVToRGB` (hue, saturation
and value in [0, 1]), `ExtractPatches` (2-D and 3-D), `GaussianBlur`, `SobelEdges` and `SSIM`.

Where Keras's torch and TensorFlow backends disagree, modelio computes what the TensorFlow
backend does: `RGBToHSV` keeps values below epsilon, `HSVToRGB` does not wrap hues outside
[0, 1], `GaussianBlur` pads "same" (even and non-square kernels keep the image size),
`SobelEdges` reflects the border. `data_format` None means channels_last (Keras's default)."""

import numpy as np

from ..graph.registry import register_operation
from ..kernels import convolution as conv_kernels
from ..kernels import image_sampling
from .base import REQUIRED, KerasOp, spec_of
from .image_ops import image_axes

__all__ = ["SSIM", "ExtractPatches", "GaussianBlur", "HSVToRGB", "RGBToHSV", "SobelEdges",
           "gaussian_blur_kernel", "sobel_kernel"]

_FORMATS = (None, "channels_last", "channels_first")
_MAX_TAPS = 1 << 20  # a blur window larger than this is a mistake, not an image filter


class _ColorOp(KerasOp):
    _keras_module = "keras.src.ops.image"
    ARGUMENTS = {"data_format": None}

    def check(self):
        self.check_choice("data_format", _FORMATS)

    def output_spec(self, images):
        shape, dtype = spec_of(images)
        _, _, channel_axis = image_axes(self, len(shape))
        if np.dtype(dtype).kind != "f":
            self.fail(f"expects float images, got {dtype}")
        if shape[channel_axis] not in (None, 3):
            self.fail(f"expects 3 channels, got {shape[channel_axis]}")
        return tuple(shape), dtype

    def planes(self, images):
        _, _, channel_axis = image_axes(self, images.ndim)
        return channel_axis, [np.take(images, index, axis=channel_axis) for index in range(3)]


@register_operation
class RGBToHSV(_ColorOp):
    """RGB images (values in [0, 1]) to hue, saturation, value: hue 0 is red, 1/3 green, 2/3
    blue (negative hues wrap to [0, 1)); grey pixels get hue and saturation 0, black ones
    saturation 0. Values below the dtype's epsilon are kept (Keras's TensorFlow backend; its
    torch backend zeroes them first)."""

    def call(self, images):
        self.output_spec(images)
        dtype = images.dtype.type
        channel_axis, (red, green, blue) = self.planes(images)
        value = np.maximum(np.maximum(red, green), blue)
        spread = value - np.minimum(np.minimum(red, green), blue)
        safe_value = np.where(value > 0, value, dtype(1))
        safe_spread = np.where(spread > 0, spread, dtype(1))
        saturation = np.where(value > 0, spread / safe_value, dtype(0))
        norm = dtype(1) / (dtype(6) * safe_spread)
        hue = np.where(value == green, norm * (blue - red) + dtype(2 / 6),
                       norm * (red - green) + dtype(4 / 6))
        hue = np.where(value == red, norm * (green - blue), hue)
        hue = np.where(spread > 0, hue, dtype(0)) + (hue < 0).astype(dtype)
        return np.stack([hue, saturation, value], axis=channel_axis)


@register_operation
class HSVToRGB(_ColorOp):
    """HSV images (values in [0, 1]) to RGB: `v * (1 - s + s * d)` with each channel's
    distance `d` from the hue. Hues outside [0, 1] are not wrapped (Keras's TensorFlow
    backend; its torch backend wraps them)."""

    def call(self, images):
        self.output_spec(images)
        dtype = images.dtype.type
        channel_axis, (hue, saturation, value) = self.planes(images)
        scaled = hue * dtype(6)
        red = np.clip(np.abs(scaled - dtype(3)) - dtype(1), dtype(0), dtype(1))
        green = np.clip(dtype(2) - np.abs(scaled - dtype(2)), dtype(0), dtype(1))
        blue = np.clip(dtype(2) - np.abs(scaled - dtype(4)), dtype(0), dtype(1))
        grey = dtype(1) - saturation
        return np.stack([(grey + saturation * plane) * value for plane in (red, green, blue)],
                        axis=channel_axis)


def _int_list(op, key, length, minimum=1):
    value = op.arguments[key]
    items = [value] * length if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(items, list) or len(items) != length or not all(
            isinstance(item, int) and not isinstance(item, bool) and item >= minimum
            for item in items):
        op.fail(f"{key} must be an integer >= {minimum} or {length} of them, got {value!r}")
    return items


@register_operation
class ExtractPatches(KerasOp):
    """Patches of `size` (2 or 3 sizes) taken every `strides` cells (`dilation_rate` apart
    within a patch, zero-padded for "same"), each flattened into the channel axis in (rows,
    columns, channels) order (depth first for 3-D patches), as Keras's convolution with an
    identity kernel lays them out."""

    _keras_module = "keras.src.ops.image"
    _config_has_name = False
    ARGUMENTS = {"size": REQUIRED, "strides": None, "dilation_rate": 1, "padding": "valid",
                 "data_format": None}

    def check(self):
        size = self.arguments["size"]
        if isinstance(size, int) and not isinstance(size, bool):
            size = self.arguments["size"] = [size, size]
        if not isinstance(size, list) or len(size) not in (2, 3):
            self.fail(f"size must be 2 or 3 positive integers, got {size!r}")
        _int_list(self, "size", len(size))
        if self.arguments["strides"] is not None:
            _int_list(self, "strides", len(size))
        _int_list(self, "dilation_rate", len(size))
        self.check_choice("padding", ("valid", "same"))
        self.check_choice("data_format", _FORMATS)

    def geometry(self, rank: int):
        """(spatial axes, channel axis, window, strides, dilation) for inputs of `rank`."""
        size = self.arguments["size"]
        spatial = len(size)
        if rank not in (spatial + 1, spatial + 2):
            self.fail(f"{spatial}-D patches need inputs of rank {spatial + 1} or "
                      f"{spatial + 2}, got rank {rank}")
        first = self.arguments["data_format"] == "channels_first"
        axes = list(range(rank - spatial, rank)) if first else \
            list(range(rank - spatial - 1, rank - 1))
        channel_axis = rank - spatial - 1 if first else rank - 1
        strides = size if self.arguments["strides"] is None else \
            _int_list(self, "strides", spatial)
        return axes, channel_axis, size, strides, _int_list(self, "dilation_rate", spatial)

    def call(self, images):
        self.output_spec(images)
        axes, channel_axis, window, strides, dilation = self.geometry(images.ndim)
        x = np.moveaxis(images, channel_axis, -1)  # channels last
        axes = list(range(x.ndim - 1 - len(window), x.ndim - 1))
        widths = [(0, 0)] * x.ndim
        outs = []
        for axis, size, stride, rate in zip(axes, window, strides, dilation):
            widths[axis] = conv_kernels.padding_amounts(x.shape[axis], size, stride, rate,
                                                        self.arguments["padding"])
            outs.append(conv_kernels.conv_output_length(x.shape[axis], size, stride, rate,
                                                        self.arguments["padding"]))
        padded = np.pad(x, widths)
        pieces = []
        for offsets in np.ndindex(*window):  # one strided view per window position
            key = [slice(None)] * x.ndim
            for axis, offset, stride, rate, out in zip(axes, offsets, strides, dilation, outs):
                start = offset * rate
                key[axis] = slice(start, start + (out - 1) * stride + 1, stride)
            pieces.append(padded[tuple(key)])
        return np.ascontiguousarray(np.moveaxis(np.concatenate(pieces, axis=-1), -1,
                                                channel_axis))

    def output_spec(self, images):
        shape, dtype = spec_of(images)
        axes, channel_axis, window, strides, dilation = self.geometry(len(shape))
        out = list(shape)
        for axis, size, stride, rate in zip(axes, window, strides, dilation):
            out[axis] = conv_kernels.conv_output_length(shape[axis], size, stride, rate,
                                                        self.arguments["padding"])
            if out[axis] is not None and out[axis] < 1:
                self.fail(f"patches of size {window} do not fit inputs of shape {tuple(shape)}")
        out[channel_axis] = None if shape[channel_axis] is None else \
            int(np.prod(window)) * shape[channel_axis]
        return tuple(out), dtype


def gaussian_blur_kernel(kernel_size, sigma, dtype) -> np.ndarray:
    """(kernel_size[0], kernel_size[1]) taps of Keras's blur: the outer product of the column
    taps (size kernel_size[1], sigma[1]) and row taps (kernel_size[0], sigma[0]), laid out
    row-major in the (kernel_size[0], kernel_size[1]) window as Keras reshapes it."""
    rows = image_sampling.gaussian_1d(kernel_size[1], sigma[1], dtype)
    cols = image_sampling.gaussian_1d(kernel_size[0], sigma[0], dtype)
    return np.outer(rows, cols).reshape(kernel_size[0], kernel_size[1])


def _depthwise(op, images, taps, pads):
    """Every channel of rank-3/4 `images` correlated with the 2-D window `taps`."""
    unbatched = images.ndim == 3
    x = images[None] if unbatched else images
    first = op.arguments["data_format"] == "channels_first"
    channels = x.shape[1 if first else -1]
    kernel = np.ascontiguousarray(np.broadcast_to(taps[:, :, None, None],
                                                  (*taps.shape, channels, 1)))
    out = conv_kernels.depthwise_conv(x, kernel, (1, 1), pads, (1, 1), channels_first=first)
    return out[0] if unbatched else out


@register_operation
class GaussianBlur(KerasOp):
    """Each channel correlated with a normalized Gaussian window (`kernel_size` [height,
    width], `sigma` [along width, along height] as Keras pairs them; a non-square window is
    Keras's outer product laid into the window row-major), zero padding, "same" size."""

    _keras_module = "keras.src.ops.image"
    ARGUMENTS = {"kernel_size": [3, 3], "sigma": [1.0, 1.0], "data_format": None}

    def check(self):
        kernel_size = _int_list(self, "kernel_size", 2)
        if kernel_size[0] * kernel_size[1] > _MAX_TAPS:
            self.fail(f"kernel_size {kernel_size} is too large (at most {_MAX_TAPS} taps)")
        sigma = self.arguments["sigma"]
        if not isinstance(sigma, list) or len(sigma) != 2 or not all(
                isinstance(item, (int, float)) and not isinstance(item, bool) and item > 0
                for item in sigma):
            self.fail(f"sigma must be two positive numbers, got {sigma!r}")
        self.check_choice("data_format", _FORMATS)

    def call(self, images):
        self.output_spec(images)
        kernel_size = _int_list(self, "kernel_size", 2)
        sigma = self.arguments["sigma"]
        dtype = images.dtype.type
        pads = [conv_kernels.padding_amounts(1, size, 1, 1, "same") for size in kernel_size]
        if kernel_size[0] != kernel_size[1]:  # Keras's reshaped window is not separable
            taps = gaussian_blur_kernel(kernel_size, sigma, dtype)
            return _depthwise(self, images, taps, pads)
        # square: window[i, j] = column taps (sigma[1])[i] * row taps (sigma[0])[j]
        h_axis, w_axis, _ = image_axes(self, images.ndim)
        widths = [(0, 0)] * images.ndim
        widths[h_axis], widths[w_axis] = pads
        return image_sampling.separable_correlate(
            np.pad(images, widths), image_sampling.gaussian_1d(kernel_size[1], sigma[1], dtype),
            image_sampling.gaussian_1d(kernel_size[0], sigma[0], dtype), h_axis, w_axis)

    def output_spec(self, images):
        shape, dtype = spec_of(images)
        image_axes(self, len(shape))
        if np.dtype(dtype).kind != "f":
            self.fail(f"expects float images, got {dtype}")
        return tuple(shape), dtype


def sobel_kernel(dtype) -> np.ndarray:
    """(3, 3, 2): the vertical then horizontal Sobel filters."""
    dy = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype)
    return np.stack([dy, dy.T], axis=-1)


@register_operation
class SobelEdges(KerasOp):
    """Vertical and horizontal Sobel gradients of each channel, stacked on a new last axis as
    [dy, dx]; the border is reflected (Keras's TensorFlow backend; its torch backend pads with
    zeros). Takes a batch of images (rank 4)."""

    _keras_module = "keras.src.ops.image"
    ARGUMENTS = {"data_format": None}

    def check(self):
        self.check_choice("data_format", _FORMATS)

    def call(self, images):
        self.output_spec(images)
        h_axis, w_axis, _ = image_axes(self, images.ndim)
        widths = [(0, 0)] * images.ndim
        widths[h_axis] = widths[w_axis] = (1, 1)
        padded = np.pad(images, widths, mode="reflect")
        smooth = np.array([1, 2, 1], images.dtype)
        step = np.array([-1, 0, 1], images.dtype)
        dy = image_sampling.separable_correlate(padded, step, smooth, h_axis, w_axis)
        dx = image_sampling.separable_correlate(padded, smooth, step, h_axis, w_axis)
        return np.stack([dy, dx], axis=-1)

    def output_spec(self, images):
        shape, dtype = spec_of(images)
        if len(shape) != 4:
            self.fail(f"expects a batch of images (rank 4), got rank {len(shape)}")
        if np.dtype(dtype).kind != "f":
            self.fail(f"expects float images, got {dtype}")
        h_axis, w_axis, _ = image_axes(self, 4)
        if any(shape[axis] is not None and shape[axis] < 2 for axis in (h_axis, w_axis)):
            self.fail("needs images of at least 2 x 2 (the border is reflected)")
        return (*shape, 2), dtype


@register_operation
class SSIM(KerasOp):
    """Structural similarity of two images, averaged over the valid window positions of an
    `filter_size` Gaussian window (sigma `filter_sigma`) and over channels: one value per
    image."""

    _keras_module = "keras.src.ops.image"
    ARGUMENTS = {"max_val": 1.0, "filter_size": 11, "filter_sigma": 1.5, "k1": 0.01, "k2": 0.03,
                 "data_format": None}

    def check(self):
        for key in ("max_val", "filter_sigma", "k1", "k2"):
            self.check_number(key)
        if self.arguments["filter_sigma"] <= 0:
            self.fail("filter_sigma must be positive")
        self.check_int("filter_size", minimum=1)
        self.check_choice("data_format", _FORMATS)

    def constants(self) -> tuple[float, float]:
        return ((self.arguments["k1"] * self.arguments["max_val"]) ** 2,
                (self.arguments["k2"] * self.arguments["max_val"]) ** 2)

    def window(self, dtype) -> np.ndarray:
        taps = image_sampling.gaussian_1d(self.arguments["filter_size"],
                                          self.arguments["filter_sigma"], dtype)
        return np.outer(taps, taps)

    def call(self, image1, image2):
        self.output_spec(image1, image2)
        dtype = image1.dtype if image1.dtype.kind == "f" else np.dtype(np.float32)
        pair = []
        for image in (image1, image2):
            image = image.astype(dtype)[None] if image.ndim == 3 else image.astype(dtype)
            if self.arguments["data_format"] == "channels_first":
                image = np.moveaxis(image, 1, -1)
            pair.append(image)
        first, second = pair

        taps = image_sampling.gaussian_1d(self.arguments["filter_size"],
                                          self.arguments["filter_sigma"], dtype.type)

        def mean(x):  # valid Gaussian-weighted mean of each channel
            return image_sampling.separable_correlate(x, taps, taps, 1, 2)

        c1, c2 = (dtype.type(value) for value in self.constants())
        mu1, mu2 = mean(first), mean(second)
        sigma1 = mean(first * first) - mu1 * mu1
        sigma2 = mean(second * second) - mu2 * mu2
        sigma12 = mean(first * second) - mu1 * mu2
        numerator = (dtype.type(2) * mu1 * mu2 + c1) * (dtype.type(2) * sigma12 + c2)
        denominator = (mu1 * mu1 + mu2 * mu2 + c1) * (sigma1 + sigma2 + c2)
        per_channel = (numerator / denominator).mean(axis=(1, 2), dtype=dtype)
        result = per_channel.mean(axis=-1, dtype=dtype)
        if image1.ndim == 3:
            result = result[0]
        return np.asarray(result).astype(image1.dtype)

    def output_spec(self, image1, image2):
        shape, dtype = spec_of(image1)
        other, _ = spec_of(image2)
        for name, value in (("image1", shape), ("image2", other)):
            if len(value) not in (3, 4):
                self.fail(f"{name} must be an image or a batch of images (rank 3 or 4), "
                          f"got rank {len(value)}")
        if len(shape) != len(other) or any(a is not None and b is not None and a != b
                                           for a, b in zip(shape, other)):
            self.fail(f"image1 and image2 must have one shape, got {tuple(shape)} and "
                      f"{tuple(other)}")
        h_axis, w_axis, _ = image_axes(self, len(shape))
        size = self.arguments["filter_size"]
        if any(shape[axis] is not None and shape[axis] < size for axis in (h_axis, w_axis)):
            self.fail(f"filter_size {size} is larger than images of shape {tuple(shape)}")
        return (() if len(shape) == 3 else (shape[0],)), dtype
