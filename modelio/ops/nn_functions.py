"""`keras.ops.nn`'s normalization, pooling, convolution, rearranging and attention functions as
Keras 3 graphs record them (`LayerNorm`, `RMSNorm`, `BatchNorm`, `Moments`, `MaxPool`,
`AveragePool`, `Conv`, `DepthToSpace`, `SpaceToDepth`, `DotProductAttention`, `Sparsemax`,
`MultiHot`), each a registered class with Keras's config. Weights (gamma, kernels...) arrive as
call arguments: tensors or `__numpy__` constants."""

import numpy as np

from ..graph.registry import register_operation
from ..graph.tensor import SymbolicTensor
from ..kernels import activations as activation_kernels
from ..kernels import convolution as conv_kernels
from ..kernels import pooling as pool_kernels
from .base import REQUIRED, KerasOp, axis_list, float_dtype, normalize_axis, spec_of

__all__ = ["AveragePool", "BatchNorm", "Conv", "DepthToSpace", "DepthwiseConv", "DotProductAttention",
           "LayerNorm", "MaxPool", "Moments", "MultiHot", "RMSNorm", "SpaceToDepth",
           "Sparsemax", "spatial_tuple"]

KERAS_EPSILON = 1e-7  # keras.config.epsilon()


class _NN(KerasOp):
    _keras_module = "keras.src.ops.nn"


def _broadcast_to_axes(value, rank: int, axes: list[int]):
    """A weight shaped like the normalized axes, reshaped to broadcast against rank-`rank` x."""
    value = np.asarray(value)
    if value.ndim == rank or axes == [rank - 1]:
        return value
    shape = [1] * rank
    for axis, size in zip(axes, value.shape):
        shape[axis] = size
    return value.reshape(shape)


@register_operation
class LayerNorm(_NN):
    """`(x - mean) / sqrt(var + epsilon) * gamma + beta` over `axis` (with `rms_scaling`:
    `x / sqrt(var + epsilon) * gamma`); epsilon None is Keras's 1e-7."""

    ARGUMENTS = {"axis": -1, "epsilon": None, "rms_scaling": False}

    def check(self):
        self.check_axes("axis", allow_none=False)
        self.check_number("epsilon", allow_none=True)
        if not isinstance(self.arguments["rms_scaling"], bool):
            self.fail("rms_scaling must be true or false")

    @property
    def epsilon(self) -> float:
        value = self.arguments["epsilon"]
        return KERAS_EPSILON if value is None else value

    def call(self, x, gamma=None, beta=None):
        dtype = x.dtype if x.dtype == np.float64 else np.dtype(np.float32)
        work = x.astype(dtype, copy=False)
        axes = axis_list(self, self.arguments["axis"], x.ndim)
        mean = np.mean(work, axis=tuple(axes), keepdims=True)
        variance = np.mean(np.square(work - mean), axis=tuple(axes), keepdims=True)
        inverse = 1 / np.sqrt(variance + np.asarray(self.epsilon, dtype))
        out = work * inverse if self.arguments["rms_scaling"] else (work - mean) * inverse
        if gamma is not None:
            out = out * _broadcast_to_axes(gamma, x.ndim, axes).astype(dtype)
        if beta is not None and not self.arguments["rms_scaling"]:
            out = out + _broadcast_to_axes(beta, x.ndim, axes).astype(dtype)
        return out.astype(x.dtype, copy=False)

    def output_spec(self, x, gamma=None, beta=None):
        return spec_of(x)


@register_operation
class RMSNorm(_NN):
    """`x / sqrt(mean(x**2) + epsilon) * scale` over `axis`; epsilon None is 1e-7."""

    ARGUMENTS = {"axis": -1, "epsilon": None}

    def check(self):
        self.check_axes("axis", allow_none=False)
        self.check_number("epsilon", allow_none=True)

    @property
    def epsilon(self) -> float:
        value = self.arguments["epsilon"]
        return KERAS_EPSILON if value is None else value

    def call(self, x, scale=None):
        dtype = x.dtype if x.dtype == np.float64 else np.dtype(np.float32)
        work = x.astype(dtype, copy=False)
        axes = axis_list(self, self.arguments["axis"], x.ndim)
        square = np.mean(np.square(work), axis=tuple(axes), keepdims=True)
        out = work / np.sqrt(square + np.asarray(self.epsilon, dtype))
        if scale is not None:
            out = out * _broadcast_to_axes(scale, x.ndim, axes).astype(dtype)
        return out.astype(x.dtype, copy=False)

    def output_spec(self, x, scale=None):
        return spec_of(x)


