"""`keras.ops.image`'s operations as Keras 3 graphs record them: `Resize` ("nearest" and
"bilinear", optionally antialiased, cropped or padded to the target aspect ratio, as Keras's
PyTorch backend computes them), `RGBToGrayscale`, `CropImages` and `PadImages`, each a registered class with Keras's
config (`data_format` None means channels_last, Keras's default)."""

import numpy as np

from ..graph.registry import register_operation
from ..kernels import resize as resize_kernels
from .base import REQUIRED, KerasOp, spec_of

__all__ = ["CropImages", "PadImages", "RGBToGrayscale", "Resize", "image_axes"]

_FORMATS = (None, "channels_last", "channels_first")


def image_axes(op, rank: int) -> tuple[int, int, int]:
    """(height axis, width axis, channel axis) of a rank-3 or rank-4 image tensor."""
    if rank not in (3, 4):
        op.fail(f"expects images of rank 3 or 4, got rank {rank}")
    if op.arguments["data_format"] == "channels_first":
        return rank - 2, rank - 1, rank - 3
    return rank - 3, rank - 2, rank - 1


@register_operation
class Resize(KerasOp):
    """Images resized to `size` (height, width)."""

    _keras_module = "keras.src.ops.image"
    ARGUMENTS = {"size": REQUIRED, "interpolation": "bilinear", "antialias": False,
                 "crop_to_aspect_ratio": False, "pad_to_aspect_ratio": False,
                 "fill_mode": "constant", "fill_value": 0.0, "data_format": None}

    def check(self):
        size = self.arguments["size"]
        if not isinstance(size, list) or len(size) != 2 or not all(
                isinstance(dim, int) and not isinstance(dim, bool) and dim > 0 for dim in size):
            self.fail(f"size must be [height, width], got {size!r}")
        self.check_choice("interpolation", ("nearest", "bilinear"))
        for key in ("antialias", "crop_to_aspect_ratio", "pad_to_aspect_ratio"):
            if not isinstance(self.arguments[key], bool):
                self.fail(f"{key} must be true or false")
        if self.arguments["crop_to_aspect_ratio"] and self.arguments["pad_to_aspect_ratio"]:
            self.fail("crop_to_aspect_ratio and pad_to_aspect_ratio exclude each other")
        self.check_choice("fill_mode", ("constant",))
        self.check_number("fill_value")
        self.check_choice("data_format", _FORMATS)

    def call(self, images):
        h_axis, w_axis, _ = image_axes(self, images.ndim)
        height, width = self.arguments["size"]
        out_dtype = images.dtype
        work = images if out_dtype in (np.float32, np.float64) else images.astype(np.float32)
        in_height, in_width = work.shape[h_axis], work.shape[w_axis]
        if self.arguments["crop_to_aspect_ratio"]:
            top, left, crop_height, crop_width = resize_kernels.aspect_crop_box(
                in_height, in_width, height, width)
            index = [slice(None)] * work.ndim
            index[h_axis] = slice(top, top + crop_height)
            index[w_axis] = slice(left, left + crop_width)
            work = work[tuple(index)]
        elif self.arguments["pad_to_aspect_ratio"]:
            rows, cols = resize_kernels.aspect_pad_box(in_height, in_width, height, width)
            widths = [(0, 0)] * work.ndim
            widths[h_axis], widths[w_axis] = (rows, rows), (cols, cols)
            work = np.pad(work, widths, constant_values=self.arguments["fill_value"])
        resized = resize_kernels.resize_images(work, height, width, h_axis, w_axis,
                                               self.arguments["interpolation"],
                                               self.arguments["antialias"])
        if out_dtype.kind in "iu":
            info = np.iinfo(out_dtype)
            resized = np.clip(np.round(resized), info.min, info.max)
        return resized.astype(out_dtype, copy=False)

    def output_spec(self, images):
        shape, dtype = spec_of(images)
        h_axis, w_axis, _ = image_axes(self, len(shape))
        shape = list(shape)
        shape[h_axis], shape[w_axis] = self.arguments["size"]
        return tuple(shape), dtype


