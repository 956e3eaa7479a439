"""Layers that carry ONNX ops' semantics where no Keras layer has them (made by the ONNX importer).

Unlike Keras layers they may act on the batch axis (an ONNX graph has no batch axis of its own),
keep every dtype they are given (no cast to the layer's float policy) and take constant operands:
`constants=[{"index": 1, "shape": [4], "dtype": "float32"}]` says operand 1 is a weight
`constant_0` of that shape, saved with the model's weights, and the tensors fill the other places.
"""

import math

import numpy as np

from ..errors import ConfigError, GraphError
from ..graph import Layer, register_layer
from ..graph.tensor import SymbolicTensor
from ..kernels import activations as kernels

__all__ = [
    "OnnxCast", "OnnxConcat", "OnnxConstantOfShape", "OnnxElementwise", "OnnxExpand",
    "OnnxFlatten",
    "OnnxGather", "OnnxGemm", "OnnxMatMul", "OnnxRange", "OnnxReduce", "OnnxReshape", "OnnxShape",
    "OnnxSlice", "OnnxSoftmax", "OnnxSqueeze", "OnnxTranspose", "OnnxUnary", "OnnxUnsqueeze",
    "broadcast_shapes",
]


def broadcast_shapes(shapes, where: str = "") -> tuple:
    """numpy broadcasting of shapes whose dims may be None (unknown)."""
    rank = max((len(shape) for shape in shapes), default=0)
    result = []
    for axis in range(rank):
        dims = [shape[axis - rank + len(shape)] for shape in shapes if axis - rank + len(shape) >= 0]
        known = {dim for dim in dims if dim is not None and dim != 1}
        if len(known) > 1:
            raise ConfigError(f"{where}shapes {[tuple(shape) for shape in shapes]} do not broadcast")
        if known:
            result.append(known.pop())
        elif any(dim is None for dim in dims):
            result.append(None)
        else:
            result.append(1)
    return tuple(result)


def _check_axes(value, name: str, layer_name: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(item, int) and not isinstance(item, bool) for item in value):
        raise ConfigError(f"layer '{layer_name}': {name} must be a list of integers, got {value!r}")
    return [int(item) for item in value]


def _positive_axis(axis: int, rank: int, layer_name: str) -> int:
    if not -rank <= axis < rank:
        raise ConfigError(f"layer '{layer_name}': axis {axis} is out of range for rank {rank}")
    return axis % rank