@register_operation
class BatchNorm(_NN):
    """`(x - mean) / sqrt(variance + epsilon) * scale + offset`, the statistics given per
    channel of `axis`."""

    ARGUMENTS = {"axis": REQUIRED, "epsilon": 0.001}

    def check(self):
        self.check_int("axis")
        self.check_number("epsilon")

    def call(self, x, mean, variance, offset=None, scale=None):
        axis = normalize_axis(self, self.arguments["axis"], x.ndim)
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]

        def along(value):
            return np.asarray(value, x.dtype).reshape(shape)

        inverse = 1 / np.sqrt(along(variance) + np.asarray(self.arguments["epsilon"], x.dtype))
        if scale is not None:
            inverse = inverse * along(scale)
        out = (x - along(mean)) * inverse
        if offset is not None:
            out = out + along(offset)
        return out.astype(x.dtype, copy=False)

    def output_spec(self, x, mean, variance, offset=None, scale=None):
        return spec_of(x)


@register_operation
class Moments(_NN):
    """`[mean, variance]` over `axes`."""

    ARGUMENTS = {"axes": REQUIRED, "keepdims": False, "synchronized": False}

    def check(self):
        self.check_axes("axes", allow_none=False)
        if not isinstance(self.arguments["keepdims"], bool):
            self.fail("keepdims must be true or false")

    def call(self, x):
        dtype = float_dtype(x.dtype.name)
        work = x.astype(dtype, copy=False)
        axes = tuple(axis_list(self, self.arguments["axes"], x.ndim))
        mean = np.mean(work, axis=axes, keepdims=True)
        variance = np.mean(np.square(work - mean), axis=axes,
                           keepdims=self.arguments["keepdims"])
        if not self.arguments["keepdims"]:
            mean = np.squeeze(mean, axis=axes)
        return [mean.astype(dtype), variance.astype(dtype)]

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        axes = axis_list(self, self.arguments["axes"], len(shape))
        keep = self.arguments["keepdims"]
        out = tuple(1 if axis in axes else dim for axis, dim in enumerate(shape)) if keep else \
            tuple(dim for axis, dim in enumerate(shape) if axis not in axes)
        return [(out, float_dtype(dtype)), (out, float_dtype(dtype))]


def spatial_tuple(op, value, rank: int, key: str) -> tuple:
    values = tuple(value) if isinstance(value, list) else (value,) * rank
    if len(values) != rank or not all(isinstance(item, int) and not isinstance(item, bool)
                                      and item >= 1 for item in values):
        op.fail(f"{key} must be a positive integer or {rank} of them, got {value!r}")
    return values


class _Windowed(_NN):
    def spatial(self, rank: int):
        """(spatial axes, channels_first) of a rank-`rank` input."""
        first = self.arguments["data_format"] == "channels_first"
        return (tuple(range(2, rank)) if first else tuple(range(1, rank - 1))), first

    def check_format(self):
        self.check_choice("padding", ("valid", "same"))
        self.check_choice("data_format", (None, "channels_last", "channels_first"))


class _Pool(_Windowed):
    ARGUMENTS = {"pool_size": REQUIRED, "strides": None, "padding": "valid",
                 "data_format": None}
    mode = "max"

    def check(self):
        self.check_format()
        spatial_tuple(self, self.arguments["pool_size"], 1 if not isinstance(
            self.arguments["pool_size"], list) else len(self.arguments["pool_size"]), "pool_size")

    def window(self, rank: int):
        dims = rank - 2
        pool = spatial_tuple(self, self.arguments["pool_size"], dims, "pool_size")
        strides = pool if self.arguments["strides"] is None else spatial_tuple(
            self, self.arguments["strides"], dims, "strides")
        return pool, strides

    def call(self, inputs):
        pool, strides = self.window(inputs.ndim)
        axes, _ = self.spatial(inputs.ndim)
        work = inputs if inputs.dtype.kind == "f" else inputs.astype(np.float32)
        function = pool_kernels.max_pool if self.mode == "max" else pool_kernels.average_pool
        return function(work, pool, strides, self.arguments["padding"], axes).astype(
            work.dtype, copy=False)

    def output_spec(self, inputs):
        shape, dtype = spec_of(inputs)
        if len(shape) < 3:
            self.fail(f"expects (batch, spatial..., channels) inputs, got {shape}")
        pool, strides = self.window(len(shape))
        axes, _ = self.spatial(len(shape))
        out = list(shape)
        for axis, size, stride in zip(axes, pool, strides):
            out[axis] = pool_kernels.pool_output_size(shape[axis], size, stride,
                                                      self.arguments["padding"])
            if out[axis] is not None and out[axis] < 1:
                self.fail(f"the pool leaves no output for inputs of shape {shape}")
        return tuple(out), float_dtype(dtype)


@register_operation
class MaxPool(_Pool):
    """Max over windows of `pool_size` moved by `strides` (None: the pool size)."""


