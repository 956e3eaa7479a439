"""Activation names and the activation layers: Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax."""

from collections.abc import Callable

import numpy as np

from ..errors import ConfigError, UnsafeContentError, UnsupportedError
from ..graph import Layer, register_layer
from ..graph.custom_objects import (
    LAMBDA_NAME,
    CustomActivation,
    activation_identifier_name,
    custom_activation_for,
    is_lambda_code,
)
from ..graph.dialect import keras2_semantics_active
from ..graph.serialization import is_trusted_module
from ..kernels import activations as kernels
from .arguments import check_float, check_serialized, config_entries
from .initializers import get_initializer, serialize_initializer

# Keras 2 meanings whose Keras 3 namesake computes something else. Written back as a custom
# function name so that no Keras 3 reader silently swaps in the Keras 3 meaning.
KERAS2_ONLY_MEANINGS = {"hard_sigmoid": "modelio>hard_sigmoid_keras2"}
_MODELIO_FUNCTIONS = kernels.MODELIO_ACTIVATIONS


def resolve_activation(identifier, layer_name: str | None = None) -> tuple[str, Callable]:
    """`(serialized name, function)` for an activation given by name or serialized config.

    Names resolve with Keras 3's meaning, or Keras 2's inside `keras2_semantics()`.
    """
    where = f"layer '{layer_name}': " if layer_name else ""
    if identifier is None:
        return "linear", kernels.linear
    custom = custom_activation_for(identifier)
    if custom is not None:  # mapped by the user's custom_objects
        activation = _custom_activation(identifier, custom, layer_name, where)
        return activation, activation
    if isinstance(identifier, dict):
        identifier = _function_name(identifier, where)
    if not isinstance(identifier, str):
        raise ConfigError(f"{where}activation must be a name, got {identifier!r}")
    if identifier in _MODELIO_FUNCTIONS:
        return identifier, _MODELIO_FUNCTIONS[identifier]
    if keras2_semantics_active():
        if identifier in KERAS2_ONLY_MEANINGS:
            name = KERAS2_ONLY_MEANINGS[identifier]
            return name, _MODELIO_FUNCTIONS[name]
        if identifier in kernels.KERAS2_ACTIVATIONS and identifier not in kernels.KERAS3_ACTIVATIONS:
            return identifier, kernels.KERAS2_ACTIVATIONS[identifier]
    if identifier == "glu":
        return identifier, _checked_glu(where)
    if identifier in kernels.KERAS3_ACTIVATIONS:
        return identifier, kernels.KERAS3_ACTIVATIONS[identifier]
    raise UnsupportedError(f"{where}unknown activation {identifier!r}")


# Built-in activations with arguments, for custom_objects specs `(name, {arguments})`: the
# layer that computes each (its constructor takes those arguments).
_ACTIVATION_LAYERS = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "elu": "ELU", "softmax": "Softmax"}


def _custom_activation(identifier, custom, layer_name, where: str) -> CustomActivation:
    """The CustomActivation for an identifier the user mapped to `custom`: a function of modelio
    layers and ops, an activation name, or an `(activation name, {arguments})` pair."""
    name = activation_identifier_name(identifier)
    # Written back as Keras 3 writes a custom function (which Keras resolves by custom_objects
    # or its registry), under the file's name; a lambda's bytecode never is, only "<lambda>".
    serialized = dict(identifier) if isinstance(identifier, dict) and name != LAMBDA_NAME \
        else {"module": "builtins", "class_name": "function", "config": name,
              "registered_name": "function"}
    if isinstance(custom, str):
        custom = (custom, {})
    if isinstance(custom, tuple):
        custom = _spec_function(custom, where)
    return CustomActivation(name, custom, serialized, layer_name)


def _spec_function(spec: tuple, where: str) -> Callable:
    """A function of one symbolic tensor computing the built-in activation `spec` names."""
    activation, arguments = spec
    if not arguments:
        resolve_activation(activation)  # an unknown name fails here, by name
        return lambda x: Activation(activation)(x)
    class_name = _ACTIVATION_LAYERS.get(activation)
    if class_name is None:
        raise UnsupportedError(f"{where}custom_objects: activation {activation!r} takes no "
                               f"arguments in modelio (arguments are accepted for "
                               f"{', '.join(sorted(_ACTIVATION_LAYERS))})")
    layer_class = globals()[class_name]
    layer_class(**arguments)  # bad arguments fail now, naming the class
    return lambda x: layer_class(**arguments)(x)


def _checked_glu(where: str) -> Callable:
    """`kernels.glu`, with an odd last axis reported as a ConfigError naming the layer."""
    def glu(x):
        width = np.shape(x)[-1] if np.ndim(x) else None
        if width is None or width % 2:
            raise ConfigError(f"{where}activation 'glu' splits the last axis in halves, which "
                              f"needs an even size, got inputs of shape {np.shape(x)}")
        return kernels.glu(x)
    return glu