class OnnxLayer(Layer):
    """Base of the ONNX op layers: constant operands held as weights, dtypes kept as given."""

    _keras_module = "modelio.layers.onnx"

    def __init__(self, constants=None, **kwargs):
        super().__init__(**kwargs)
        self.constants = self._checked_constants(constants)
        if not self.constants:
            self.built = True

    def _checked_constants(self, constants) -> list:
        if constants is None:
            return []
        if not isinstance(constants, (list, tuple)):
            raise ConfigError(f"layer '{self.name}': constants must be a list, got {constants!r}")
        checked = []
        for spec in constants:
            if not isinstance(spec, dict) or set(spec) != {"index", "shape", "dtype"}:
                raise ConfigError(f"layer '{self.name}': each constant is "
                                  f"{{index, shape, dtype}}, got {spec!r}")
            shape = _check_axes(spec["shape"], "a constant's shape", self.name)
            if any(dim < 0 for dim in shape) or not isinstance(spec["index"], int):
                raise ConfigError(f"layer '{self.name}': bad constant {spec!r}")
            try:
                dtype = np.dtype(spec["dtype"]).name
            except TypeError as exc:
                raise ConfigError(f"layer '{self.name}': bad constant dtype {spec['dtype']!r}") from exc
            checked.append({"index": spec["index"], "shape": shape, "dtype": dtype})
        return sorted(checked, key=lambda spec: spec["index"])

    def build(self, input_shape):
        for number, spec in enumerate(self.constants):
            self.add_weight(f"constant_{number}", spec["shape"], dtype=spec["dtype"],
                            trainable=False)

    def get_config(self) -> dict:
        config = super().get_config()
        if self.constants:
            config["constants"] = [dict(spec) for spec in self.constants]
        return config

    # ----- operands: the tensors with the constants put in their places -----
    def _merge(self, tensors: list, constants: list) -> list:
        operands = list(tensors)
        for spec, value in zip(self.constants, constants):
            operands.insert(spec["index"], value)
        return operands

    def operands(self, inputs) -> list:
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        return self._merge(tensors, [weight.value for weight in self._weights])

    def operand_shapes(self, input_shape) -> list:
        shapes = list(input_shape) if _is_shape_list(input_shape) else [input_shape]
        return self._merge([tuple(shape) for shape in shapes],
                           [tuple(spec["shape"]) for spec in self.constants])

    def operand_dtypes(self, inputs) -> list:
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        return self._merge([tensor.dtype for tensor in tensors],
                           [spec["dtype"] for spec in self.constants])

    # ----- shapes and dtypes -----
    def compute_output_spec(self, *args, **kwargs):
        inputs = args[0]
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        input_shape = [tensor.shape for tensor in tensors] if isinstance(inputs, (list, tuple)) \
            else inputs.shape
        shape = self._checked_output_shape(input_shape)
        with self._shape_errors(input_shape):
            dtype = self.output_dtype(self.operand_dtypes(inputs))
        return SymbolicTensor(shape, dtype)

    def output_dtype(self, dtypes: list) -> str:
        """The dtype of the output for operands of `dtypes` (default: the first one's)."""
        return np.dtype(dtypes[0]).name

    def _sampled_dtype(self, dtypes: list) -> str:
        """The dtype `compute` gives for one-element operands of `dtypes`."""
        samples = [np.ones((1,), dtype=dtype) for dtype in dtypes]
        return np.asarray(self.compute(samples)).dtype.name

    def _to_array(self, value):
        return None if value is None else np.asarray(value)

    def call(self, inputs):
        operands = self.operands(inputs)
        try:
            return self.compute(operands)
        except (ValueError, TypeError, IndexError) as exc:
            shapes = [np.shape(operand) for operand in operands]
            raise GraphError(f"layer '{self.name}' ({type(self).__name__}) cannot compute on "
                             f"operands of shapes {shapes}: {exc}") from exc

    def compute(self, operands: list) -> np.ndarray:
        """The op's result for `operands` (numpy arrays, constants in their places)."""
        raise NotImplementedError


def _is_shape_list(value) -> bool:
    return isinstance(value, list) or (isinstance(value, tuple) and value and all(
        isinstance(item, (tuple, list)) for item in value))


def _onnx_div(a, b):
    if np.issubdtype(np.result_type(a, b), np.integer):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.trunc(np.true_divide(a, b)).astype(np.result_type(a, b))
    return np.divide(a, b)


def _onnx_pow(a, b):
    a = np.asarray(a)
    with np.errstate(all="ignore"):
        return np.power(a, np.asarray(b).astype(a.dtype) if a.dtype.kind == "f" else b).astype(a.dtype)


def _reduce(function):
    def apply(*operands):
        result = operands[0]
        for operand in operands[1:]:
            result = function(result, operand)
        return result
    return apply


def _mean(*operands):
    return _reduce(np.add)(*operands) / np.asarray(len(operands), dtype=np.result_type(*operands))


def _prelu(x, slope):
    return np.where(x < 0, x * slope, x).astype(x.dtype)


# ONNX op -> numpy function of the operands (numpy broadcasting is ONNX's multidirectional one).
ELEMENTWISE_OPS = {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": _onnx_div, "Pow": _onnx_pow,
    "Max": _reduce(np.maximum), "Min": _reduce(np.minimum), "Sum": _reduce(np.add), "Mean": _mean,
    "Equal": np.equal, "Less": np.less, "Greater": np.greater, "LessOrEqual": np.less_equal,
    "GreaterOrEqual": np.greater_equal, "And": np.logical_and, "Or": np.logical_or,
    "Xor": np.logical_xor, "Where": np.where, "PRelu": _prelu,
}
VARIADIC_OPS = {"Max", "Min", "Sum", "Mean"}


