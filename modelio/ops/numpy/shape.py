"""Operations that rearrange a tensor's shape, as `keras.ops.numpy` has them (`expand_dims`,
`squeeze`, `concatenate`, `stack`), and the ONNX twins of `transpose`, `reshape`, `flatten`,
`squeeze` / `expand_dims` (ONNX Squeeze / Unsqueeze), `concatenate`, `broadcast_to` (ONNX
Expand) and `pad`.
"""

import math

import numpy as np

from ...errors import ConfigError, UnsupportedError
from ...graph import register_layer
from ...graph.operation import Operation, broadcast_shapes, spec_of
from ...graph.registry import register_operation
from ...graph.tensor import SymbolicTensor
from ...kernels.padding import PAD_MODES, onnx_pad
from ..onnx_layer import (
    OnnxAxesLayer,
    OnnxLayer,
    int_list,
    positive_axis,
    runtime_ints,
    vector_length,
)
from .reduction import check_axis, reduced_shape

__all__ = [
    "Concatenate", "ExpandDims", "OnnxConcat", "OnnxExpand", "OnnxFlatten", "OnnxPad",
    "OnnxReshape", "OnnxSqueeze", "OnnxTranspose", "OnnxUnsqueeze", "Squeeze", "Stack",
    "concatenate", "expand_dims", "reshape_target",
]


@register_operation
class ExpandDims(Operation):
    """Inserts a size-1 axis at `axis`."""

    _config_arguments = ("axis",)

    def __init__(self, axis, name=None):
        super().__init__(name=name)
        self.axis = check_axis(self, axis, allow_none=False)

    def call(self, x):
        return np.expand_dims(x, self.axis)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        axis = self.axis if self.axis >= 0 else self.axis + len(shape) + 1
        return shape[:axis] + (1,) + shape[axis:], dtype


@register_operation
class Squeeze(Operation):
    """Removes size-1 axes (all of them, or `axis`)."""

    _config_arguments = ("axis",)

    def __init__(self, axis=None, name=None):
        super().__init__(name=name)
        self.axis = check_axis(self, axis)

    def call(self, x):
        return np.squeeze(x, axis=self.axis)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        if self.axis is None:
            return tuple(dim for dim in shape if dim != 1), dtype
        return reduced_shape(shape, self.axis, False), dtype


class _Joining(Operation):
    _config_arguments = ("axis",)

    def __init__(self, axis=0, name=None):
        super().__init__(name=name)
        self.axis = check_axis(self, axis, allow_none=False)

    def _eager_call(self, args: tuple, kwargs: dict):
        return self.call([np.asarray(value) for value in args[0]], **kwargs)


@register_operation
class Concatenate(_Joining):
    """Joins a list of tensors along `axis`."""

    def call(self, xs):
        return np.concatenate(xs, axis=self.axis)

    def output_spec(self, xs):
        specs = [spec_of(x) for x in xs]
        shape = list(specs[0][0])
        if not shape or not -len(shape) <= self.axis < len(shape):
            raise ConfigError(f"concatenate: axis {self.axis} is outside inputs of shape "
                              f"{tuple(shape)}")
        axis = self.axis % len(shape)
        sizes = [spec[0][axis] for spec in specs]
        shape[axis] = None if None in sizes else sum(sizes)
        return tuple(shape), np.result_type(*[spec[1] for spec in specs]).name


@register_operation
class Stack(_Joining):
    """Stacks a list of same-shaped tensors along a new `axis`."""

    def call(self, xs):
        return np.stack(xs, axis=self.axis)

    def output_spec(self, xs):
        shape, dtype = spec_of(xs[0])
        axis = self.axis if self.axis >= 0 else self.axis + len(shape) + 1
        return shape[:axis] + (len(xs),) + shape[axis:], dtype


def expand_dims(x, axis):
    """`x` with a size-1 axis inserted at `axis` (an ExpandDims node on symbolic tensors)."""
    return ExpandDims(axis=axis)(x)


def concatenate(xs, axis=0):
    """The tensors `xs` joined along `axis` (a Concatenate node on symbolic tensors)."""
    return Concatenate(axis=axis)(list(xs))


@register_layer()
class OnnxTranspose(OnnxLayer):
    """ONNX Transpose with a full permutation `perm` (the first axis included)."""

    def __init__(self, perm, **kwargs):
        super().__init__(**kwargs)
        self.perm = int_list(perm, "perm", self.name)
        if sorted(self.perm) != list(range(len(self.perm))):
            raise ConfigError(f"layer '{self.name}' (OnnxTranspose): perm {perm} is not a "
                              f"permutation")

    def compute_output_shape(self, input_shape):
        if len(input_shape) != len(self.perm):
            raise ConfigError(f"layer '{self.name}': perm {self.perm} does not fit {input_shape}")
        return tuple(input_shape[axis] for axis in self.perm)

    def compute(self, operands):
        return np.transpose(operands[0], self.perm)

    def get_config(self) -> dict:
        return {**super().get_config(), "perm": self.perm}


