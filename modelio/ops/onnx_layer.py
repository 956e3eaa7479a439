"""OnnxLayer: the base of the layers that carry an ONNX op's semantics where neither a Keras layer
nor a composition of Keras operations has them (made by the ONNX importer, README lists them).

Every such layer keeps the ONNX op's attributes as its config and lowers back to the same ONNX
op. Unlike Keras layers they may act on the batch axis (an ONNX graph has no batch axis of its
own). Two kinds derive from the base:

* operand ops (`keeps_dtypes = True`, the default) compute `compute(operands)` on numpy arrays,
  keep every dtype they are given (no cast to the layer's float policy, the output dtype is
  `output_dtype(operand dtypes)`) and may take constant operands:
  `constants=[{"index": 1, "shape": [4], "dtype": "float32"}]` says operand 1 is a weight
  `constant_0` of that shape, saved with the model's weights, and the tensors fill the other
  places;
* layers with float math and weights of their own (convolutions, pooling, normalization, resize;
  `keeps_dtypes = False`) override `call` and compute in the layer's float dtype, as Keras
  layers do.
"""

import math

import numpy as np

from ..errors import ConfigError, GraphError
from ..graph import Layer
from ..graph.tensor import SymbolicTensor
from ..graph.weights import Weight

__all__ = ["MAX_RUNTIME_BYTES", "OnnxAxesLayer", "OnnxLayer", "int_list", "is_shape_list", "positive_axis",
           "runtime_ints", "vector_length"]

# No result whose size is known only at run time (a run-time shape, or inputs of unknown size)
# may take more bytes than this: 2**28 float32 values, as many as a folded constant may hold.
MAX_RUNTIME_BYTES = 2**30


def int_list(value, name: str, layer_name: str, allow_none: bool = False) -> list[int] | None:
    """`value` (a list or tuple of ints; None too with `allow_none`) as a list of ints; anything
    else is a ConfigError naming layer `layer_name` and its argument `name`."""
    if value is None and allow_none:
        return None
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(item, int) and not isinstance(item, bool) for item in value):
        raise ConfigError(f"layer '{layer_name}': {name} must be a list of integers, got {value!r}")
    return [int(item) for item in value]


def positive_axis(axis: int, rank: int, layer_name: str) -> int:
    """`axis` of a rank-`rank` tensor counted from 0; out of range is a ConfigError."""
    if not -rank <= axis < rank:
        raise ConfigError(f"layer '{layer_name}': axis {axis} is out of range for rank {rank}")
    return axis % rank


def is_shape_list(value) -> bool:
    """Whether `value` is a list of shapes (a layer's several inputs), not one shape."""
    return isinstance(value, list) or (isinstance(value, tuple) and value and all(
        isinstance(item, (tuple, list)) for item in value))


def vector_length(shape, name: str) -> int:
    """The length of a 1-D run-time parameter of layer `name` (a shape or a list of axes), whose
    `shape` must be a vector of known length (else a ConfigError)."""
    if len(shape) != 1 or shape[0] is None:
        raise ConfigError(f"layer '{name}': a run-time shape or axes operand must be a vector of "
                          f"known length, got shape {tuple(shape)}")
    return shape[0]


def runtime_ints(value) -> list[int]:
    """The entries of a run-time integer operand (any shape), as Python ints."""
    return [int(item) for item in np.asarray(value).reshape(-1)]