@register_layer()
class OnnxElementwise(OnnxLayer):
    """An ONNX elementwise op over 2 or more operands with numpy broadcasting: `op` is one of
    Add, Sub, Mul, Div, Pow, Max, Min, Sum, Mean, Equal, Less, Greater, LessOrEqual,
    GreaterOrEqual, And, Or, Xor, Where, PRelu."""

    def __init__(self, op, constants=None, **kwargs):
        super().__init__(constants=constants, **kwargs)
        if op not in ELEMENTWISE_OPS:
            raise ConfigError(f"layer '{self.name}' (OnnxElementwise): unknown op {op!r}; expected "
                              f"one of {', '.join(ELEMENTWISE_OPS)}")
        self.op = op

    def compute_output_shape(self, input_shape):
        shapes = self.operand_shapes(input_shape)
        return broadcast_shapes(shapes, f"layer '{self.name}' ({self.op}): ")

    def output_dtype(self, dtypes):
        return self._sampled_dtype(dtypes)

    def compute(self, operands):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.asarray(ELEMENTWISE_OPS[self.op](*operands))

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op}


def _hard_sigmoid(x, alpha, beta):
    return np.clip(alpha * x + beta, 0, 1).astype(x.dtype)


def _selu(x, alpha, gamma):
    with np.errstate(over="ignore"):
        return (gamma * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))).astype(x.dtype)


def _elu(x, alpha, _):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype)


def _leaky_relu(x, alpha, _):
    return np.where(x < 0, alpha * x, x).astype(x.dtype)


def _thresholded_relu(x, alpha, _):
    return np.where(x > alpha, x, 0).astype(x.dtype)


def _clip(x, low, high):
    if low is not None:
        x = np.maximum(x, np.asarray(low).astype(x.dtype))
    if high is not None:
        x = np.minimum(x, np.asarray(high).astype(x.dtype))
    return x


def _as_x(function):
    def apply(x, *_):
        return np.asarray(function(x)).astype(np.asarray(x).dtype, copy=False)
    return apply


def _softsign(x):
    return x / (1 + np.abs(x))


def _reciprocal(x):
    with np.errstate(divide="ignore"):
        return 1 / x


# op -> function(x, alpha, beta); alpha/beta are the op's attributes (None when it has none).
UNARY_OPS = {
    "Relu": _as_x(lambda x: np.maximum(x, 0)), "Sigmoid": _as_x(kernels.sigmoid),
    "Tanh": _as_x(np.tanh), "Exp": _as_x(np.exp), "Log": _as_x(np.log), "Sqrt": _as_x(np.sqrt),
    "Abs": _as_x(np.abs), "Neg": _as_x(np.negative), "Reciprocal": _as_x(_reciprocal),
    "Floor": _as_x(np.floor), "Ceil": _as_x(np.ceil), "Sign": _as_x(np.sign),
    "Round": _as_x(np.round), "Erf": _as_x(kernels.erf), "Softplus": _as_x(kernels.softplus),
    "Softsign": _as_x(_softsign), "Sin": _as_x(np.sin), "Cos": _as_x(np.cos),
    "Not": lambda x, *_: np.logical_not(x), "IsNaN": lambda x, *_: np.isnan(x),
    "Gelu": lambda x, approximate, _: kernels.gelu(x, approximate == "tanh").astype(x.dtype),
    "HardSigmoid": _hard_sigmoid, "Selu": _selu, "Elu": _elu, "LeakyRelu": _leaky_relu,
    "ThresholdedRelu": _thresholded_relu, "Clip": _clip,
}


