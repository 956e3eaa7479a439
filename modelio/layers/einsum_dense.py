"""EinsumDense: `activation(einsum(equation, inputs, kernel) + bias)`, as keras.layers.EinsumDense
(and tf-keras's `experimental.EinsumDense`, whose config is the same).

The equation has one of Keras's three forms, `X,Y->Z`, `...X,Y->...Z` or `X...,Y->Z...` (X, Y,
Z strings of letters). The kernel takes each of its axes from the output shape when that letter
is an output axis, else from the input; `bias_axes` names output letters, and the bias spans the
output from the first of them on (size 1 on the other axes), as Keras computes it."""

import re

import numpy as np

from ..errors import ConfigError, UnsupportedError
from ..graph import Layer, register_layer
from .activations import activation_output_shape, resolve_activation, serialize_activation
from .arguments import KERNEL_BIAS_ARGUMENTS, config_entries, layer_label
from .initializers import get_initializer, set_weight_arguments
from .quantization import LoraSetup, QuantizationSetup, einsum_quantization_info, full_specs
from .quantized_kernel import QuantizedKernelMixin

__all__ = ["EinsumDense", "parse_einsum_equation"]

_FORMS = (
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), None),
    (re.compile(r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)"), "left"),
    (re.compile(r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0"), "right"),
)


def parse_einsum_equation(equation, label: str) -> tuple[str, str, str, str | None]:
    """`(input spec, kernel spec, output spec, elided side)` of an EinsumDense equation, where
    the side is None, "left" (`...X`) or "right" (`X...`). A ConfigError names `label` for any
    other form (Keras accepts no other either)."""
    if not isinstance(equation, str):
        raise ConfigError(f"{label}: equation must be a string, got {equation!r}")
    replaced = equation.replace("...", "0")
    for pattern, side in _FORMS:
        match = pattern.match(replaced)
        # Keras uses re.match (a prefix match); a trailing remainder would be ignored by Keras
        # but change nothing it computes, so modelio refuses it rather than guess.
        if match and match.end() == len(replaced):
            return match.group(1), match.group(2), match.group(3), side
    raise ConfigError(f"{label}: invalid einsum equation {equation!r}; it must have the form "
                      f"X,Y->Z, ...X,Y->...Z or X...,Y->Z... (X, Y, Z strings of letters)")


def _check_output_shape(output_shape, label: str) -> tuple:
    if isinstance(output_shape, int) and not isinstance(output_shape, bool):
        output_shape = (output_shape,)
    if not isinstance(output_shape, (list, tuple)) or not all(
            dim is None or (isinstance(dim, int) and not isinstance(dim, bool) and dim > 0)
            for dim in output_shape):
        raise ConfigError(f"{label}: output_shape must be a positive integer or a list of positive "
                          f"integers or nulls, got {output_shape!r}")
    return tuple(output_shape)


@register_layer()
class EinsumDense(QuantizedKernelMixin, Layer):
    """A dense layer written as an einsum: any equation Keras accepts, a bias over `bias_axes`;
    quantized (int8, int4, float8) and LoRA-enabled as Keras's `quantize` / `enable_lora` leave it."""

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None,
                 gptq_unpacked_column_size=None, quantization_config=None,
                 activity_regularizer=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        label = layer_label(self)
        self.equation = equation
        self.specs = parse_einsum_equation(equation, label)
        self.partial_output_shape = _check_output_shape(output_shape, label)
        if bias_axes is not None:
            if not isinstance(bias_axes, str) or not bias_axes:
                raise ConfigError(f"{label}: bias_axes must be null or a non-empty string of "
                                  f"output letters, got {bias_axes!r}")
            missing = [char for char in bias_axes if char not in self.specs[2]]
            if missing:
                raise ConfigError(f"{label}: bias_axes {bias_axes!r} names {''.join(missing)!r}, "
                                  f"which is not in the output spec {self.specs[2]!r}")
        self.bias_axes = bias_axes
        self.activation_name, self.activation = resolve_activation(activation, self.name)
        set_weight_arguments(
            self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        if gptq_unpacked_column_size:
            raise UnsupportedError(f"{label}: gptq_unpacked_column_size (GPTQ) is not supported")
        self.lora = LoraSetup(self, lora_rank, lora_alpha)
        self.quantization = QuantizationSetup(self, quantization_config)
        if self.quantization.mode in ("int8", "int4") and self.specs[3] is not None:
            raise UnsupportedError(f"{label}: {self.quantization.mode} quantization of an "
                                   f"equation with '...' ({equation!r}): Keras 3.15.1 cannot "
                                   f"build it either (its quantization layout fails on '...')")
        self.kernel = self.bias = None
        self.input_rank = None

    # ----- shapes ---------------------------------------------------------------------------------
    def analyze(self, input_shape) -> tuple[list, list | None, list]:
        """`(kernel shape, bias shape or None, full output shape)` for inputs of `input_shape`,
        as Keras's `_analyze_einsum_string` derives them; a ConfigError where Keras refuses."""
        label = layer_label(self)
        input_spec, kernel_spec, output_spec, side = self.specs
        input_shape = list(input_shape)
        elided = len(input_shape) - len(input_spec)
        if elided < 0 or (side is None and elided != 0) or (side == "right" and elided < 0):
            raise ConfigError(f"{label}: equation {self.equation!r} needs inputs of rank "
                              f"{len(input_spec)}{'+' if side else ''}, got shape "
                              f"{tuple(input_shape)}")
        output_shape = [input_shape[0], *self.partial_output_shape]
        if elided > 0 and side == "left":
            # In input order. (Keras 3.15.1 inserts them one by one at position 1, so its declared
            # shape lists two or more of them reversed, unlike the einsum it computes.)
            output_shape[1:1] = input_shape[1:elided]
        elif elided > 0:
            output_shape += input_shape[len(input_shape) - elided:]
        left = elided if side == "left" else 0
        if len(output_shape) != len(output_spec) + elided:
            raise ConfigError(f"{label}: output_shape {list(self.partial_output_shape)} does not "
                              f"fit the output spec {output_spec!r} of {self.equation!r}")
        input_dims = {dim: input_shape[index + left] for index, dim in enumerate(input_spec)}
        output_dims = {dim: output_shape[index + left] for index, dim in enumerate(output_spec)}
        for dim, size in input_dims.items():
            if output_dims.get(dim) is not None and size is not None and output_dims[dim] != size:
                raise ConfigError(f"{label}: input and output shapes differ at the shared "
                                  f"dimension {dim!r}: {size} and {output_dims[dim]}")
        for dim in output_spec:
            if dim not in input_spec and dim not in kernel_spec:
                raise ConfigError(f"{label}: output dimension {dim!r} is in neither the input "
                                  f"spec {input_spec!r} nor the kernel spec {kernel_spec!r}")
        kernel_shape = []
        for dim in kernel_spec:
            if dim in output_dims:
                kernel_shape.append(output_dims[dim])
            elif dim in input_dims:
                kernel_shape.append(input_dims[dim])
            else:
                raise ConfigError(f"{label}: kernel dimension {dim!r} is in neither the input "
                                  f"spec {input_spec!r} nor the output spec {output_spec!r}")
        bias_shape = None
        if self.bias_axes is not None:
            first = min(output_spec.find(char) for char in self.bias_axes)
            bias_shape = [output_dims[char] if char in self.bias_axes else 1
                          for char in output_spec[first:]]
            if side != "left":
                bias_shape += [1] * elided
        return kernel_shape, bias_shape, output_shape

    def build(self, input_shape):
        kernel_shape, bias_shape, _ = self.analyze(input_shape)
        for what, shape in (("kernel", kernel_shape), ("bias", bias_shape or [])):
            if any(size is None for size in shape):
                raise ConfigError(f"{layer_label(self)}: the {what} shape {shape} of "
                                  f"{self.equation!r} is not fully known for inputs of shape "
                                  f"{tuple(input_shape)}; output_shape must give those sizes")
        self.input_rank = len(input_shape)
        self.build_quantized_kernel(kernel_shape)
        self.bias = (self.add_weight("bias", tuple(bias_shape),
                                     get_initializer(self.bias_initializer))
                     if bias_shape is not None else None)
        self.build_lora()

    def kernel_initializer_fn(self):
        return get_initializer(self.kernel_initializer)

    def scale_layout(self) -> dict:
        """Keras's quantization layout of the equation for inputs of the built rank."""
        return einsum_quantization_info(*full_specs(self.specs, self.input_rank))

    def reduced_kernel_axes(self) -> list:
        return self.scale_layout()["kernel"]["reduced"]

    def contract(self, x, kernel):
        return np.einsum(self.equation, x, kernel, optimize=True)

    def compute_output_shape(self, input_shape):
        _, _, output_shape = self.analyze(input_shape)
        if self.built:
            kernel_shape, _, _ = self.analyze(tuple(
                size if size is not None else 1 for size in input_shape))
            if tuple(kernel_shape) != self.kernel_shape and None not in input_shape:
                raise ConfigError(f"{layer_label(self)} was built for a kernel of shape "
                                  f"{self.kernel_shape}, inputs of shape {tuple(input_shape)} need "
                                  f"{tuple(kernel_shape)}")
        return activation_output_shape(self, self.activation_name, tuple(output_shape))

    # ----- computing ------------------------------------------------------------------------------
    def call(self, inputs):
        inputs = np.asarray(inputs)
        if self.built:
            kernel_shape, _, _ = self.analyze(inputs.shape)
            if tuple(kernel_shape) != self.kernel_shape or inputs.ndim != self.input_rank:
                raise ConfigError(f"{layer_label(self)} was built for a kernel of shape "
                                  f"{self.kernel_shape}, inputs of shape {inputs.shape} need "
                                  f"{tuple(kernel_shape)}")
        if self.quantization.mode is not None or self.lora.enabled:
            outputs = self.kernel_product(inputs)
            if self.bias is not None:
                outputs = outputs + self.bias_for_mode()
            return self.activation(outputs.astype(inputs.dtype, copy=False))
        outputs = np.einsum(self.equation, inputs, self.value_of(self.kernel), optimize=True)
        if self.bias is not None:
            outputs = outputs + self.value_of(self.bias)
        return self.activation(outputs.astype(inputs.dtype, copy=False))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "output_shape": list(self.partial_output_shape),
            "equation": self.equation,
            "activation": serialize_activation(self.activation_name),
            "bias_axes": self.bias_axes,
            **config_entries(self, KERNEL_BIAS_ARGUMENTS),
            **self.quantization_config_entries(),
        }