@register_operation
class AveragePool(_Pool):
    """Mean over windows; with "same" padding only the real cells of a window count."""

    mode = "average"


@register_operation
class Conv(_Windowed):
    """Cross-correlation of the inputs with a `kernel` call argument of shape (*window,
    channels / groups, filters)."""

    ARGUMENTS = {"strides": 1, "padding": "valid", "data_format": None, "dilation_rate": 1}

    def check(self):
        self.check_format()

    def geometry(self, shape, kernel_shape):
        dims = len(shape) - 2
        if len(kernel_shape) != dims + 2:
            self.fail(f"a kernel of shape {tuple(kernel_shape)} does not fit inputs of shape "
                      f"{tuple(shape)}")
        strides = spatial_tuple(self, self.arguments["strides"], dims, "strides")
        dilation = spatial_tuple(self, self.arguments["dilation_rate"], dims, "dilation_rate")
        axes, first = self.spatial(len(shape))
        channels = shape[1] if first else shape[-1]
        if channels is not None and channels % kernel_shape[-2]:
            self.fail(f"{channels} input channels do not split into groups of "
                      f"{kernel_shape[-2]}")
        return strides, dilation, axes, first

    def call(self, inputs, kernel):
        kernel = np.asarray(kernel)
        strides, dilation, axes, first = self.geometry(inputs.shape, kernel.shape)
        work = inputs if inputs.dtype.kind == "f" else inputs.astype(np.float32)
        pads = [conv_kernels.padding_amounts(inputs.shape[axis], kernel.shape[index], stride,
                                             rate, self.arguments["padding"])
                for index, (axis, stride, rate) in enumerate(zip(axes, strides, dilation))]
        channels = inputs.shape[1] if first else inputs.shape[-1]
        groups = channels // kernel.shape[-2]
        return conv_kernels.conv(work, kernel.astype(work.dtype), strides, pads, dilation,
                                 groups, None, channels_first=first)

    def output_spec(self, inputs, kernel):
        shape, dtype = spec_of(inputs)
        kernel_shape = spec_of(kernel)[0]
        strides, dilation, axes, first = self.geometry(shape, kernel_shape)
        out = list(shape)
        for index, (axis, stride, rate) in enumerate(zip(axes, strides, dilation)):
            out[axis] = conv_kernels.conv_output_length(shape[axis], kernel_shape[index], stride,
                                                        rate, self.arguments["padding"])
        out[1 if first else -1] = kernel_shape[-1]
        return tuple(out), float_dtype(dtype)


@register_operation
class DepthwiseConv(Conv):
    """Each input channel convolved with its own `kernel` filters ((*window, channels,
    multiplier)), outputs grouped by channel."""

    def _grouped(self, kernel):
        kernel = np.asarray(kernel)
        return kernel.reshape(kernel.shape[:-2] + (1, kernel.shape[-2] * kernel.shape[-1]))

    def call(self, inputs, kernel):
        return Conv.call(self, inputs, self._grouped(kernel))

    def output_spec(self, inputs, kernel):
        shape = tuple(spec_of(kernel)[0])
        grouped = shape[:-2] + (1, None if None in shape[-2:] else shape[-2] * shape[-1])
        return Conv.output_spec(self, inputs, SymbolicTensor(grouped, "float32"))


class _Blocks(_NN):
    ARGUMENTS = {"block_size": REQUIRED, "data_format": "channels_last"}

    def check(self):
        self.check_int("block_size", minimum=1)
        self.check_choice("data_format", ("channels_last", "channels_first"))

    def nhwc(self, x):
        return x if self.arguments["data_format"] == "channels_last" else \
            np.transpose(x, (0, 2, 3, 1))

    def back(self, y):
        return y if self.arguments["data_format"] == "channels_last" else \
            np.transpose(y, (0, 3, 1, 2))

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        if len(shape) != 4:
            self.fail(f"expects 4-D images, got shape {shape}")
        last = self.arguments["data_format"] == "channels_last"
        n, h, w, c = shape if last else (shape[0], shape[2], shape[3], shape[1])
        h, w, c = self.sizes(h, w, c)
        return ((n, h, w, c) if last else (n, c, h, w)), dtype


