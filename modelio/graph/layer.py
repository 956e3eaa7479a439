"""The Layer base class: config, build, weights, symbolic and eager calls."""

import contextlib
import contextvars
import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ConfigError, GraphError, ModelioError, UnsupportedError, WeightMismatchError
from . import naming
from .batch_shapes import batch_shape_argument
from .dtypes import FLOAT_DTYPES, is_float_dtype, policy_from_config
from .node import Node
from .precision import carried_call, is_carried
from .result_limits import check_result_bytes
from .serialized import check_argument_object
from .tensor import SymbolicTensor
from .tree import flatten, map_structure
from .weights import Weight

# A single weight, or one sample of a layer output, larger than this many elements is refused
# before any allocation (4 G floats = 16 GB): absurd sizes must fail cleanly, not exhaust memory.
MAX_WEIGHT_ELEMENTS = 2**32
MAX_SAMPLE_ELEMENTS = 2**32

_CALL_CONTEXT_ARGS = ("training", "mask")

# While a model is built from a file whose weights are loaded next, weights start as zero-cost
# read-only placeholders instead of random initial values (no time, no memory), then the loader
# puts the arrays it read in their place.
_weights_follow = contextvars.ContextVar("weights_follow", default=False)


@contextlib.contextmanager
def weights_follow():
    """Build layers inside this block without initializing their weights (they come next)."""
    token = _weights_follow.set(True)
    try:
        yield
    finally:
        _weights_follow.reset(token)


def shape_to_list(shape_structure: Any) -> Any:
    """Shapes as Keras writes them in configs: lists, not tuples."""
    if isinstance(shape_structure, tuple) and all(
        dim is None or isinstance(dim, int) for dim in shape_structure
    ):
        return list(shape_structure)
    if isinstance(shape_structure, (list, tuple)):
        return [shape_to_list(item) for item in shape_structure]
    if isinstance(shape_structure, dict):
        return {key: shape_to_list(value) for key, value in shape_structure.items()}
    return shape_structure


def is_shape(value: Any) -> bool:
    """True for a single shape like (None, 4); False for a list of shapes."""
    return isinstance(value, tuple) and all(dim is None or isinstance(dim, int) for dim in value)


