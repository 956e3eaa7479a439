"""`keras.ops.image`'s resampling operations as Keras 3 graphs record them: `AffineTransform`,
`PerspectiveTransform`, `MapCoordinates` and `ScaleAndTranslate`
(modelio/kernels/image_sampling.py computes them).

Where Keras's torch and TensorFlow backends disagree, modelio computes what the TensorFlow
backend does: AffineTransform applies the projective terms c0, c1, wraps ("wrap") the sample
position rather than the neighbour indices, and rounds halves away from zero ("nearest");
MapCoordinates' "reflect" mirrors negative indices (|i|). "mirror", which TensorFlow refuses in
AffineTransform and fails on in MapCoordinates, follows the torch backend."""

import numpy as np

from ..graph.registry import register_operation
from ..graph.tensor import SymbolicTensor
from ..kernels import image_sampling
from .base import REQUIRED, KerasOp, spec_of
from .image_ops import image_axes

__all__ = ["AffineTransform", "MapCoordinates", "PerspectiveTransform", "ScaleAndTranslate"]

_FORMATS = (None, "channels_last", "channels_first")
_INTERPOLATIONS = ("nearest", "bilinear")


class _Warp(KerasOp):
    """What AffineTransform and PerspectiveTransform share: float images of rank 3 or 4
    resampled through one projective transform per image."""

    _keras_module = "keras.src.ops.image"

    def check(self):
        self.check_choice("interpolation", _INTERPOLATIONS)
        self.check_number("fill_value")
        self.check_choice("data_format", _FORMATS)

    def check_images(self, images):
        shape, dtype = spec_of(images)
        image_axes(self, len(shape))
        if np.dtype(dtype).kind != "f":
            self.fail(f"expects float images, got {dtype}")
        return tuple(shape), dtype

    def warp(self, images, transforms, fill_mode):
        unbatched = images.ndim == 3
        x = images[None] if unbatched else images
        first = self.arguments["data_format"] == "channels_first"
        if first:
            x = np.moveaxis(x, 1, -1)
        if transforms.shape[0] not in (1, x.shape[0]):
            self.fail(f"got {transforms.shape[0]} transforms for {x.shape[0]} images")
        out = image_sampling.projective_transform(
            x, transforms, self.arguments["interpolation"], fill_mode,
            self.arguments["fill_value"])
        if first:
            out = np.moveaxis(out, -1, 1)
        return np.ascontiguousarray(out[0] if unbatched else out)


@register_operation
class AffineTransform(_Warp):
    """Each output pixel (x, y) reads the image at ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2)
    / k), k = c0 x + c1 y + 1, for a transform row [a0, a1, a2, b0, b1, b2, c0, c1] (one row per
    image, or one for all); positions outside are filled per `fill_mode` ("constant" reads
    `fill_value`, "nearest", "wrap", "reflect", "mirror")."""

    ARGUMENTS = {"interpolation": "bilinear", "fill_mode": "constant", "fill_value": 0,
                 "data_format": None}

    def check(self):
        super().check()
        self.check_choice("fill_mode", ("constant", "nearest", "wrap", "mirror", "reflect"))

    def call(self, images, transform):
        self.output_spec(images, transform)
        transforms = transform if transform.ndim == 2 else transform[None]
        return self.warp(images, transforms, self.arguments["fill_mode"])

    def output_spec(self, images, transform):
        shape, dtype = self.check_images(images)
        t_shape, _ = spec_of(transform)
        if len(t_shape) not in (1, 2) or t_shape[-1] not in (None, 8):
            self.fail(f"transform must be (8,) or (N, 8), got {tuple(t_shape)}")
        return shape, dtype


@register_operation
class PerspectiveTransform(_Warp):
    """The image warped so that its four `start_points` (x, y) land on `end_points` (each (4,
    2), or (N, 4, 2) per image); outside the image reads `fill_value`."""

    ARGUMENTS = {"interpolation": "bilinear", "fill_value": 0, "data_format": None}

    def call(self, images, start_points, end_points):
        self.output_spec(images, start_points, end_points)
        start = start_points if start_points.ndim == 3 else start_points[None]
        end = end_points if end_points.ndim == 3 else end_points[None]
        try:
            transforms = image_sampling.homography(start, end)
        except np.linalg.LinAlgError:
            self.fail("the points give no homography (three of the four on one line?)")
        return self.warp(images, transforms, "constant")

    def output_spec(self, images, start_points, end_points):
        shape, dtype = self.check_images(images)
        start, _ = spec_of(start_points)
        end, _ = spec_of(end_points)
        for name, value in (("start_points", start), ("end_points", end)):
            if len(value) not in (2, 3) or tuple(value[-2:]) != (4, 2):
                self.fail(f"{name} must be (4, 2) or (N, 4, 2), got {tuple(value)}")
        if len(start) != len(end):
            self.fail("start_points and end_points must have one shape")
        return shape, dtype