@register_operation
class RGBToGrayscale(KerasOp):
    """`0.2989 r + 0.587 g + 0.114 b`, keeping a channel axis of size 1."""

    _keras_module = "keras.src.ops.image"
    ARGUMENTS = {"data_format": None}
    WEIGHTS = (0.2989, 0.587, 0.114)

    def check(self):
        self.check_choice("data_format", _FORMATS)

    def call(self, images):
        _, _, channel_axis = image_axes(self, images.ndim)
        if images.shape[channel_axis] == 1:
            return images.copy()
        work = images if images.dtype.kind == "f" else images.astype(np.float32)
        weights = np.asarray(self.WEIGHTS, work.dtype)
        gray = np.tensordot(np.moveaxis(work, channel_axis, -1), weights, axes=([-1], [0]))
        return np.expand_dims(gray, channel_axis).astype(images.dtype, copy=False)

    def output_spec(self, images):
        shape, dtype = spec_of(images)
        _, _, channel_axis = image_axes(self, len(shape))
        if shape[channel_axis] not in (None, 1, 3):
            self.fail(f"expects 3 (or 1) channels, got {shape[channel_axis]}")
        shape = list(shape)
        shape[channel_axis] = 1
        return tuple(shape), dtype


class _Frame(KerasOp):
    """What CropImages and PadImages share: four margins, two of which may come from a target
    size, over the height and width axes."""

    _keras_module = "keras.src.ops.image"
    KEYS = ()  # (top, left, bottom, right) argument names

    def check(self):
        for key in (*self.KEYS, "target_height", "target_width"):
            self.check_int(key, allow_none=True, minimum=0)
        self.check_choice("data_format", _FORMATS)
        top, left, bottom, right = (self.arguments[key] for key in self.KEYS)
        for first, second, target in ((top, bottom, "target_height"),
                                      (left, right, "target_width")):
            given = sum(value is not None for value in (first, second, self.arguments[target]))
            if given != 2:
                self.fail(f"give exactly two of the margins and {target} for each axis")

    def margins(self, shape) -> list:
        """[(before, after) of the height axis, (before, after) of the width axis]."""
        h_axis, w_axis, _ = image_axes(self, len(shape))
        top, left, bottom, right = (self.arguments[key] for key in self.KEYS)
        result = []
        for size, before, after, target in ((shape[h_axis], top, bottom, "target_height"),
                                            (shape[w_axis], left, right, "target_width")):
            target = self.arguments[target]
            if size is None and (before is None or after is None):
                self.fail("a target size needs the image size known")
            before, after = self.resolve(size, before, after, target)
            if before < 0 or after < 0:
                self.fail(f"a target size does not fit images of shape {tuple(shape)}")
            result.append((before, after))
        return result


@register_operation
class CropImages(_Frame):
    """Images cropped by margins (or to a target size)."""

    ARGUMENTS = {"top_cropping": None, "left_cropping": None, "bottom_cropping": None,
                 "right_cropping": None, "target_height": None, "target_width": None,
                 "data_format": None}
    KEYS = ("top_cropping", "left_cropping", "bottom_cropping", "right_cropping")

    @staticmethod
    def resolve(size, before, after, target):
        if before is None:
            before = size - target - after
        if after is None:
            after = size - target - before
        return before, after

    def call(self, images):
        h_axis, w_axis, _ = image_axes(self, images.ndim)
        (top, bottom), (left, right) = self.margins(images.shape)
        key = [slice(None)] * images.ndim
        key[h_axis] = slice(top, images.shape[h_axis] - bottom)
        key[w_axis] = slice(left, images.shape[w_axis] - right)
        return images[tuple(key)].copy()

    def output_spec(self, images):
        shape, dtype = spec_of(images)
        h_axis, w_axis, _ = image_axes(self, len(shape))
        out = list(shape)
        for axis, (before, after) in zip((h_axis, w_axis), self.margins(shape)):
            out[axis] = None if shape[axis] is None else shape[axis] - before - after
            if out[axis] is not None and out[axis] < 1:
                self.fail(f"the cropping leaves nothing of images of shape {tuple(shape)}")
        return tuple(out), dtype


@register_operation
class PadImages(_Frame):
    """Images padded with zeros by margins (or to a target size)."""

    ARGUMENTS = {"top_padding": None, "left_padding": None, "bottom_padding": None,
                 "right_padding": None, "target_height": None, "target_width": None,
                 "data_format": None}
    KEYS = ("top_padding", "left_padding", "bottom_padding", "right_padding")

    @staticmethod
    def resolve(size, before, after, target):
        if before is None:
            before = target - after - size
        if after is None:
            after = target - before - size
        return before, after

    def call(self, images):
        h_axis, w_axis, _ = image_axes(self, images.ndim)
        widths = [(0, 0)] * images.ndim
        widths[h_axis], widths[w_axis] = self.margins(images.shape)
        return np.pad(images, widths)

    def output_spec(self, images):
        shape, dtype = spec_of(images)
        h_axis, w_axis, _ = image_axes(self, len(shape))
        out = list(shape)
        for axis, (before, after) in zip((h_axis, w_axis), self.margins(shape)):
            out[axis] = None if shape[axis] is None else shape[axis] + before + after
        return tuple(out), dtype