@register_layer()
class OnnxUnary(OnnxLayer):
    """An ONNX one-operand op: `op` with its attributes `alpha` and `beta` (HardSigmoid's alpha
    and beta, Selu's alpha and gamma, Clip's min and max, Gelu's approximate as alpha...)."""

    def __init__(self, op, alpha=None, beta=None, **kwargs):
        super().__init__(**kwargs)
        if op not in UNARY_OPS:
            raise ConfigError(f"layer '{self.name}' (OnnxUnary): unknown op {op!r}")
        for name, value in (("alpha", alpha), ("beta", beta)):
            if value is not None and not isinstance(value, (int, float, str)):
                raise ConfigError(f"layer '{self.name}' (OnnxUnary): {name} must be a number, "
                                  f"got {value!r}")
        self.op, self.alpha, self.beta = op, alpha, beta

    def output_dtype(self, dtypes):
        return self._sampled_dtype(dtypes)

    def compute(self, operands):
        with np.errstate(all="ignore"):
            return np.asarray(UNARY_OPS[self.op](operands[0], self.alpha, self.beta))

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op, "alpha": self.alpha, "beta": self.beta}


@register_layer()
class OnnxCast(OnnxLayer):
    """ONNX Cast: the input converted to `dtype` (a numpy dtype name)."""

    def __init__(self, to, **kwargs):
        super().__init__(**kwargs)
        try:
            self.to = np.dtype(to).name
        except TypeError as exc:
            raise ConfigError(f"layer '{self.name}' (OnnxCast): unknown dtype {to!r}") from exc

    def compute(self, operands):
        with np.errstate(all="ignore"):
            return np.asarray(operands[0]).astype(self.to)

    def output_dtype(self, dtypes):
        return self.to

    def get_config(self) -> dict:
        return {**super().get_config(), "to": self.to}


def _matmul_shape(a, b, where):
    if len(a) == 0 or len(b) == 0:
        raise ConfigError(f"{where}MatMul needs operands of rank >= 1, got {a} and {b}")
    a2 = (1, *a) if len(a) == 1 else tuple(a)
    b2 = (*b, 1) if len(b) == 1 else tuple(b)
    if None not in (a2[-1], b2[-2]) and a2[-1] != b2[-2]:
        raise ConfigError(f"{where}MatMul of shapes {a} and {b}: inner dimensions differ")
    batch = broadcast_shapes([a2[:-2], b2[:-2]], where)
    shape = (*batch, a2[-2], b2[-1])
    if len(a) == 1:
        shape = shape[:-2] + shape[-1:]
    if len(b) == 1:
        shape = shape[:-1]
    return shape


@register_layer()
class OnnxMatMul(OnnxLayer):
    """ONNX MatMul (numpy matmul) of two operands, one of which may be a constant."""

    def compute_output_shape(self, input_shape):
        a, b = self.operand_shapes(input_shape)
        return _matmul_shape(a, b, f"layer '{self.name}': ")

    def output_dtype(self, dtypes):
        return self._sampled_dtype(dtypes)

    def compute(self, operands):
        return np.matmul(operands[0], operands[1])


@register_layer()
class OnnxGemm(OnnxLayer):
    """ONNX Gemm: `alpha * A' @ B' + beta * C` with A' = A.T when `trans_a`, B' likewise."""

    def __init__(self, alpha=1.0, beta=1.0, trans_a=0, trans_b=0, constants=None, **kwargs):
        super().__init__(constants=constants, **kwargs)
        self.alpha, self.beta = float(alpha), float(beta)
        self.trans_a, self.trans_b = int(trans_a), int(trans_b)

    def compute_output_shape(self, input_shape):
        shapes = self.operand_shapes(input_shape)
        a, b = shapes[0], shapes[1]
        if len(a) != 2 or len(b) != 2:
            raise ConfigError(f"layer '{self.name}' (OnnxGemm): A and B must be 2-D, got {a}, {b}")
        rows = a[1] if self.trans_a else a[0]
        columns = b[0] if self.trans_b else b[1]
        return (rows, columns)

    def output_dtype(self, dtypes):
        return self._sampled_dtype(dtypes)

    def compute(self, operands):
        a, b = operands[0], operands[1]
        a = a.T if self.trans_a else a
        b = b.T if self.trans_b else b
        result = np.asarray(self.alpha, a.dtype) * (a @ b)
        if len(operands) > 2 and operands[2] is not None and self.beta != 0:
            result = result + np.asarray(self.beta, a.dtype) * operands[2]
        return result.astype(a.dtype, copy=False)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta,
                "trans_a": self.trans_a, "trans_b": self.trans_b}