@register_operation
class MapCoordinates(KerasOp):
    """`inputs` read at `coordinates` ((rank of inputs, ...): one coordinate array per axis),
    nearest (`order` 0) or linear (`order` 1); indices outside are handled per `fill_mode`:
    "constant" reads `fill_value`, "nearest" repeats the edge, "wrap", "mirror" (c d c b | a b c
    d) and "reflect" (TensorFlow backend: negative indices mirrored, the far edge reflected)."""

    _keras_module = "keras.src.ops.image"
    ARGUMENTS = {"order": REQUIRED, "fill_mode": "constant", "fill_value": 0}

    def check(self):
        self.check_choice("order", (0, 1))
        if isinstance(self.arguments["order"], bool):
            self.fail("order must be 0 or 1")
        self.check_choice("fill_mode", ("constant", "nearest", "wrap", "mirror", "reflect"))
        self.check_number("fill_value")

    def call(self, inputs, coordinates):
        self.output_spec(inputs, coordinates)
        if any(size == 0 for size in inputs.shape):
            self.fail("cannot read an empty array")
        return image_sampling.map_coordinates(inputs, coordinates, self.arguments["order"],
                                              self.arguments["fill_mode"],
                                              self.arguments["fill_value"])

    def output_spec(self, inputs, coordinates):
        shape, dtype = spec_of(inputs)
        c_shape, c_dtype = spec_of(coordinates)
        if len(c_shape) < 2 or c_shape[0] != len(shape):
            self.fail(f"coordinates must be (rank of inputs = {len(shape)}, ...), got "
                      f"{tuple(c_shape)}")
        if np.dtype(c_dtype).kind != "f":
            self.fail(f"expects float coordinates, got {c_dtype}")
        return tuple(c_shape[1:]), dtype


@register_operation
class ScaleAndTranslate(KerasOp):
    """`images` resampled to `output_shape` along `spatial_dims`: output cell j of an axis
    samples input position (j + 0.5 - translation) / scale - 0.5 with `method`'s kernel
    (linear/bilinear/trilinear/triangle, cubic/bicubic/tricubic: Keys a = -0.5, lanczos3,
    lanczos5), widened when downscaling with `antialias`; outside the input is 0."""

    _keras_module = "keras.src.ops.image"
    ARGUMENTS = {"spatial_dims": REQUIRED, "method": REQUIRED, "antialias": True}

    def check(self):
        dims = self.arguments["spatial_dims"]
        if isinstance(dims, int) and not isinstance(dims, bool):
            dims = [dims]
        if not isinstance(dims, list) or not all(
                isinstance(item, int) and not isinstance(item, bool) for item in dims):
            self.fail(f"spatial_dims must be a list of axes, got {dims!r}")
        self.check_choice("method", tuple(image_sampling.SCALE_KERNELS))
        if not isinstance(self.arguments["antialias"], bool):
            self.fail("antialias must be true or false")

    def spatial_dims(self, rank: int) -> list[int]:
        dims = self.arguments["spatial_dims"]
        dims = [dims] if isinstance(dims, int) else dims
        if any(not -rank <= axis < rank for axis in dims):
            self.fail(f"spatial_dims {dims} out of range for rank {rank}")
        return [axis % rank for axis in dims]

    def factors(self, scale, translation, count: int):
        """(scales, translations) as float32 numbers, one per spatial axis."""
        values = []
        for name, value in (("scale", scale), ("translation", translation)):
            array = np.asarray(value).reshape(-1)
            if array.size != count:
                self.fail(f"{name} must hold one number per spatial axis ({count}), got "
                          f"{array.size}")
            values.append(array.astype(np.float32))
        return values

    def call(self, images, output_shape, scale, translation):
        self.output_spec(images, output_shape, scale, translation)
        sizes = [int(value) for value in np.asarray(output_shape).reshape(-1)]
        dims = self.spatial_dims(images.ndim)
        scales, translations = self.factors(scale, translation, len(dims))
        integer = images.dtype.kind in "iub"
        out = images.astype(np.float32) if integer else images
        for axis, factor, shift in zip(dims, scales, translations):
            weights = image_sampling.scale_and_translate_weights(
                images.shape[axis], sizes[axis], factor, shift, self.arguments["method"],
                self.arguments["antialias"]).astype(out.dtype)
            out = np.moveaxis(np.tensordot(out, weights, axes=([axis], [0])), -1, axis)
        if integer:
            out = np.clip(np.rint(out), images.min(), images.max())
        return np.ascontiguousarray(out).astype(images.dtype, copy=False)

    def output_spec(self, images, output_shape, scale, translation):
        shape, dtype = spec_of(images)
        if isinstance(output_shape, SymbolicTensor):
            self.fail("output_shape must be a list of sizes, not a tensor")
        sizes = list(np.asarray(output_shape).reshape(-1))
        if len(sizes) != len(shape) or not all(
                isinstance(size, (int, np.integer)) and size > 0 for size in sizes):
            self.fail(f"output_shape must give one positive size per axis of images of rank "
                      f"{len(shape)}, got {output_shape!r}")
        dims = self.spatial_dims(len(shape))
        for axis, (size, wanted) in enumerate(zip(shape, sizes)):
            if axis not in dims and size is not None and size != wanted:
                self.fail(f"output_shape {sizes} changes axis {axis}, which is not in "
                          f"spatial_dims {dims}")
        for name, value in (("scale", scale), ("translation", translation)):
            value_shape, _ = spec_of(value)
            if tuple(value_shape) not in ((len(dims),),):
                self.fail(f"{name} must have shape ({len(dims)},), got {tuple(value_shape)}")
        return tuple(int(size) for size in sizes), dtype