def activation_output_shape(layer, activation_name: str, shape: tuple) -> tuple:
    """`shape` after the activation: "glu" halves the last axis (an odd size is a ConfigError),
    every other activation keeps the shape. Keras 3's symbolic shape keeps the full width for
    glu even though its call returns half; modelio declares what the call returns."""
    if isinstance(activation_name, CustomActivation):
        return activation_name.output_shape(shape)
    if activation_name != "glu":
        return shape
    if not shape:
        raise ConfigError(f"layer '{layer.name}': activation 'glu' needs inputs with at least one "
                          f"axis, got a scalar")
    width = shape[-1]
    if width is not None and width % 2:
        raise ConfigError(f"layer '{layer.name}' ({type(layer).__name__}): activation 'glu' splits "
                          f"the last axis in halves, which needs an even size, got {width} "
                          f"(output shape {tuple(shape)})")
    return (*shape[:-1], None if width is None else width // 2)


def serialize_activation(name: str):
    if isinstance(name, CustomActivation):  # written back as the file named it
        return dict(name.serialized) if isinstance(name.serialized, dict) else name.serialized
    if name in _MODELIO_FUNCTIONS:
        return {"module": "builtins", "class_name": "function", "config": name,
                "registered_name": "function"}
    return name


def _function_name(config: dict, where: str) -> str:
    """Keras writes registered functions as `{"class_name": "function", "config": "name"}`."""
    name = config.get("config")
    class_name = config.get("class_name")
    if is_lambda_code(config):  # Keras 3's __lambda__, tf-keras's {"value": [bytecode, ...]}
        raise UnsafeContentError(f"{where}the activation is a Python lambda; modelio never runs "
                                 f"code from a model file (map '<lambda>' with custom_objects)")
    if class_name != "function" or not isinstance(name, str):
        raise UnsupportedError(f"{where}activation of class {str(class_name)[:60]!r} is not a "
                               f"function name")
    if name in _MODELIO_FUNCTIONS:
        return name
    module = config.get("module")
    if isinstance(module, str) and is_trusted_module(module):
        return name
    if module in (None, "builtins") and ">" in name:  # Keras's "package>name" custom functions
        raise UnsupportedError(f"{where}custom activation function {name[:60]!r} is not "
                               f"supported (modelio never imports code named in a file; map the "
                               f"name with custom_objects)")
    raise UnsafeContentError(f"{where}refusing activation {name[:60]!r} from module "
                             f"{str(module)[:60]!r}; modelio never imports code named in a file")


@register_layer()
class Activation(Layer):
    """Applies an activation function by name: `Activation("relu")`."""

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation_name, self.activation = resolve_activation(activation, self.name)
        self.built = True

    def compute_output_shape(self, input_shape):
        return activation_output_shape(self, self.activation_name, tuple(input_shape))

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": serialize_activation(self.activation_name)}


class _ScalarArgumentsActivation(Layer):
    """An activation that one kernel computes from the layer's number arguments: `_bounds` maps
    each argument (in Keras's config order) to its (minimum, allow None) check."""

    supports_masking = True
    _bounds: dict = {}
    kernel = None  # a staticmethod taking the inputs and the arguments by name

    def __init__(self, **kwargs):
        arguments = {name: kwargs.pop(name) for name in self._bounds}
        super().__init__(**kwargs)
        for name, (minimum, allow_none) in self._bounds.items():
            setattr(self, name, check_float(arguments[name], name, type(self), self.name,
                                            minimum, allow_none=allow_none))
        self.built = True

    def call(self, inputs):
        return self.kernel(inputs, **config_entries(self, tuple(self._bounds)))

    def get_config(self) -> dict:
        return {**super().get_config(), **config_entries(self, tuple(self._bounds))}


@register_layer()
class ReLU(_ScalarArgumentsActivation):
    """`max(x, threshold)` capped at `max_value`, with `negative_slope` below the threshold."""

    _bounds = {"max_value": (0.0, True), "negative_slope": (0.0, False),
               "threshold": (0.0, False)}
    kernel = staticmethod(kernels.relu)

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(max_value=max_value, negative_slope=negative_slope, threshold=threshold,
                         **kwargs)


@register_layer()
class ThresholdedReLU(ReLU):
    """tf-keras 2's ThresholdedReLU: `x` where `x > theta`, else 0. Keras 3 dropped the class;
    its `ReLU(threshold=theta)` computes exactly that (`where(x > threshold, x, 0)`), so the
    layer is that ReLU and is written back as one, which Keras 3 and tf-keras both load."""

    _keras_class_name = "ReLU"

    def __init__(self, theta=1.0, **kwargs):
        theta = check_float(theta, "theta", type(self), kwargs.get("name"), 0.0)
        super().__init__(threshold=float(theta), **kwargs)


@register_layer()
class LeakyReLU(_ScalarArgumentsActivation):
    """`x` for x >= 0, `negative_slope * x` below (Keras 2 called the slope `alpha`)."""

    _legacy_keys = {"alpha": "negative_slope"}
    _bounds = {"negative_slope": (0.0, False)}
    kernel = staticmethod(kernels.leaky_relu)

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(negative_slope=negative_slope, **kwargs)


@register_layer()
class ELU(_ScalarArgumentsActivation):
    """`x` for x > 0, `alpha * (exp(x) - 1)` below."""

    _bounds = {"alpha": (None, False)}
    kernel = staticmethod(kernels.elu)

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(alpha=alpha, **kwargs)


@register_layer()
class PReLU(Layer):
    """Leaky ReLU with a learned slope per element; `shared_axes` share one slope along axes."""

    supports_masking = True

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self)
        self.alpha_initializer = serialize_initializer(alpha_initializer, "alpha_initializer", self)
        self.alpha_regularizer = check_serialized(alpha_regularizer, "alpha_regularizer", cls, self.name)
        self.alpha_constraint = check_serialized(alpha_constraint, "alpha_constraint", cls, self.name)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]
        for axis in self.shared_axes or []:
            if isinstance(axis, bool) or not isinstance(axis, int) or axis < 1:
                raise ConfigError(f"layer '{self.name}' (PReLU): shared_axes must be positive "
                                  f"integers, got {shared_axes!r}")

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis > len(param_shape):
                raise ConfigError(f"layer '{self.name}' (PReLU): shared axis {axis} is beyond the "
                                  f"input's rank {len(input_shape)}")
            param_shape[axis - 1] = 1
        if any(dim is None for dim in param_shape):
            raise UnsupportedError(f"layer '{self.name}' (PReLU) needs known input dimensions "
                                   f"except on shared axes, got {input_shape}")
        self.alpha = self.add_weight("alpha", param_shape, get_initializer(self.alpha_initializer))

    def compute_output_shape(self, input_shape):
        if self.built:
            _check_broadcastable(self, self.alpha.shape, input_shape)
        return input_shape

    def call(self, inputs):
        alpha = self.value_of(self.alpha)
        return np.maximum(inputs, 0) - alpha * np.maximum(-inputs, 0)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha_initializer": self.alpha_initializer,
                "alpha_regularizer": self.alpha_regularizer,
                "alpha_constraint": self.alpha_constraint, "shared_axes": self.shared_axes}