@register_layer()
class OnnxTranspose(OnnxLayer):
    """ONNX Transpose with a full permutation `perm` (the first axis included)."""

    def __init__(self, perm, **kwargs):
        super().__init__(**kwargs)
        self.perm = _check_axes(perm, "perm", self.name)
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
        self.shape = _check_axes(shape, "shape", self.name, allow_none=True)
        self.allowzero = int(allowzero)

    def compute_output_shape(self, input_shape):
        if self.shape is None:
            _, shape_shape = self.operand_shapes(input_shape)
            return (None,) * _vector_length(shape_shape, self.name)
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


def _vector_length(shape, name: str) -> int:
    """The length of a 1-D run-time parameter (a shape or a list of axes), which must be known."""
    if len(shape) != 1 or shape[0] is None:
        raise ConfigError(f"layer '{name}': a run-time shape or axes operand must be a vector of "
                          f"known length, got shape {tuple(shape)}")
    return shape[0]


def _runtime_ints(value) -> list:
    return [int(item) for item in np.asarray(value).reshape(-1)]


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
class OnnxSqueeze(OnnxLayer):
    """ONNX Squeeze: drop the size-1 `axes` (every size-1 axis when `axes` is None)."""

    def __init__(self, axes=None, **kwargs):
        super().__init__(**kwargs)
        self.axes = _check_axes(axes, "axes", self.name, allow_none=True)

    def _axes(self, shape):
        if self.axes is None:
            if None in shape:
                raise ConfigError(f"layer '{self.name}': Squeeze without axes needs known dims")
            return [axis for axis, dim in enumerate(shape) if dim == 1]
        axes = [_positive_axis(axis, len(shape), self.name) for axis in self.axes]
        if any(shape[axis] not in (1, None) for axis in axes):
            raise ConfigError(f"layer '{self.name}': cannot squeeze axes {self.axes} of {shape}")
        return axes

    def compute_output_shape(self, input_shape):
        if _is_shape_list(input_shape):  # the axes are a run-time operand
            x_shape, axes_shape = input_shape
            return (None,) * (len(x_shape) - _vector_length(axes_shape, self.name))
        axes = self._axes(tuple(input_shape))
        return tuple(dim for axis, dim in enumerate(input_shape) if axis not in axes)

    def compute(self, operands):
        x = operands[0]
        if len(operands) > 1:
            axes = [axis % x.ndim for axis in _runtime_ints(operands[1])]
            return np.squeeze(x, axis=tuple(axes))
        return np.squeeze(x, axis=tuple(self._axes(x.shape)))

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes}


