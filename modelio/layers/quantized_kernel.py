"""The quantized and LoRA kernel of Dense and EinsumDense (see modelio/layers/quantization.py):
the weights Keras creates for each quantization mode, in its order and with its names and
shapes, the order Keras saves them in, and the inference math of each mode.

A host layer sets `self.quantization` (QuantizationSetup) and `self.lora` (LoraSetup) and
provides `contract(x, kernel)` (its matmul or einsum) and `scale_layout()` (None for Dense, whose
int8 scale is one per unit; the einsum scale layout for EinsumDense)."""

import numpy as np

from ..errors import ConfigError, UnsupportedError
from ..kernels.quantization import dequantize_grouped, packed_length, unpack_int4
from .quantization import (
    MergedWeight,
    adjust_scale,
    bfloat16_round_trip,
    float8_round_trip,
    quantize_inputs,
    stored_scale_shape,
    unadjust_scale,
)

__all__ = ["QuantizedKernelMixin"]

_FLOAT8_NAMES = ("inputs_scale", "inputs_amax_history", "kernel_scale", "kernel_amax_history",
                 "outputs_grad_scale", "outputs_grad_amax_history")
_SAVED = {None: ("kernel", "bias"), "int8": ("kernel", "bias", "kernel_scale"),
          "int4": ("kernel", "bias", "kernel_scale", "kernel_zero", "g_idx"),
          "float8": ("kernel", "bias") + _FLOAT8_NAMES}


def _ones(shape, dtype):
    return np.ones(shape, dtype)