@register_operation
class DepthToSpace(_Blocks):
    """Channels moved into `block_size` x `block_size` spatial blocks (TensorFlow's order)."""

    def sizes(self, h, w, c):
        b = self.arguments["block_size"]
        if c is not None and c % (b * b):
            self.fail(f"{c} channels do not split into {b}x{b} blocks")
        return (None if h is None else h * b, None if w is None else w * b,
                None if c is None else c // (b * b))

    def call(self, x):
        b = self.arguments["block_size"]
        n, h, w, c = self.nhwc(x).shape
        y = self.nhwc(x).reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5)
        return self.back(y.reshape(n, h * b, w * b, c // (b * b)))


@register_operation
class SpaceToDepth(_Blocks):
    """`block_size` x `block_size` spatial blocks moved into channels (TensorFlow's order)."""

    def sizes(self, h, w, c):
        b = self.arguments["block_size"]
        for size in (h, w):
            if size is not None and size % b:
                self.fail(f"a spatial size {size} does not split into blocks of {b}")
        return (None if h is None else h // b, None if w is None else w // b,
                None if c is None else c * b * b)

    def call(self, x):
        b = self.arguments["block_size"]
        n, h, w, c = self.nhwc(x).shape
        y = self.nhwc(x).reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
        return self.back(y.reshape(n, h // b, w // b, c * b * b))


@register_operation
class DotProductAttention(_NN):
    """`softmax(q k^T * scale) v` over (batch, steps, heads, head_dim) query, key and value
    (scale None: 1 / sqrt(head_dim)); `is_causal` masks future keys. Masks, biases and a
    logits soft cap are refused."""

    ARGUMENTS = {"is_causal": False, "flash_attention": None, "attn_logits_soft_cap": None}

    def check(self):
        if not isinstance(self.arguments["is_causal"], bool):
            self.fail("is_causal must be true or false")
        if self.arguments["attn_logits_soft_cap"] is not None:
            self.fail("attn_logits_soft_cap is not supported")

    def _check(self, bias, mask, scale):
        if bias is not None or mask is not None:
            self.fail("attention biases and masks are not supported")
        if scale is not None and not isinstance(scale, (int, float)):
            self.fail(f"scale must be a number or null, got {scale!r}")

    def call(self, query, key, value, bias=None, mask=None, scale=None):
        self._check(bias, mask, scale)
        dtype = query.dtype
        scale = 1 / np.sqrt(query.shape[-1]) if scale is None else scale
        logits = np.einsum("btnh,bsnh->bnts", query, key) * np.asarray(scale, dtype)
        if self.arguments["is_causal"]:
            steps, keys = logits.shape[-2:]
            allowed = np.tril(np.ones((steps, keys), bool))
            logits = np.where(allowed, logits, np.finfo(dtype).min)
        weights = activation_kernels.KERAS3_ACTIVATIONS["softmax"](logits)
        return np.einsum("bnts,bsnh->btnh", weights, value).astype(dtype, copy=False)

    def output_spec(self, query, key, value, bias=None, mask=None, scale=None):
        self._check(bias, mask, scale)
        q, k, v = (spec_of(item)[0] for item in (query, key, value))
        if not len(q) == len(k) == len(v) == 4:
            self.fail("expects (batch, steps, heads, head_dim) query, key and value")
        return tuple(q[:3]) + (v[3],), spec_of(query)[1]


@register_operation
class Sparsemax(_NN):
    """Sparsemax along `axis`: the Euclidean projection onto the probability simplex."""

    ARGUMENTS = {"axis": -1}

    def check(self):
        self.check_int("axis")

    def call(self, x):
        axis = normalize_axis(self, self.arguments["axis"], x.ndim)
        moved = np.moveaxis(x, axis, -1)
        result = activation_kernels.KERAS3_ACTIVATIONS["sparsemax"](moved)
        return np.moveaxis(result, -1, axis).astype(x.dtype, copy=False)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        normalize_axis(self, self.arguments["axis"], len(shape))
        return shape, float_dtype(dtype)


@register_operation
class MultiHot(_NN):
    """Multi-hot vectors of `num_classes`: the one-hot vectors of integer `inputs` (classes at
    `axis`) combined over axis 1 (axis 0 for vectors), as Keras computes them."""

    ARGUMENTS = {"num_classes": None, "axis": -1, "dtype": None, "sparse": False}

    def check(self):
        self.check_int("num_classes", minimum=1)
        self.check_int("axis")
        if self.arguments["sparse"]:
            self.fail("sparse multi-hot tensors are not supported")

    def call(self, inputs):
        inputs = np.asarray(inputs)
        classes = np.arange(self.arguments["num_classes"])
        hot = inputs[..., None] == classes
        hot = np.moveaxis(hot, -1, normalize_axis(self, self.arguments["axis"], hot.ndim))
        hot = np.any(hot, axis=1 if inputs.ndim > 1 else 0)
        return hot.astype(self.output_spec(inputs)[1])

    def output_spec(self, inputs):
        shape = list(spec_of(inputs)[0])
        axis = normalize_axis(self, self.arguments["axis"], len(shape) + 1)
        shape.insert(axis, self.arguments["num_classes"])
        del shape[1 if len(shape) > 2 else 0]
        return tuple(shape), self.arguments["dtype"] or "float32"
