"""Neural-network operations: the ONNX twins of `keras.ops.nn`'s `softmax` / `log_softmax`, `conv`,
`conv_transpose`, `max_pool` / `average_pool`, `layer_normalization` and of ONNX's LRN, for the
ONNX graphs whose numbers no Keras layer reproduces (explicit asymmetric pads, `ceil_mode`,
`count_include_pad`, strided dilated convolutions, the batch axis normalized, ...). They work on
(N, C, spatial...) inputs, keep ONNX's weight layouts and compute with modelio.kernels.
"""

import numpy as np

from ..errors import ConfigError
from ..graph import register_layer
from ..kernels import convolution as conv_kernels
from ..kernels import normalization as normalization_kernels
from ..kernels import pooling as pool_kernels
from .onnx_layer import (
    OnnxLayer,
    positive_axis,
)

__all__ = [
    "OnnxConv", "OnnxConvTranspose", "OnnxLRN", "OnnxLayerNormalization", "OnnxPool",
    "OnnxSoftmax",
]


@register_layer()
class OnnxSoftmax(OnnxLayer):
    """ONNX Softmax / LogSoftmax (`log`) over `axis`; `coerce_2d` gives the opset < 13 meaning
    (normalize jointly over every axis from `axis` on)."""

    def __init__(self, axis=-1, log=False, coerce_2d=False, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.log, self.coerce_2d = int(axis), bool(log), bool(coerce_2d)

    def compute(self, operands):
        x = operands[0]
        axis = positive_axis(self.axis, x.ndim, self.name)
        axes = tuple(range(axis, x.ndim)) if self.coerce_2d else (axis,)
        shifted = x - np.max(x, axis=axes, keepdims=True)
        with np.errstate(all="ignore"):
            log_total = np.log(np.sum(np.exp(shifted), axis=axes, keepdims=True))
        result = shifted - log_total if self.log else np.exp(shifted - log_total)
        return result.astype(x.dtype, copy=False)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "log": self.log,
                "coerce_2d": self.coerce_2d}


@register_layer()
class OnnxPool(OnnxLayer):
    """ONNX MaxPool / AveragePool over (N, C, spatial...): explicit `pads` (begins then ends),
    `dilations`, `ceil_mode`, and for averages `count_include_pad` (pads count in the divisor;
    cells past the padded input that ceil_mode adds never do). A max pool with `return_indices`
    returns `[values, indices]`: MaxPool's int64 Indices, flat positions in the input
    (row-major, or with `storage_order=1` column-major over the spatial axes)."""

    keeps_dtypes = False

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

    @property
    def _rank(self) -> int:
        return len(self.kernel_shape)

    def _counts(self, spatial) -> list:
        return pool_kernels.pool_window_counts(spatial, self.kernel_shape, self.strides, self.pads,
                                               self.dilations, self.ceil_mode)

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
        window = (self.kernel_shape, self.strides, self.pads, self.dilations, self.ceil_mode)
        if self.return_indices:
            return pool_kernels.max_pool_with_indices(inputs, *window, self.storage_order)
        return pool_kernels.padded_pool(inputs, self.mode, *window, self.count_include_pad)

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode, "kernel_shape": self.kernel_shape,
                "strides": self.strides, "pads": self.pads, "dilations": self.dilations,
                "ceil_mode": self.ceil_mode, "count_include_pad": self.count_include_pad,
                "return_indices": self.return_indices, "storage_order": self.storage_order}


class _OnnxConvBase(OnnxLayer):
    """What OnnxConv and OnnxConvTranspose share: the window attributes, `filters` in `group`s,
    the weights `kernel` (ONNX's layout, `_kernel_weight_shape`) and `bias`, and output sizes
    (`_output_length` per spatial axis)."""

    keeps_dtypes = False
    _no_output = "the kernel leaves"  # what leaves no output when an output length is <= 0

    def __init__(self, filters, kernel_shape, strides=None, pads=None, dilations=None, group=1,
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
        if not isinstance(filters, int) or filters < 1 or filters % self.group:
            raise ConfigError(f"layer '{self.name}' ({type(self).__name__}): filters must be a "
                              f"positive multiple of group ({self.group}), got {filters!r}")
        self.filters = filters

    @property
    def _rank(self) -> int:
        return len(self.kernel_shape)

    def build(self, input_shape):
        self._check_rank(input_shape, self._rank + 2)
        channels = input_shape[1]
        if channels is None or channels % self.group:
            raise ConfigError(f"layer '{self.name}' ({type(self).__name__}): the input's channels "
                              f"({channels}) must be known and divisible by group ({self.group})")
        self.kernel = self.add_weight("kernel", self._kernel_weight_shape(channels))
        self.bias = self.add_weight("bias", (self.filters,)) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape, self._rank + 2)
        sizes = [None if size is None else self._output_length(axis, size)
                 for axis, size in enumerate(input_shape[2:])]
        if any(size is not None and size <= 0 for size in sizes):
            raise ConfigError(f"layer '{self.name}' ({type(self).__name__}): {self._no_output} no "
                              f"output for inputs of shape {tuple(input_shape)}")
        return (input_shape[0], self.filters, *sizes)

    def _base_config(self) -> dict:
        return {"kernel_shape": self.kernel_shape, "strides": self.strides, "pads": self.pads,
                "dilations": self.dilations, "group": self.group, "use_bias": self.use_bias}