def _check_broadcastable(layer, param_shape, input_shape):
    dims = input_shape[1:]
    if len(dims) != len(param_shape) or any(
            size not in (1, dim) and dim is not None for size, dim in zip(param_shape, dims)):
        raise ConfigError(f"layer '{layer.name}' ({type(layer).__name__}) was built for inputs "
                          f"matching {param_shape}, got {input_shape}")


@register_layer()
class Softmax(Layer):
    """Softmax over `axis` (an int or a list of axes); masked positions get zero probability."""

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not _is_axis(axis):
            raise ConfigError(f"layer '{self.name}' (Softmax): axis must be an integer or a list "
                              f"of integers, got {axis!r}")
        self.axis = axis
        self.built = True

    def compute_output_shape(self, input_shape):
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        rank = len(input_shape)
        if any(not -rank <= axis < rank for axis in axes):
            raise ConfigError(f"layer '{self.name}' (Softmax): axis {self.axis} is outside "
                              f"inputs of rank {rank}")
        if len({axis % rank for axis in axes}) != len(axes):
            raise ConfigError(f"layer '{self.name}' (Softmax): axis {self.axis} names an axis "
                              f"twice for inputs of rank {rank}")
        return input_shape

    def compute_output_spec(self, inputs, mask=None):
        if mask is not None:
            _check_mask_broadcasts(self, mask.shape, inputs.shape)
        return super().compute_output_spec(inputs)

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = np.asarray(mask)
            _check_mask_broadcasts(self, mask.shape, inputs.shape)
            if mask.dtype != np.bool_:
                mask = mask > 0.5
            large_negative = -3e4 if inputs.dtype == np.float16 else -1e9
            inputs = np.where(mask, inputs, np.asarray(large_negative, inputs.dtype))
        axis = tuple(self.axis) if isinstance(self.axis, (list, tuple)) else self.axis
        outputs = kernels.softmax(inputs, axis=axis)
        if mask is not None:
            outputs = np.where(mask, outputs, np.zeros((), outputs.dtype))
        return outputs

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


def _check_mask_broadcasts(layer, mask_shape, input_shape) -> None:
    """Keras's rule: the mask may not have more axes, and each of its trailing sizes is 1 or the
    input's."""
    fits = len(mask_shape) <= len(input_shape) and all(
        mask_dim in (1, input_dim) or None in (mask_dim, input_dim)
        for mask_dim, input_dim in zip(reversed(mask_shape), reversed(input_shape)))
    if not fits:
        raise ConfigError(f"layer '{layer.name}' ({type(layer).__name__}): a mask of shape "
                          f"{tuple(mask_shape)} does not broadcast to inputs of shape "
                          f"{tuple(input_shape)}")


def _is_axis(axis) -> bool:
    if isinstance(axis, (list, tuple)):
        return bool(axis) and all(_is_single_axis(item) for item in axis)
    return _is_single_axis(axis)


def _is_single_axis(axis) -> bool:
    return isinstance(axis, int) and not isinstance(axis, bool)
