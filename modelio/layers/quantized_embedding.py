"""Embedding quantized by Keras's `quantize("int8" | "int4")` or LoRA-enabled (`enable_lora`):
the table's weights in Keras's order, names and shapes, the order Keras saves them in, and the
lookup as Keras computes it (see modelio/layers/quantization.py).

int8: `embeddings` int8 (input_dim, output_dim), `embeddings_scale` (input_dim,): a row is
`q / scale[row]`. int4: `embeddings` packed two per byte along the features
(input_dim, ceil(output_dim / 2)); per-row `embeddings_scale` (input_dim,), or with a block size
`embeddings_scale` and `embeddings_zero` (input_dim, groups) and `g_idx` (output_dim,): a row is
`(q - zero[row, g]) * scale[row, g]`. LoRA adds `alpha / rank * a[row] @ b`."""

import numpy as np

from ..errors import ConfigError, UnsupportedError
from ..kernels.quantization import dequantize_grouped, packed_length, unpack_int4
from .quantization import LoraSetup, MergedWeight, QuantizationSetup

__all__ = ["QuantizedEmbeddingMixin"]

_SAVED = {None: ("embeddings",), "int8": ("embeddings", "embeddings_scale"),
          "int4": ("embeddings", "embeddings_scale", "embeddings_zero", "g_idx")}


def _ones(shape, dtype):
    return np.ones(shape, dtype)


class QuantizedEmbeddingMixin:
    """Weights and lookup of a (possibly quantized, possibly LoRA-enabled) embedding table."""

    supports_quantization = True

    def setup_quantization(self, lora_rank, lora_alpha, quantization_config) -> None:
        self.lora = LoraSetup(self, lora_rank, lora_alpha)
        self.quantization = QuantizationSetup(self, quantization_config, modes=("int8", "int4"))
        if not type(self).supports_quantization and (self.lora.enabled
                                                     or quantization_config is not None):
            raise UnsupportedError(f"layer '{self.name}' ({type(self).__name__}): LoRA and "
                                   f"quantization are supported on Embedding only")

    def build_quantized_embeddings(self, initializer) -> None:
        mode, rows, columns = self.quantization.mode, self.input_dim, self.output_dim
        self.embeddings_scale = self.embeddings_zero = self.g_idx = None
        if mode is None:
            self.embeddings = self.add_weight("embeddings", (rows, columns), initializer)
        else:
            width = columns if mode == "int8" else packed_length(columns)
            self.embeddings = self.add_weight("embeddings", (rows, width), None, "int8", False)
            block = self.quantization.block_size if mode == "int4" else None
            shape = (rows,) if block is None else (rows, -(-columns // block))
            self.embeddings_scale = self.add_weight("embeddings_scale", shape, _ones,
                                                    trainable=False)
            if block is not None:
                self.embeddings_zero = self.add_weight("embeddings_zero", shape, None, "int8",
                                                       False)
                self.g_idx = self.add_weight(
                    "g_idx", (columns,), lambda s, d: (np.arange(columns) // block).astype(d),
                    "float32", False)
        self.lora_embeddings_a = self.lora_embeddings_b = None
        if self.lora.enabled:
            self.embeddings.trainable = False  # Keras freezes the table (legacy .h5 order follows)
            self.lora_embeddings_a = self.add_weight(
                "lora_embeddings_a", (rows, self.lora.rank), None, "float32")
            self.lora_embeddings_b = self.add_weight(
                "lora_embeddings_b", (self.lora.rank, columns), None, "float32")

    def integer_embeddings(self) -> np.ndarray:
        """The stored integer table (int4 unpacked) as int8 (input_dim, output_dim)."""
        table = self.value_of(self.embeddings)
        if self.quantization.mode == "int4":
            expected = (self.input_dim, packed_length(self.output_dim))
            if table.shape != expected:
                raise ConfigError(f"layer '{self.name}' (Embedding): packed int4 embeddings have "
                                  f"shape {table.shape}, expected {expected}")
            return unpack_int4(table, self.output_dim, axis=-1)
        return table

    def dequantized_rows(self, indices) -> np.ndarray:
        """The table rows at `indices`, dequantized as Keras's lookup computes them."""
        mode = self.quantization.mode
        if mode is None:
            return np.take(self.value_of(self.embeddings), indices, axis=0)
        rows = np.take(self.integer_embeddings(), indices, axis=0).astype(np.float32)
        scale = np.take(self.value_of(self.embeddings_scale), indices, axis=0)
        if mode == "int4" and self.g_idx is not None:
            zero = np.take(self.value_of(self.embeddings_zero), indices, axis=0)
            return dequantize_grouped(rows, scale, zero, self.value_of(self.g_idx), -1)
        return rows / scale[..., None]

    def lora_delta(self) -> np.ndarray | None:
        """`lora_alpha / lora_rank * (a @ b)` (input_dim, output_dim), or None without LoRA."""
        if not self.lora.enabled:
            return None
        product = self.value_of(self.lora_embeddings_a) @ self.value_of(self.lora_embeddings_b)
        return (np.float32(self.lora.factor) * product).astype(np.float32)

    def effective_embeddings(self) -> np.ndarray:
        """The whole float table the layer looks rows up in (LoRA included)."""
        table = self.dequantized_rows(np.arange(self.input_dim))
        delta = self.lora_delta()
        return (table if delta is None else table + delta).astype(np.float32)

    def quantized_lookup(self, indices) -> np.ndarray:
        if self.quantization.mode is None:
            return np.take(self.effective_embeddings(), indices, axis=0)
        outputs = self.dequantized_rows(indices)
        if self.lora.enabled:
            low = np.take(self.value_of(self.lora_embeddings_a), indices, axis=0) @ \
                self.value_of(self.lora_embeddings_b)
            outputs = outputs + np.float32(self.lora.factor) * low
        return outputs.astype(np.float32)

    def keras3_weight_groups(self):
        """The weights in the order Keras's `save_own_variables` writes them; with LoRA the
        table is written with the product added (reading it zeroes the factors)."""
        mode = self.quantization.mode
        if mode is None and not self.lora.enabled:  # as every other layer: trainable first
            return [("", [w for w in self._weights if w.trainable] +
                     [w for w in self._weights if not w.trainable])]
        by_name = {weight.name: weight for weight in self._weights}
        saved = [by_name[name] for name in _SAVED[mode] if name in by_name]
        if self.lora.enabled:
            delta = self.lora_delta()
            if mode is not None and np.any(delta):
                raise UnsupportedError(
                    f"layer '{self.name}' (Embedding): saving this {mode}-quantized table with "
                    f"non-zero LoRA factors (Keras re-quantizes the merged table) is not supported")
            table = self.embeddings
            merged = self.value_of(table) + delta if mode is None else self.value_of(table)
            saved[0] = MergedWeight(table, merged,
                                    [self.lora_embeddings_a, self.lora_embeddings_b])
        return [("", saved)]

    def quantization_config_entries(self) -> dict:
        entries = {"quantization_config": self.quantization.config}
        entries.update(self.lora.config_entries())
        return entries