def reshape_target(input_shape, shape, allowzero, where: str = "") -> tuple:
    """The output shape of ONNX Reshape (0 copies the input dim unless `allowzero`; one -1)."""
    dims = []
    for axis, dim in enumerate(shape):
        if dim == 0 and not allowzero:
            if axis >= len(input_shape):
                raise ConfigError(f"{where}Reshape copies dim {axis} of {input_shape}, which has none")
            dims.append(input_shape[axis])
        else:
            dims.append(dim)
    if sum(dim == -1 for dim in dims) > 1 or any(dim is not None and dim < -1 for dim in dims):
        raise ConfigError(f"{where}Reshape to {list(shape)}: at most one -1 and no other negatives")
    if -1 in dims:
        known = [dim for dim in dims if dim != -1]
        total = None if None in input_shape else math.prod(input_shape)
        if total is not None and None not in known:
            rest = math.prod(known)
            if rest == 0 or total % rest:
                raise ConfigError(f"{where}cannot reshape {input_shape} to {list(shape)}")
            dims[dims.index(-1)] = total // rest
        else:
            dims[dims.index(-1)] = None
    elif None not in input_shape and None not in dims and math.prod(dims) != math.prod(input_shape):
        raise ConfigError(f"{where}cannot reshape {input_shape} to {list(shape)}")
    return tuple(dims)


@register_layer()
class OnnxReshape(OnnxLayer):
    """ONNX Reshape to `shape` over all axes (0 copies an input dim unless `allowzero`). With
    `shape=None` the target shape is a second, run-time operand."""

    def __init__(self, shape=None, allowzero=0, **kwargs):
        super().__init__(**kwargs)
        self.shape = int_list(shape, "shape", self.name, allow_none=True)
        self.allowzero = int(allowzero)

    def compute_output_shape(self, input_shape):
        if self.shape is None:
            _, shape_shape = self.operand_shapes(input_shape)
            return (None,) * vector_length(shape_shape, self.name)
        return reshape_target(tuple(input_shape), self.shape, self.allowzero,
                              f"layer '{self.name}': ")

    def compute(self, operands):
        x = operands[0]
        shape = self.shape if self.shape is not None else \
            [int(dim) for dim in np.asarray(operands[1]).reshape(-1)]
        target = reshape_target(x.shape, shape, self.allowzero, f"layer '{self.name}': ")
        return np.reshape(x, target)

    def get_config(self) -> dict:
        return {**super().get_config(), "shape": self.shape, "allowzero": self.allowzero}


def _product(dims):
    return None if None in dims else math.prod(dims)