@register_layer()
class OnnxUnsqueeze(OnnxLayer):
    """ONNX Unsqueeze: insert size-1 `axes` (positions in the output)."""

    def __init__(self, axes=None, **kwargs):
        super().__init__(**kwargs)
        self.axes = _check_axes(axes, "axes", self.name, allow_none=True)

    def _output_axes(self, rank, axes):
        out_rank = rank + len(axes)
        axes = sorted(_positive_axis(axis, out_rank, self.name) for axis in axes)
        if len(set(axes)) != len(axes):
            raise ConfigError(f"layer '{self.name}': repeated axes {axes}")
        return axes

    def _unsqueezed(self, shape, axes):
        dims = list(shape)
        for axis in self._output_axes(len(dims), axes):
            dims.insert(axis, 1)
        return tuple(dims)

    def compute_output_shape(self, input_shape):
        if _is_shape_list(input_shape):  # the axes are a run-time operand
            x_shape, axes_shape = input_shape
            return (None,) * (len(x_shape) + _vector_length(axes_shape, self.name))
        if self.axes is None:
            raise ConfigError(f"layer '{self.name}' (OnnxUnsqueeze) needs axes")
        return self._unsqueezed(input_shape, self.axes)

    def compute(self, operands):
        x = operands[0]
        axes = _runtime_ints(operands[1]) if len(operands) > 1 else self.axes
        return np.reshape(x, self._unsqueezed(x.shape, axes))

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes}


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
        axis = _positive_axis(self.axis, rank, self.name)
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
class OnnxGather(OnnxLayer):
    """ONNX Gather: `take(data, indices, axis)` with negative indices counted from the end."""

    def __init__(self, axis=0, constants=None, **kwargs):
        super().__init__(constants=constants, **kwargs)
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        data, indices = self.operand_shapes(input_shape)
        axis = _positive_axis(self.axis, len(data), self.name)
        return (*data[:axis], *indices, *data[axis + 1:])

    def compute(self, operands):
        data, indices = operands
        axis = self.axis % data.ndim
        size = data.shape[axis]
        indices = np.asarray(indices).astype(np.int64)
        if indices.size and (indices.min() < -size or indices.max() >= size):
            raise ConfigError(f"layer '{self.name}' (OnnxGather): an index is out of range "
                              f"[{-size}, {size})")
        return np.take(data, np.where(indices < 0, indices + size, indices), axis=axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


REDUCTIONS = {
    "ReduceMean": np.mean, "ReduceSum": np.sum, "ReduceMax": np.max, "ReduceMin": np.min,
    "ReduceProd": np.prod,
    "ReduceL1": lambda x, axis, keepdims: np.sum(np.abs(x), axis=axis, keepdims=keepdims),
    "ReduceL2": lambda x, axis, keepdims: np.sqrt(np.sum(np.square(x), axis=axis,
                                                         keepdims=keepdims)),
    "ReduceSumSquare": lambda x, axis, keepdims: np.sum(np.square(x), axis=axis,
                                                        keepdims=keepdims),
    "ReduceLogSum": lambda x, axis, keepdims: np.log(np.sum(x, axis=axis, keepdims=keepdims)),
    "ReduceLogSumExp": lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis,
                                                               keepdims=keepdims)),
}


@register_layer()
class OnnxReduce(OnnxLayer):
    """ONNX Reduce* over `axes` (None: every axis, or none at all with `noop_with_empty_axes`)."""

    def __init__(self, op, axes=None, keepdims=1, noop_with_empty_axes=0, **kwargs):
        super().__init__(**kwargs)
        if op not in REDUCTIONS:
            raise ConfigError(f"layer '{self.name}' (OnnxReduce): unknown op {op!r}")
        self.op = op
        self.axes = _check_axes(axes, "axes", self.name, allow_none=True)
        self.keepdims = int(keepdims)
        self.noop_with_empty_axes = int(noop_with_empty_axes)

    def _axes(self, rank):
        if not self.axes:
            return None if not self.noop_with_empty_axes else ()
        return tuple(sorted({_positive_axis(axis, rank, self.name) for axis in self.axes}))

    def compute_output_shape(self, input_shape):
        if _is_shape_list(input_shape):  # the axes are a run-time operand
            x_shape, axes_shape = input_shape
            count = _vector_length(axes_shape, self.name)
            if self.keepdims or (count == 0 and self.noop_with_empty_axes):
                return (None,) * len(x_shape)
            return (None,) * (len(x_shape) - count) if count else ()
        axes = self._axes(len(input_shape))
        if axes == ():
            return tuple(input_shape)
        axes = range(len(input_shape)) if axes is None else axes
        if self.keepdims:
            return tuple(1 if axis in axes else dim for axis, dim in enumerate(input_shape))
        return tuple(dim for axis, dim in enumerate(input_shape) if axis not in axes)

    def compute(self, operands):
        x = operands[0]
        if len(operands) > 1:
            runtime = _runtime_ints(operands[1])
            axes = tuple(sorted({_positive_axis(axis, x.ndim, self.name) for axis in runtime}))
            axes = axes or (() if self.noop_with_empty_axes else None)
        else:
            axes = self._axes(x.ndim)
        if axes == ():
            return x
        if x.size == 0 and self.op in ("ReduceMax", "ReduceMin"):
            fill = _empty_extreme(x.dtype, self.op == "ReduceMax")
            kept = np.sum(x, axis=axes, keepdims=bool(self.keepdims))
            return np.full(kept.shape, fill, dtype=x.dtype)
        with np.errstate(all="ignore"):
            result = REDUCTIONS[self.op](x, axis=axes, keepdims=bool(self.keepdims))
        return np.asarray(result).astype(x.dtype, copy=False)

    def output_dtype(self, dtypes):
        return np.dtype(dtypes[0]).name

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op, "axes": self.axes,
                "keepdims": self.keepdims, "noop_with_empty_axes": self.noop_with_empty_axes}