class QuantizedKernelMixin:
    """Weights and math of a (possibly quantized, possibly LoRA-enabled) kernel."""

    supports_quantization = True

    # ----- building -------------------------------------------------------------------------------
    def build_quantized_kernel(self, kernel_shape) -> None:
        """Create the kernel weights of the layer's mode, in Keras's creation order."""
        mode = self.quantization.mode
        self.kernel_shape = tuple(int(size) for size in kernel_shape)
        self.kernel_scale = self.kernel_zero = self.g_idx = None
        if self.lora.enabled and mode == "float8":
            raise UnsupportedError(f"layer '{self.name}' ({type(self).__name__}): Keras does not "
                                   f"support LoRA with float8 quantization")
        if mode == "int8":
            self.kernel = self.add_weight("kernel", self.kernel_shape, None, "int8", False)
            layout = self.scale_layout()
            shape = (self.kernel_shape[-1],) if layout is None else \
                stored_scale_shape(self.kernel_shape, layout["kernel"])
            self.kernel_scale = self.add_weight("kernel_scale", shape, _ones, trainable=False)
        elif mode == "int4":
            rows, columns = self.int4_matrix_shape()
            self.kernel = self.add_weight("kernel", (rows, packed_length(columns)), None, "int8",
                                          False)
            block = self.quantization.block_size
            shape = (columns,) if block is None else (-(-rows // block), columns)
            self.kernel_scale = self.add_weight("kernel_scale", shape, _ones, trainable=False)
            if block is not None:
                self.kernel_zero = self.add_weight("kernel_zero", shape, None, "int8", False)
                self.g_idx = self.add_weight(
                    "g_idx", (rows,), lambda s, d: (np.arange(rows) // block).astype(d),
                    "float32", False)
        elif mode == "float8":
            for name in _FLOAT8_NAMES:
                shape = () if name.endswith("_scale") else (self.dtype_policy.amax_history_length,)
                setattr(self, name, self.add_weight(name, shape, _ones if shape == () else None,
                                                    "float32"))
        if mode in (None, "float8"):
            self.kernel = self.add_weight("kernel", self.kernel_shape, self.kernel_initializer_fn())

    def build_lora(self) -> None:
        """The LoRA factors (after the bias, as Keras's `enable_lora` adds them), zero-filled.
        (Keras 3.15.1's Dense and Embedding re-enable LoRA in `build` without the configured
        alpha, so a Dense rebuilt from a config scales by 1; modelio keeps the configured
        `lora_alpha`, as the layer Keras saved computed. Loading a file zeroes the factors, so
        outputs agree either way.)"""
        self.lora_kernel_a = self.lora_kernel_b = None
        if self.lora.enabled:
            self.kernel.trainable = False  # Keras freezes the kernel (legacy .h5 order follows)
            self.lora_kernel_a = self.add_weight(
                "lora_kernel_a", (*self.kernel_shape[:-1], self.lora.rank), None, "float32")
            self.lora_kernel_b = self.add_weight(
                "lora_kernel_b", (self.lora.rank, self.kernel_shape[-1]), None, "float32")

    def int4_matrix_shape(self) -> tuple[int, int]:
        """`(rows, columns)` of the 2-D matrix Keras packs for int4: the product of the reduced
        (contracted) kernel axes by the product of the others (a plain reshape of the kernel)."""
        reduced = self.reduced_kernel_axes()
        rows = int(np.prod([self.kernel_shape[a] for a in reduced], dtype=np.int64))
        return rows, int(np.prod(self.kernel_shape, dtype=np.int64)) // max(rows, 1)

    # ----- the kernel's values ----------------------------------------------------------------------
    def integer_kernel(self) -> np.ndarray:
        """The stored integer kernel: int8 values, int4 unpacked to (rows, columns) int8."""
        kernel = self.value_of(self.kernel)
        if self.quantization.mode == "int4":
            rows, columns = self.int4_matrix_shape()
            if kernel.shape != (rows, packed_length(columns)):
                raise ConfigError(f"layer '{self.name}' ({type(self).__name__}): packed int4 "
                                  f"kernel has shape {kernel.shape}, expected "
                                  f"{(rows, packed_length(columns))}")
            return unpack_int4(kernel, columns, axis=-1)
        return kernel

    def dequantized_kernel(self) -> np.ndarray:
        """The float kernel the layer's integer kernel stands for (in the kernel's shape), as
        Keras's weight-only paths dequantize it; the float kernel in the other modes."""
        mode = self.quantization.mode
        if mode == "int8":
            layout = self.scale_layout()
            scale = self.value_of(self.kernel_scale)
            if layout is not None:
                scale = unadjust_scale(scale, layout["kernel"])
            return self.value_of(self.kernel).astype(np.float32) / scale
        if mode == "int4":
            q = self.integer_kernel()
            if self.quantization.grouped:
                flat = dequantize_grouped(q, self.value_of(self.kernel_scale),
                                          self.value_of(self.kernel_zero),
                                          self.value_of(self.g_idx), group_axis=0)
            else:
                flat = q.astype(np.float32) / self.value_of(self.kernel_scale)
            return flat.astype(np.float32).reshape(self.kernel_shape)
        return self.value_of(self.kernel)

    def lora_delta(self) -> np.ndarray | None:
        """`lora_alpha / lora_rank * (lora_kernel_a @ lora_kernel_b)`, or None without LoRA."""
        if not self.lora.enabled:
            return None
        product = np.matmul(self.value_of(self.lora_kernel_a), self.value_of(self.lora_kernel_b))
        return (np.float32(self.lora.factor) * product).astype(np.float32)

    def effective_kernel(self) -> np.ndarray:
        """The float kernel the layer multiplies by, LoRA product included."""
        kernel = self.dequantized_kernel()
        delta = self.lora_delta()
        return kernel if delta is None else (kernel + delta).astype(np.float32)

    # ----- computing --------------------------------------------------------------------------------
    def kernel_product(self, x) -> np.ndarray:
        """`x` contracted with the kernel as Keras computes it in the layer's mode (before the
        bias and the activation)."""
        mode, activation = self.quantization.mode, self.quantization.activation
        x = np.asarray(x, np.float32)
        layout = self.scale_layout()
        if mode is None:
            return self.contract(x, self.effective_kernel())
        if mode == "float8":
            return self.contract(float8_round_trip(x, self.value_of(self.inputs_scale)),
                                 float8_round_trip(self.value_of(self.kernel),
                                                   self.value_of(self.kernel_scale)))
        axes = (x.ndim - 1,) if layout is None else tuple(layout["input"]["reduced"])
        if mode == "int8" and activation is not None:
            q, scale = quantize_inputs(x, axes, activation)
            if layout is not None:
                scale = adjust_scale(scale, layout["input"])
            product = self.contract(q.astype(np.int32), self.value_of(self.kernel).astype(np.int32))
            y = product.astype(np.float32) / (scale * self.value_of(self.kernel_scale))
        elif layout is None and mode == "int8":
            y = self.contract(x, self.value_of(self.kernel).astype(np.float32)) / \
                self.value_of(self.kernel_scale)
        elif layout is None and mode == "int4" and not self.quantization.grouped:
            q = self.integer_kernel()
            if activation is not None:
                qx, scale = quantize_inputs(x, axes, activation)
                product = self.contract(qx.astype(np.int32), q.astype(np.int32)).astype(np.float32)
                y = product / (self.value_of(self.kernel_scale) * scale)
            else:
                y = self.contract(x, q.astype(np.float32)) / self.value_of(self.kernel_scale)
        elif mode == "int4" and activation is not None and not self.quantization.grouped:
            qx, scale = quantize_inputs(x, axes, activation)
            y = self.contract(qx.astype(np.float32), self.dequantized_kernel()) / \
                adjust_scale(scale, layout["input"])
        else:
            y = self.contract(x, self.dequantized_kernel())
        if self.lora.enabled:
            low = np.matmul(self.contract(x, self.value_of(self.lora_kernel_a)),
                            self.value_of(self.lora_kernel_b))
            y = y + np.float32(self.lora.factor) * low
        return y.astype(np.float32)

    def bias_for_mode(self) -> np.ndarray:
        """The bias as the mode adds it (float8 rounds a float32 bias through bfloat16)."""
        bias = self.value_of(self.bias)
        return bfloat16_round_trip(bias) if self.quantization.mode == "float8" else bias

    # ----- saving -----------------------------------------------------------------------------------
    def keras3_weight_groups(self):
        """The weights in the order Keras's `save_own_variables` writes them. With LoRA the
        kernel is written with the scaled product added (and reading it zeroes the factors)."""
        mode = self.quantization.mode
        if mode is None and not self.lora.enabled:  # as every other layer: trainable first
            return [("", [w for w in self._weights if w.trainable] +
                     [w for w in self._weights if not w.trainable])]
        by_name = {weight.name: weight for weight in self._weights}
        saved = []
        for name in _SAVED[mode]:
            weight = by_name.get(name)
            if weight is not None:
                saved.append(weight)
        if self.lora.enabled:
            kernel = by_name["kernel"]
            factors = [self.lora_kernel_a, self.lora_kernel_b]
            delta = self.lora_delta()
            if mode is not None and np.any(delta):
                raise UnsupportedError(
                    f"layer '{self.name}' ({type(self).__name__}): saving this {mode}-quantized "
                    f"layer with non-zero LoRA factors (Keras re-quantizes the merged kernel) is "
                    f"not supported")
            merged = self.value_of(kernel) + delta if mode is None else self.value_of(kernel)
            saved[saved.index(kernel)] = MergedWeight(kernel, merged, factors)
        return [("", saved)]

    def quantization_config_entries(self) -> dict:
        entries = {"quantization_config": self.quantization.config}
        entries.update(self.lora.config_entries())
        return entries