@register_layer()
class OnnxFlatten(OnnxLayer):
    """ONNX Flatten: a 2-D output (prod(dims before axis), prod(dims from axis))."""

    def __init__(self, axis=1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        axis = self.axis + len(input_shape) if self.axis < 0 else self.axis
        if not 0 <= axis <= len(input_shape):
            raise ConfigError(f"layer '{self.name}': axis {self.axis} is out of range")
        return (_product(input_shape[:axis]), _product(input_shape[axis:]))

    def compute(self, operands):
        x = operands[0]
        axis = self.axis + x.ndim if self.axis < 0 else self.axis
        return np.reshape(x, (math.prod(x.shape[:axis]), math.prod(x.shape[axis:])))

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


@register_layer()
class OnnxSqueeze(OnnxAxesLayer):
    """ONNX Squeeze: drop the size-1 `axes` (every size-1 axis when `axes` is None)."""

    def _axes(self, shape):
        if self.axes is None:
            if None in shape:
                raise ConfigError(f"layer '{self.name}': Squeeze without axes needs known dims")
            return [axis for axis, dim in enumerate(shape) if dim == 1]
        axes = [positive_axis(axis, len(shape), self.name) for axis in self.axes]
        if any(shape[axis] not in (1, None) for axis in axes):
            raise ConfigError(f"layer '{self.name}': cannot squeeze axes {self.axes} of {shape}")
        return axes

    def compute_output_shape(self, input_shape):
        runtime = self.runtime_axes_count(input_shape)
        if runtime is not None:
            x_shape, count = runtime
            return (None,) * (len(x_shape) - count)
        axes = self._axes(tuple(input_shape))
        return tuple(dim for axis, dim in enumerate(input_shape) if axis not in axes)

    def compute(self, operands):
        x, runtime = operands[0], self.runtime_axes(operands)
        if runtime is not None:
            return np.squeeze(x, axis=tuple(axis % x.ndim for axis in runtime))
        return np.squeeze(x, axis=tuple(self._axes(x.shape)))


@register_layer()
class OnnxUnsqueeze(OnnxAxesLayer):
    """ONNX Unsqueeze: insert size-1 `axes` (positions in the output)."""

    def _output_axes(self, rank, axes):
        out_rank = rank + len(axes)
        axes = sorted(positive_axis(axis, out_rank, self.name) for axis in axes)
        if len(set(axes)) != len(axes):
            raise ConfigError(f"layer '{self.name}': repeated axes {axes}")
        return axes

    def _unsqueezed(self, shape, axes):
        dims = list(shape)
        for axis in self._output_axes(len(dims), axes):
            dims.insert(axis, 1)
        return tuple(dims)

    def compute_output_shape(self, input_shape):
        runtime = self.runtime_axes_count(input_shape)
        if runtime is not None:
            x_shape, count = runtime
            return (None,) * (len(x_shape) + count)
        if self.axes is None:
            raise ConfigError(f"layer '{self.name}' (OnnxUnsqueeze) needs axes")
        return self._unsqueezed(input_shape, self.axes)

    def compute(self, operands):
        x = operands[0]
        axes = self.runtime_axes(operands)
        return np.reshape(x, self._unsqueezed(x.shape, self.axes if axes is None else axes))


@register_layer()
class OnnxConcat(OnnxLayer):
    """ONNX Concat along `axis` (any axis, the first included; constants may be operands)."""

    def __init__(self, axis, constants=None, **kwargs):
        super().__init__(constants=constants, **kwargs)
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        shapes = self.operand_shapes(input_shape)
        rank = len(shapes[0])
        if any(len(shape) != rank for shape in shapes):
            raise ConfigError(f"layer '{self.name}': Concat operands differ in rank: {shapes}")
        axis = positive_axis(self.axis, rank, self.name)
        dims = []
        for index in range(rank):
            column = [shape[index] for shape in shapes]
            if index == axis:
                dims.append(_sum_or_none(column))
            else:
                known = {dim for dim in column if dim is not None}
                if len(known) > 1:
                    raise ConfigError(f"layer '{self.name}': Concat operands {shapes} differ "
                                      f"off axis {self.axis}")
                dims.append(known.pop() if known else None)
        return tuple(dims)

    def compute(self, operands):
        return np.concatenate(operands, axis=self.axis)

    def output_dtype(self, dtypes):
        return np.result_type(*dtypes).name

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


def _sum_or_none(dims):
    return None if None in dims else sum(dims)


@register_layer()
class OnnxExpand(OnnxLayer):
    """ONNX Expand: the input broadcast against `shape` (None: the shape is a second, run-time
    operand)."""

    def __init__(self, shape=None, **kwargs):
        super().__init__(**kwargs)
        self.shape = int_list(shape, "shape", self.name, allow_none=True)

    def compute_output_shape(self, input_shape):
        if self.shape is not None:
            return broadcast_shapes(tuple(input_shape), tuple(self.shape),
                                    where=f"layer '{self.name}': ")
        x_shape, shape_shape = self.operand_shapes(input_shape)
        return (None,) * max(len(x_shape), vector_length(shape_shape, self.name))

    def compute(self, operands):
        x = operands[0]
        shape = self.shape if self.shape is not None else runtime_ints(operands[1])
        target = np.broadcast_shapes(x.shape, tuple(shape))
        self.check_result_size(target, x.dtype)
        return np.array(np.broadcast_to(x, target))

    def get_config(self) -> dict:
        return {**super().get_config(), "shape": self.shape}


@register_layer()
class OnnxPad(OnnxLayer):
    """ONNX Pad with fixed `pads` (begins then ends, one per axis; negative ones crop) in `mode`
    'constant' (filled with `constant_value`), 'reflect', 'edge' or 'wrap'. The batch entries must
    be 0."""

    keeps_dtypes = False
    MODES = PAD_MODES  # what `mode` may be

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
        if mode not in self.MODES:
            raise ConfigError(f"layer '{self.name}' (OnnxPad): mode must be one of "
                              f"{sorted(self.MODES)}, got {mode!r}")
        self.mode = mode
        self.constant_value = float(constant_value)

    def compute_output_shape(self, input_shape):
        rank = len(self.pads) // 2
        self._check_rank(input_shape, rank)
        shape = [None if size is None else size + self.pads[axis] + self.pads[axis + rank]
                 for axis, size in enumerate(input_shape)]
        if any(size is not None and size < 0 for size in shape):
            raise ConfigError(f"layer '{self.name}' (OnnxPad): pads {self.pads} crop more than "
                              f"inputs of shape {tuple(input_shape)} hold")
        return tuple(shape)

    def compute_output_spec(self, inputs, *args, **kwargs):
        """Float inputs follow the layer's float policy; others (integers, bool) keep their
        dtype, as `call` does."""
        spec = super().compute_output_spec(inputs, *args, **kwargs)
        if np.dtype(inputs.dtype).kind == "f":
            return spec
        return SymbolicTensor(spec.shape, inputs.dtype)

    def call(self, inputs):
        self.check_result_size(self.compute_output_shape(inputs.shape), inputs.dtype)
        return onnx_pad(inputs, self.pads, self.mode, self.constant_value)

    def get_config(self) -> dict:
        return {**super().get_config(), "pads": self.pads, "mode": self.mode,
                "constant_value": self.constant_value}
