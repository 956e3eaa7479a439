"""Image operations: the ONNX twin of `keras.ops.image.resize`, ONNX Resize (and Upsample) with
every ONNX mode, computed with modelio.kernels.resize.
"""

import math

import numpy as np

from ..errors import ConfigError, GraphError, UnsupportedError
from ..graph import register_layer
from ..kernels import resize as resize_kernels
from .onnx_layer import OnnxLayer, is_shape_list, runtime_ints, vector_length

__all__ = [
    "OnnxResize",
]


@register_layer()
class OnnxResize(OnnxLayer):
    """ONNX Resize (and Upsample), one axis after the other as ONNX's reference does, in mode
    'nearest' (with `nearest_mode`), 'linear' or 'cubic' (`cubic_coeff_a`, `exclude_outside`),
    optionally `antialias`ed, with every coordinate transformation mode (tf_crop_and_resize
    reads `roi`, starts then ends per axis, and fills `extrapolation_value` outside the input).
    `scales` (one per axis) map output to input coordinates and, without `sizes`, give the
    output size `floor(size * scale)`; `sizes` fix the output sizes (the batch entry is ignored:
    the batch keeps its size), and without `scales` each axis' scale is `output / input`.
    With `runtime_sizes` the sizes (one per axis, the batch entry ignored) are a second, run-time
    operand instead (a detector's Resize to another tensor's size)."""

    keeps_dtypes = False

    def __init__(self, mode="nearest", scales=None, sizes=None,
                 coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor",
                 cubic_coeff_a=-0.75, exclude_outside=False, antialias=False, roi=None,
                 extrapolation_value=0.0, runtime_sizes=False, **kwargs):
        super().__init__(**kwargs)
        label = f"layer '{self.name}' (OnnxResize)"
        self.runtime_sizes = bool(runtime_sizes)
        if mode not in ("nearest", "linear", "cubic"):
            raise UnsupportedError(f"{label}: mode {mode!r} is not supported (nearest, linear, "
                                   f"cubic)")
        if coordinate_transformation_mode not in resize_kernels.COORDINATE_MODES:
            raise UnsupportedError(f"{label}: coordinate_transformation_mode "
                                   f"{coordinate_transformation_mode!r} is not supported "
                                   f"({', '.join(resize_kernels.COORDINATE_MODES)})")
        if nearest_mode not in resize_kernels.NEAREST_MODES:
            raise UnsupportedError(f"{label}: nearest_mode {nearest_mode!r} is not supported")
        if antialias and mode == "nearest":
            raise UnsupportedError(f"{label}: antialias applies to linear and cubic modes only")
        if self.runtime_sizes and (scales is not None or sizes is not None
                                   or coordinate_transformation_mode == "tf_crop_and_resize"):
            raise ConfigError(f"{label}: runtime_sizes takes neither scales, sizes nor a roi")
        if scales is None and sizes is None and not self.runtime_sizes:
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
        rank = len(scales if scales is not None else sizes or ())
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

    def _output_size(self, axis: int, size, sizes=None):
        sizes = self.sizes if sizes is None else sizes
        if axis == 0:
            return size
        if sizes is not None:
            return sizes[axis]
        return None if size is None else int(math.floor(size * self.scales[axis]))

    def compute_output_shape(self, input_shape):
        if self.runtime_sizes:
            if not is_shape_list(input_shape) or len(input_shape) != 2:
                raise ConfigError(f"layer '{self.name}' (OnnxResize): runtime_sizes takes the "
                                  f"image and its sizes")
            image, sizes = input_shape
            if vector_length(sizes, self.name) != len(image):
                raise ConfigError(f"layer '{self.name}' (OnnxResize): sizes of shape "
                                  f"{tuple(sizes)} for inputs of rank {len(image)}")
            return (image[0], *(None,) * (len(image) - 1))
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
        roi = () if self.roi is None else (self.roi[axis], self.roi[axis + len(self.roi) // 2])
        return resize_kernels.source_coordinates(self.coordinate_transformation_mode, in_size,
                                                 out_size, self._scale(axis, in_size, out_size),
                                                 *roi)

    def call(self, inputs):
        sizes = None
        if self.runtime_sizes:
            inputs, sizes = inputs[0], runtime_ints(inputs[1])
            if len(sizes) != inputs.ndim or min(sizes[1:], default=1) < 1:
                raise GraphError(f"layer '{self.name}' (OnnxResize): sizes {sizes} for inputs of "
                                 f"shape {inputs.shape}")
        compute = inputs.dtype if inputs.dtype.kind == "f" else np.dtype(np.float32)
        shape = (self.compute_output_shape(inputs.shape) if sizes is None
                 else (inputs.shape[0], *sizes[1:]))
        self.check_result_size(shape, max(compute, inputs.dtype, key=lambda dtype: dtype.itemsize))
        result = inputs
        for axis in range(1, inputs.ndim):
            in_size = inputs.shape[axis]
            out_size = self._output_size(axis, in_size, sizes)
            scale = self._scale(axis, in_size, out_size)
            cropping = self.roi is not None and (self.roi[axis], self.roi[axis + inputs.ndim]) != (
                0.0, 1.0)
            if in_size == out_size and scale == 1.0 and not cropping:
                continue
            coordinates = self._source_coordinates(axis, in_size, out_size)
            indices, weights = resize_kernels.interpolation_taps(
                coordinates, scale, in_size, self.mode, self.nearest_mode, self.cubic_coeff_a,
                self.exclude_outside, self.antialias)
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
                "roi": self.roi, "extrapolation_value": self.extrapolation_value,
                **({"runtime_sizes": True} if self.runtime_sizes else {})}