class OnnxLayer(Layer):
    """Base of the ONNX-semantics layers (see the module docstring): their `module` is written
    as "modelio.ops"; files that say "modelio.layers.onnx" (older modelio) load too."""

    _keras_module = "modelio.ops"
    # Its results are checked exactly against MAX_RUNTIME_BYTES (`check_result_size`).
    checks_result_size = True
    # True: operand op, dtypes kept (`compute`, `output_dtype`); False: float math in the
    # layer's compute dtype, with `call` overridden.
    keeps_dtypes = True

    def __init__(self, constants=None, known_shape=None, **kwargs):
        super().__init__(**kwargs)
        self.constants = self._checked_constants(constants)
        # Sizes of the output that the ONNX graph knows where the layer's own shape rule cannot
        # (a Reshape to a run-time shape built from other tensors' sizes): ints and None.
        if known_shape is not None and (not isinstance(known_shape, (list, tuple)) or not all(
                dim is None or (isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0)
                for dim in known_shape)):
            raise ConfigError(f"layer '{self.name}': known_shape must be a list of sizes and "
                              f"None, got {known_shape!r}")
        self.known_shape = None if known_shape is None else list(known_shape)
        # Nothing to build: no constant operands, and no weights of a subclass's own.
        if not self.constants and type(self).build is OnnxLayer.build:
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
            shape = int_list(spec["shape"], "a constant's shape", self.name)
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
        if self.known_shape is not None:
            config["known_shape"] = list(self.known_shape)
        return config

    def _checked_output_shape(self, input_shape):
        shape = super()._checked_output_shape(input_shape)
        known = self.known_shape
        if known is None or not isinstance(shape, tuple) or len(shape) != len(known) \
                or any(isinstance(dim, (tuple, list)) for dim in shape):
            return shape
        return tuple(dim if dim is not None else size for dim, size in zip(shape, known))

    # ----- argument checks of the subclasses -----
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

    # ----- operands: the tensors with the constants put in their places -----
    @property
    def constant_weights(self) -> list[Weight]:
        """The weights holding the constant operands (`constant_0`, ...), in `constants` order;
        empty before the layer is built."""
        return self._weights[:len(self.constants)]

    def merge_constants(self, tensors: list, constants: list) -> list:
        """The operands in ONNX order: `tensors` (one entry per layer input) with `constants`
        (one entry per `self.constants` item, e.g. arrays or names) inserted at their indices."""
        operands = list(tensors)
        for spec, value in zip(self.constants, constants):
            operands.insert(spec["index"], value)
        return operands

    def operands(self, inputs) -> list:
        """The arrays `compute` takes: the layer's `inputs` with the constants in place."""
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        return self.merge_constants(tensors, [weight.value for weight in self.constant_weights])

    def operand_shapes(self, input_shape) -> list:
        """The shapes of the operands for inputs of `input_shape` (one shape or a list)."""
        shapes = list(input_shape) if is_shape_list(input_shape) else [input_shape]
        return self.merge_constants([tuple(shape) for shape in shapes],
                                    [tuple(spec["shape"]) for spec in self.constants])

    def operand_dtypes(self, inputs) -> list:
        """The dtypes of the operands for the symbolic `inputs` (one tensor or a list)."""
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        return self.merge_constants([tensor.dtype for tensor in tensors],
                                    [spec["dtype"] for spec in self.constants])

    # ----- shapes and dtypes -----
    def compute_output_spec(self, *args, **kwargs):
        if not self.keeps_dtypes:
            return super().compute_output_spec(*args, **kwargs)
        inputs = args[0]
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        input_shape = [tensor.shape for tensor in tensors] if isinstance(inputs, (list, tuple)) \
            else inputs.shape
        shape = self._checked_output_shape(input_shape)
        with self.shape_errors(input_shape):
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
        if not self.keeps_dtypes:
            return super()._to_array(value)
        return None if value is None else np.asarray(value)

    def check_result_size(self, shape, dtype) -> None:
        """Refuse, before it is allocated, a result of `shape` (ints; None for a size not known
        yet, which is not checked) and `dtype` larger than MAX_RUNTIME_BYTES: a ConfigError
        naming the layer."""
        if any(dim is None for dim in shape):
            return
        dims = tuple(int(dim) for dim in shape)
        size = math.prod(dims) * np.dtype(dtype).itemsize
        if min(dims, default=0) < 0 or size > MAX_RUNTIME_BYTES:
            raise ConfigError(f"layer '{self.name}' ({type(self).__name__}): refusing to build a "
                              f"result of shape {dims} ({size} bytes of {np.dtype(dtype).name}; "
                              f"at most {MAX_RUNTIME_BYTES} bytes are computed)")

    def call(self, inputs):
        operands = self.operands(inputs)
        input_shape = ([np.shape(value) for value in inputs] if isinstance(inputs, (list, tuple))
                       else np.shape(inputs))
        with self.shape_errors(input_shape):
            shape = self.compute_output_shape(input_shape)
        widest = max((np.asarray(operand).dtype for operand in operands),
                     key=lambda dtype: dtype.itemsize, default=np.dtype(np.float32))
        self.check_result_size(shape, widest)
        try:
            return self.compute(operands)
        except (ValueError, TypeError, IndexError) as exc:
            shapes = [np.shape(operand) for operand in operands]
            raise GraphError(f"layer '{self.name}' ({type(self).__name__}) cannot compute on "
                             f"operands of shapes {shapes}: {exc}") from exc

    def compute(self, operands: list) -> np.ndarray:
        """The op's result for `operands` (numpy arrays, constants in their places)."""
        raise NotImplementedError


class OnnxAxesLayer(OnnxLayer):
    """Base of the ONNX ops whose `axes` is an optional attribute or, from opset 13 (Reduce*
    from 18), an optional second operand given at run time: Reduce*, Squeeze, Unsqueeze."""

    def __init__(self, axes=None, **kwargs):
        super().__init__(**kwargs)
        self.axes = int_list(axes, "axes", self.name, allow_none=True)

    def runtime_axes_count(self, input_shape) -> tuple | None:
        """For a call whose axes are a run-time operand: (the data's shape, how many axes it
        names); None for a call on the data alone."""
        if not is_shape_list(input_shape):
            return None
        data_shape, axes_shape = input_shape
        return tuple(data_shape), vector_length(axes_shape, self.name)

    @staticmethod
    def runtime_axes(operands: list) -> list[int] | None:
        """The axes operand of a call as Python ints, or None when the call has none."""
        return runtime_ints(operands[1]) if len(operands) > 1 else None

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes}