class Layer:
    """Base class of all layers, modelled on `keras.layers.Layer`.

    A subclass takes its arguments in `__init__` (they become `get_config()`), creates weights in
    `build(input_shape)` with `add_weight`, computes in `call(inputs, ...)` with numpy, and gives
    its output shape in `compute_output_shape(input_shape)` (the default keeps the input shape).
    Calling a layer on symbolic tensors records a Node; calling it on arrays computes eagerly.
    """

    _keras_module = "keras.layers"
    # Weights that tf-keras names differently from Keras 3, `{Keras 3 name: Keras 2 name}`: the
    # names a Keras 2 `.h5` file stores (reading goes by order, so only writing uses them).
    keras2_weight_names: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs):
        """Wrap each subclass's `build` so that calling it directly (as Keras users do) marks the
        layer built, and a later call does not build it a second time."""
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is None or getattr(build, "_marks_built", False):
            return

        @functools.wraps(build)
        def build_once(self, input_shape=None, *args, **kw):
            if self.built and getattr(self, "_weights", None):
                return None
            result = build(self, input_shape, *args, **kw)
            self.built = True
            if self._build_input_shape is None:
                self._build_input_shape = input_shape
            return result

        build_once._marks_built = True
        cls.build = build_once

    # Whether the layer passes (or computes) a mask for its outputs; see `compute_mask`.
    supports_masking = False
    # Whether the layer takes a quantized dtype policy (Keras's `model.quantize`).
    supports_quantization = False
    # Whether the layer bounds its run-time results itself (else `_check_result_bytes` does).
    checks_result_size = False
    # Keras 2 config keys this layer renames (old -> new) or drops (old -> None) when loading.
    _legacy_keys: dict[str, str | None] = {}

    def __init__(self, name: str | None = None, trainable: bool = True, dtype=None,
                 activity_regularizer=None, input_shape=None, input_dim=None,
                 batch_input_shape=None, batch_size=None, **kwargs):
        label = name if isinstance(name, str) else type(self).__name__
        if kwargs:
            names = ", ".join(sorted(kwargs))
            raise UnsupportedError(
                f"layer '{label}' ({type(self).__name__}): unsupported argument(s): {names}"
            )
        if name is not None and (not isinstance(name, str) or not name):
            raise ConfigError(f"layer {type(self).__name__}: name must be a non-empty string, "
                              f"got {name!r}")
        if not isinstance(trainable, bool):
            raise ConfigError(f"layer '{label}': trainable must be true or false, got {trainable!r}")
        self.name = name or naming.unique_name(naming.keras2_snake_case(type(self).__name__))
        self.trainable = trainable
        try:
            self.dtype_policy = policy_from_config(dtype)
        except ModelioError as exc:
            raise type(exc)(f"layer '{label}' ({type(self).__name__}): dtype: {exc}") from exc
        if getattr(self.dtype_policy, "quantization_mode", None) and not self.supports_quantization:
            raise UnsupportedError(f"layer '{label}' ({type(self).__name__}): dtype policy "
                                   f"{self.dtype_policy.name!r} is quantized; only Dense, "
                                   f"EinsumDense and Embedding support quantization")
        self.activity_regularizer = check_argument_object(
            activity_regularizer, "activity_regularizer", f"layer '{label}' ({type(self).__name__})")
        self.built = False
        self._inbound_nodes: list[Node] = []
        self._weights: list[Weight] = []
        self._build_input_shape = None
        self._batch_input_shape = batch_shape_argument(
            label, input_shape, input_dim, batch_input_shape, batch_size
        )

    # ----- config -----------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments, as Keras 3 writes them."""
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self.dtype_policy.get_config(),
        }
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = self.activity_regularizer
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        """Rebuild a layer from `get_config()` output (Keras 3, or Keras 2 with its old keys)."""
        if not isinstance(config, dict):
            raise ConfigError(f"{cls.__name__}: config must be a mapping, got {type(config).__name__}")
        return cls(**cls.normalize_legacy_config(dict(config)))

    @classmethod
    def normalize_legacy_config(cls, config: dict) -> dict:
        """Rename or drop the Keras 2 keys listed in `_legacy_keys`."""
        for old_key, new_key in cls._legacy_keys.items():
            if old_key in config:
                value = config.pop(old_key)
                if new_key is not None and new_key not in config:
                    config[new_key] = value
        return config

    def get_build_config(self) -> dict | None:
        if self._build_input_shape is None:
            return None
        return {"input_shape": shape_to_list(self._build_input_shape)}

    # ----- dtype ------------------------------------------------------------------------------
    @property
    def dtype(self) -> str:
        return self.dtype_policy.variable_dtype

    @property
    def compute_dtype(self) -> str:
        """The policy's compute dtype; "float32" inside `precision.float32_carrier(self)`."""
        if is_carried(self):
            return "float32"
        return self.dtype_policy.compute_dtype

    # ----- weights ----------------------------------------------------------------------------
    def add_weight(
        self,
        name: str,
        shape,
        initializer: Callable | None = None,
        dtype: str | None = None,
        trainable: bool = True,
    ) -> Weight:
        """Create a weight of `shape` filled by `initializer(shape, dtype)` (zeros when None)."""
        shape = tuple(int(dim) for dim in shape)
        if any(dim < 0 for dim in shape):
            raise ConfigError(f"layer '{self.name}': weight '{name}' has negative shape {shape}")
        if math.prod(shape) > MAX_WEIGHT_ELEMENTS:
            raise ConfigError(f"layer '{self.name}': weight '{name}' of shape {shape} is too large")
        dtype = dtype or self.dtype_policy.variable_dtype
        try:
            if _weights_follow.get():
                value = np.broadcast_to(np.zeros((), dtype=dtype), shape)
            elif initializer is None:
                value = np.zeros(shape, dtype=dtype)
            else:
                value = np.asarray(initializer(shape, dtype), dtype=dtype)
        except MemoryError as exc:
            raise ConfigError(f"layer '{self.name}': not enough memory for weight '{name}' of "
                              f"shape {shape}") from exc
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"layer '{self.name}': the initializer of weight '{name}' failed: "
                              f"{exc}") from exc
        weight = Weight(name, value, self.name, trainable=trainable)
        self._weights.append(weight)
        return weight

    @property
    def weights(self) -> list[Weight]:
        """Trainable then non-trainable weights, as Keras orders them."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self) -> list[Weight]:
        if not self.trainable:
            return []
        return [weight for weight in self._weights if weight.trainable]

    @property
    def non_trainable_weights(self) -> list[Weight]:
        if not self.trainable:
            return list(self._weights)
        return [weight for weight in self._weights if not weight.trainable]

    def get_weights(self) -> list[np.ndarray]:
        return [np.array(weight.value) for weight in self.weights]

    def set_weights(self, weights: list) -> None:
        """Assign arrays in `weights` order. Every count and shape is checked before anything changes."""
        own = self.weights
        if len(weights) != len(own):
            raise WeightMismatchError(
                f"layer '{self.name}' expects {len(own)} weight(s), got {len(weights)}"
            )
        arrays = [np.asarray(value) for value in weights]
        for weight, array in zip(own, arrays):
            if array.shape != weight.shape:
                raise WeightMismatchError(
                    f"layer '{self.name}': weight '{weight.name}' expects shape {weight.shape}, "
                    f"got {array.shape}"
                )
        for weight, array in zip(own, arrays):
            weight.assign(array)

    def count_params(self) -> int:
        if not self.built:
            raise GraphError(f"layer '{self.name}' is not built yet, so it has no parameters to count")
        return int(sum(weight.value.size for weight in self.weights))

    # ----- building and shapes ----------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create weights for inputs of `input_shape`. Layers without weights need not override."""

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, *args, **kwargs):
        """Symbolic outputs (shape and dtype, no history) for symbolic `args`."""
        input_shape = map_structure(lambda tensor: tensor.shape, args[0])
        return _specs_for_shapes(self._checked_output_shape(input_shape), self.compute_dtype)

    def _checked_output_shape(self, input_shape):
        """`compute_output_shape`, with a shape it cannot take reported as a GraphError."""
        with self.shape_errors(input_shape):
            return self.compute_output_shape(input_shape)

    def _maybe_build(self, input_shape) -> None:
        if self.built:
            return
        with self.shape_errors(input_shape):
            self.build(input_shape)
        self._build_input_shape = input_shape
        self.built = True

    @contextlib.contextmanager
    def shape_errors(self, input_shape):
        """A block in which a ValueError, TypeError, IndexError or KeyError (numpy's complaint
        about a shape) becomes a GraphError naming this layer and `input_shape`; ModelioErrors
        pass through unchanged."""
        try:
            yield
        except ModelioError:
            raise
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise GraphError(f"layer '{self.name}' ({type(self).__name__}) cannot take inputs of "
                             f"shape {input_shape}: {exc}") from exc

    def value_of(self, weight: Weight) -> np.ndarray:
        """A float weight in the compute dtype, as Keras casts variables when calling a layer
        (inside `precision.float32_carrier(self)`: rounded so, then widened to float32)."""
        value = weight.value
        if not is_float_dtype(value.dtype):
            return value
        if is_carried(self):
            rounded = value.astype(self.dtype_policy.compute_dtype, copy=False)
            return rounded.astype(np.float32, copy=False)
        return value.astype(self.compute_dtype, copy=False)

    # ----- calling ----------------------------------------------------------------------------
    def call(self, inputs, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.call")

    def __call__(self, *args, **kwargs):
        if not args:
            raise GraphError(f"layer '{self.name}' was called without an input")
        if any(isinstance(value, SymbolicTensor) for value in flatten((args, kwargs))):
            return self._symbolic_call(args, kwargs)
        return self._eager_call(args, kwargs)

    def _symbolic_call(self, args: tuple, kwargs: dict):
        kwargs = {**kwargs, **self._implicit_mask_kwargs(args, kwargs)}
        self._check_call_arguments(args, kwargs)
        self._maybe_build(map_structure(_shape_of, args[0]))
        outputs = self.compute_output_spec(*args, **self._call_kwargs(kwargs))
        _check_output_sizes(self, outputs)
        Node(self, args, kwargs, outputs)
        if self.supports_masking:
            self._attach_output_masks(args[0], outputs)
        return outputs

    # ----- masks --------------------------------------------------------------------------------
    # As in Keras 3, masks are graph edges: a layer whose call takes `mask` receives its input's
    # mask as an explicit `mask=` tensor, recorded in the node; masks are computed by operations.
    def compute_mask(self, inputs, previous_mask):
        """The output mask (symbolic) for `inputs` whose masks are `previous_mask`."""
        return previous_mask if self.supports_masking else None

    def _implicit_mask_kwargs(self, args: tuple, kwargs: dict) -> dict:
        """Keras's rule: with exactly one tensor argument and a `mask` parameter left unset, the
        argument's mask is passed as `mask`. Layers with other mask parameters override this."""
        if "mask" not in call_parameters(type(self)) or kwargs.get("mask") is not None:
            return {}
        tensor_arguments = [value for value in (*args, *kwargs.values())
                            if any(isinstance(leaf, SymbolicTensor) for leaf in flatten(value))]
        if len(tensor_arguments) != 1:
            return {}
        masks = map_structure(input_mask, args[0])
        if all(mask is None for mask in flatten(masks)):
            return {}
        return {"mask": masks}

    def _attach_output_masks(self, inputs, outputs) -> None:
        outputs_flat = flatten(outputs)
        if all(tensor._keras_mask is not None for tensor in outputs_flat):
            return
        masks = self.compute_mask(inputs, map_structure(input_mask, inputs))
        if masks is None:
            return
        masks_flat = flatten(masks) if isinstance(masks, (list, tuple)) else [masks]
        for tensor, mask in zip(outputs_flat, masks_flat):
            if tensor._keras_mask is None and isinstance(mask, SymbolicTensor):
                tensor._keras_mask = mask

    def _eager_call(self, args: tuple, kwargs: dict):
        if self.dtype_policy.compute_dtype == "bfloat16" and not is_carried(self):
            return carried_call(self, args, kwargs)  # numpy has no bfloat16 arithmetic
        first = map_structure(self._to_array, args[0])
        input_shape = map_structure(_shape_of, first)
        self._maybe_build(input_shape)
        output_shape = self._checked_output_shape(input_shape)  # the checks a symbolic call makes
        check_result_bytes(self, first, output_shape)
        return self.call(first, *args[1:], **self._call_kwargs(kwargs))

    def _check_call_arguments(self, args: tuple, kwargs: dict) -> None:
        """Refuse, when the graph is built, a call that `call` could not take at run time."""
        label = f"layer '{self.name}' ({type(self).__name__})"
        try:
            _call_signature(type(self)).bind(self, *args, **self._call_kwargs(kwargs))
        except TypeError as exc:
            raise ConfigError(f"{label} cannot be called this way: {exc}") from exc
        mask = kwargs.get("mask")
        if mask is not None and not all(isinstance(leaf, SymbolicTensor) or leaf is None
                                        for leaf in flatten(mask)):
            raise ConfigError(f"{label}: mask must be a tensor or null, got {mask!r}")
        training = kwargs.get("training")
        serialized_object = isinstance(training, dict) and ("class_name" in training
                                                            or "module" in training)
        # a serialized object is left to the config walk, which names what it is and where
        if training is not None and not isinstance(training, bool) and not serialized_object:
            raise ConfigError(f"{label}: training must be true, false or null, got "
                              f"{str(training)[:60]}")

    def _call_kwargs(self, kwargs: dict) -> dict:
        """Drop Keras's call-context arguments (`training`, `mask`) that this layer's call lacks."""
        accepted = call_parameters(type(self))
        return {key: value for key, value in kwargs.items()
                if key in accepted or key not in _CALL_CONTEXT_ARGS}

    def _to_array(self, value):
        if value is None:
            return None
        array = np.asarray(value)
        if is_float_dtype(array.dtype) and self.compute_dtype in FLOAT_DTYPES:
            array = array.astype(self.compute_dtype, copy=False)
        return array

    # ----- graph introspection ----------------------------------------------------------------
    @property
    def inbound_nodes(self) -> list[Node]:
        return self._inbound_nodes

    def _single_node(self, what: str) -> Node:
        if not self._inbound_nodes:
            raise GraphError(f"layer '{self.name}' has never been called, so it has no {what}")
        if len(self._inbound_nodes) > 1:
            raise GraphError(f"layer '{self.name}' has {len(self._inbound_nodes)} inbound nodes, "
                             f"so its {what} is ambiguous; use the node's tensors")
        return self._inbound_nodes[0]

    @property
    def input(self):
        node = self._single_node("input")
        return node.call_args[0]

    @property
    def output(self):
        return self._single_node("output").output_structure

    @property
    def output_shape(self):
        return map_structure(_shape_of, self.output)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


@functools.cache
def _call_signature(cls: type) -> inspect.Signature:
    return inspect.signature(cls.call)


@functools.cache
def call_parameters(cls: type) -> frozenset:
    """The parameter names of `cls.call` (`self` included), e.g. to ask whether it takes a mask."""
    return frozenset(_call_signature(cls).parameters)


def _shape_of(value):
    if isinstance(value, SymbolicTensor):
        return value.shape
    if value is None:
        return None
    return tuple(np.shape(value))


def input_mask(value):
    """The symbolic mask travelling with `value`, or None."""
    return value._keras_mask if isinstance(value, SymbolicTensor) else None


def _check_output_sizes(layer, outputs) -> None:
    for tensor in flatten(outputs):
        sample_shape = [dim for dim in tensor.shape[1:] if dim is not None]
        if math.prod(sample_shape) > MAX_SAMPLE_ELEMENTS:
            raise GraphError(f"layer '{layer.name}' ({type(layer).__name__}) would output "
                             f"{tensor.shape}, too large to compute")


def _specs_for_shapes(output_shape, dtype: str):
    if is_shape(output_shape):
        return SymbolicTensor(output_shape, dtype)
    if isinstance(output_shape, (list, tuple)):
        return [_specs_for_shapes(shape, dtype) for shape in output_shape]
    raise ModelioError(f"bad output shape {output_shape!r}")