def _empty_extreme(dtype, maximum: bool):
    """What ReduceMax (`maximum`) or ReduceMin gives over no elements: the identity element."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return not maximum
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return info.min if maximum else info.max
    return -np.inf if maximum else np.inf


@register_layer()
class OnnxSoftmax(OnnxLayer):
    """ONNX Softmax / LogSoftmax (`log`) over `axis`; `coerce_2d` gives the opset < 13 meaning
    (normalize jointly over every axis from `axis` on)."""

    def __init__(self, axis=-1, log=False, coerce_2d=False, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.log, self.coerce_2d = int(axis), bool(log), bool(coerce_2d)

    def compute(self, operands):
        x = operands[0]
        axis = _positive_axis(self.axis, x.ndim, self.name)
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
class OnnxSlice(OnnxLayer):
    """ONNX Slice with fixed `starts`, `ends`, `axes` and `steps` (ONNX's clamping rules)."""

    def __init__(self, starts=None, ends=None, axes=None, steps=None, **kwargs):
        super().__init__(**kwargs)
        if starts is None:  # starts, ends, axes and steps are run-time operands 1 to 4
            self.starts = self.ends = self.axes = self.steps = None
            return
        self.starts = _check_axes(starts, "starts", self.name)
        self.ends = _check_axes(ends, "ends", self.name)
        self.axes = _check_axes(axes, "axes", self.name, allow_none=True)
        self.steps = _check_axes(steps, "steps", self.name, allow_none=True)
        if len(self.ends) != len(self.starts) or any(
                values is not None and len(values) != len(self.starts)
                for values in (self.axes, self.steps)):
            raise ConfigError(f"layer '{self.name}' (OnnxSlice): starts, ends, axes and steps "
                              f"must have the same length")
        if self.steps is not None and 0 in self.steps:
            raise ConfigError(f"layer '{self.name}' (OnnxSlice): a step is 0")

    def slices(self, shape) -> tuple:
        return onnx_slices(shape, self.starts, self.ends, self.axes, self.steps, self.name)

    def compute_output_shape(self, input_shape):
        if self.starts is None:
            shapes = self.operand_shapes(input_shape)
            if len(shapes) != 5:
                raise ConfigError(f"layer '{self.name}': a run-time Slice takes x, starts, ends, "
                                  f"axes and steps, got {len(shapes)} operands")
            return (None,) * len(shapes[0])
        dims = list(input_shape)
        for axis, item in enumerate(self.slices(input_shape)):
            if item != slice(None) and dims[axis] is not None:
                dims[axis] = len(range(*item.indices(dims[axis])))
            elif item != slice(None):
                dims[axis] = None
        return tuple(dims)

    def compute(self, operands):
        x = operands[0]
        if self.starts is None:
            starts, ends, axes, steps = (_runtime_ints(value) for value in operands[1:5])
            if 0 in steps:
                raise ConfigError(f"layer '{self.name}' (OnnxSlice): a step is 0")
            return x[onnx_slices(x.shape, starts, ends, axes, steps, self.name)]
        return x[self.slices(x.shape)]

    def get_config(self) -> dict:
        return {**super().get_config(), "starts": self.starts, "ends": self.ends,
                "axes": self.axes, "steps": self.steps}


def onnx_slices(shape, starts, ends, axes, steps, name: str = "") -> tuple:
    """Python slices for ONNX Slice (python slicing already clamps starts and ends)."""
    rank = len(shape)
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    items = [slice(None)] * rank
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis = _positive_axis(int(axis), rank, name)
        start, end, step = int(start), int(end), int(step)
        # INT64 min/max mean "to the end": Python slicing treats huge values the same way,
        # except a negative end below -dim with a negative step, which must run past index 0.
        if step < 0 and end < -(2**31):
            end = None
        items[axis] = slice(start, end, step)
    return tuple(items)


@register_layer()
class OnnxShape(OnnxLayer):
    """ONNX Shape: the input's shape (dims `start` to `end`) as an int64 vector, at run time."""

    def __init__(self, start=0, end=None, **kwargs):
        super().__init__(**kwargs)
        self.start = int(start)
        self.end = None if end is None else int(end)

    def compute_output_shape(self, input_shape):
        return (len(range(len(input_shape))[self.start:self.end]),)

    def compute(self, operands):
        return np.asarray(operands[0].shape[self.start:self.end], dtype=np.int64)

    def output_dtype(self, dtypes):
        return "int64"

    def get_config(self) -> dict:
        return {**super().get_config(), "start": self.start, "end": self.end}


# Never allocate more than this from a shape computed at run time.
MAX_RUNTIME_ELEMENTS = 2**28


@register_layer()
class OnnxRange(OnnxLayer):
    """ONNX Range of run-time scalars start, limit and delta."""

    def compute_output_shape(self, input_shape):
        return (None,)

    def compute(self, operands):
        start, limit, delta = (np.asarray(value).reshape(()) for value in operands)
        if delta == 0:
            raise ConfigError(f"layer '{self.name}' (OnnxRange): delta is 0")
        count = max(int(np.ceil((limit - start) / delta)), 0)
        if count > MAX_RUNTIME_ELEMENTS:
            raise ConfigError(f"layer '{self.name}' (OnnxRange): {count} elements is too many")
        dtype = np.result_type(start, limit, delta)
        return (start + np.arange(count, dtype=dtype) * delta).astype(dtype)

    def output_dtype(self, dtypes):
        return np.result_type(*dtypes).name


@register_layer()
class OnnxExpand(OnnxLayer):
    """ONNX Expand: the input broadcast against `shape` (None: the shape is a second, run-time
    operand)."""

    def __init__(self, shape=None, **kwargs):
        super().__init__(**kwargs)
        self.shape = _check_axes(shape, "shape", self.name, allow_none=True)

    def compute_output_shape(self, input_shape):
        if self.shape is not None:
            return broadcast_shapes([tuple(input_shape), tuple(self.shape)],
                                    f"layer '{self.name}': ")
        x_shape, shape_shape = self.operand_shapes(input_shape)
        return (None,) * max(len(x_shape), _vector_length(shape_shape, self.name))

    def compute(self, operands):
        x = operands[0]
        shape = self.shape if self.shape is not None else _runtime_ints(operands[1])
        target = np.broadcast_shapes(x.shape, tuple(shape))
        if math.prod(target) > MAX_RUNTIME_ELEMENTS:
            raise ConfigError(f"layer '{self.name}' (OnnxExpand): refusing shape {target}")
        return np.array(np.broadcast_to(x, target))

    def get_config(self) -> dict:
        return {**super().get_config(), "shape": self.shape}


@register_layer()
class OnnxConstantOfShape(OnnxLayer):
    """ONNX ConstantOfShape: a tensor of the shape given by the input vector, filled with `value`
    (a number) in `to` (a numpy dtype name)."""

    def __init__(self, value=0.0, to="float32", **kwargs):
        super().__init__(**kwargs)
        self.value = value
        self.to = np.dtype(to).name

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1 or input_shape[0] is None:
            raise ConfigError(f"layer '{self.name}': the shape input must be a vector of known "
                              f"length, got {input_shape}")
        return (None,) * input_shape[0]

    def compute(self, operands):
        shape = [int(dim) for dim in np.asarray(operands[0]).reshape(-1)]
        if any(dim < 0 for dim in shape) or math.prod(shape) > MAX_RUNTIME_ELEMENTS:
            raise ConfigError(f"layer '{self.name}' (OnnxConstantOfShape): refusing shape {shape}")
        return np.full(shape, self.value, dtype=self.to)

    def output_dtype(self, dtypes):
        return self.to

    def get_config(self) -> dict:
        return {**super().get_config(), "value": self.value, "to": self.to}