@register_layer()
class OnnxConv(_OnnxConvBase):
    """ONNX Conv over (N, C, spatial...) with explicit `pads` (begins then ends), any strides
    with any dilations, `group`. Weights: `kernel` (filters, C / group, *kernel_shape), `bias`."""

    def __init__(self, filters, kernel_shape, strides=None, pads=None, dilations=None, group=1,
                 use_bias=True, **kwargs):
        super().__init__(filters, kernel_shape, strides, pads, dilations, group, use_bias, **kwargs)
        if min(self.pads) < 0:
            raise ConfigError(f"layer '{self.name}' (OnnxConv): pads must be >= 0, got {self.pads}")

    def _kernel_weight_shape(self, channels: int) -> tuple:
        return (self.filters, channels // self.group, *self.kernel_shape)

    def _output_length(self, axis: int, size: int) -> int:
        effective = (self.kernel_shape[axis] - 1) * self.dilations[axis] + 1
        return (size + self.pads[axis] + self.pads[axis + self._rank] - effective) // \
            self.strides[axis] + 1

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

    _no_output = "the pads leave"

    def __init__(self, filters, kernel_shape, strides=None, pads=None, dilations=None, group=1,
                 use_bias=True, output_padding=None, **kwargs):
        super().__init__(filters, kernel_shape, strides, pads, dilations, group, use_bias, **kwargs)
        self.output_padding = self._ints(output_padding or [0] * self._rank, "output_padding",
                                         self._rank, minimum=0)

    def _kernel_weight_shape(self, channels: int) -> tuple:
        return (channels, self.filters // self.group, *self.kernel_shape)

    def _crops(self) -> list:
        rank = self._rank
        return [(self.pads[axis], self.pads[axis + rank] - self.output_padding[axis])
                for axis in range(rank)]

    def _output_length(self, axis: int, size: int) -> int:
        start, end = self._crops()[axis]
        return self._uncropped_length(axis, size) - start - end

    def _uncropped_length(self, axis: int, size: int) -> int:
        effective = (self.kernel_shape[axis] - 1) * self.dilations[axis] + 1
        return (size - 1) * self.strides[axis] + effective

    def call(self, inputs):
        inputs = self._float(inputs)
        self.check_result_size([inputs.shape[0], self.filters, *(
            self._uncropped_length(axis, size) for axis, size in enumerate(inputs.shape[2:]))],
            inputs.dtype)
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


@register_layer()
class OnnxLayerNormalization(OnnxLayer):
    """ONNX LayerNormalization over the axes `axis`.. (the batch axis included when `axis` is 0),
    returning `[Y, Mean, InvStdDev]` when `return_statistics` (Mean and InvStdDev keep the
    normalized axes with size 1). Weights: `scale` and, when `center`, `bias`, shaped like the
    normalized axes."""

    keeps_dtypes = False

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
        mean, variance = normalization_kernels.moments(inputs, axes)
        inverse_std = 1.0 / np.sqrt(variance + np.asarray(self.epsilon, inputs.dtype))
        y = (inputs - mean) * inverse_std * self.value_of(self.scale)
        if self.bias is not None:
            y = y + self.value_of(self.bias)
        y = y.astype(inputs.dtype, copy=False)
        return [y, mean, inverse_std] if self.return_statistics else y

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "return_statistics": self.return_statistics}


@register_layer()
class OnnxLRN(OnnxLayer):
    """ONNX LRN across channels (axis 1): `x / (bias + alpha / size * sum of x**2 over the
    channels c - floor((size-1)/2) .. c + ceil((size-1)/2)) ** beta`."""

    keeps_dtypes = False

    def __init__(self, size, alpha=1e-4, beta=0.75, bias=1.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or size < 1:
            raise ConfigError(f"layer '{self.name}' (OnnxLRN): size must be a positive integer, "
                              f"got {size!r}")
        self.size, self.alpha, self.beta, self.bias = size, float(alpha), float(beta), float(bias)

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
