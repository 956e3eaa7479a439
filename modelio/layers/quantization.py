"""What Keras 3's `model.quantize(mode)` and `layer.enable_lora(rank)` leave in a Dense, EinsumDense
or Embedding layer, and how those layers compute with it at inference (keras/src/layers/core/ and
keras/src/quantizers/ of Keras 3.15.1).

- `QuantizationSetup`: the mode (from the layer's QuantizedDTypePolicy), the int4 block size, the
  input (activation) quantizer from `quantization_config`, and that config for writing back.
- `einsum_quantization_info`: for an EinsumDense equation, the reduced axes and the
  transpose / expand / squeeze steps Keras applies to the per-channel scales (Keras derives the
  stored `kernel_scale` shape from them, and aligns the inputs' scale with the output by them).
- `LoraSetup`: `lora_rank` / `lora_alpha`; the low-rank product is scaled by `alpha / rank`.
- `MergedWeight`: what a LoRA layer writes as its kernel (the kernel with the product added, as
  Keras's `save_own_variables` writes it); assigning it (reading a file) sets the kernel and
  zeroes the factors, as Keras's `load_own_variables` does."""

import string

import numpy as np

from ..errors import ConfigError, UnsupportedError
from ..graph.dtypes import numpy_dtype
from ..graph.weights import Weight
from ..kernels.quantization import abs_max_quantize

__all__ = ["QuantizationSetup", "LoraSetup", "MergedWeight", "einsum_quantization_info",
           "float8_round_trip", "bfloat16_round_trip", "quantize_inputs"]

_QUANTIZER_KEYS = {"value_range", "epsilon", "output_dtype", "axis"}
_CONFIG_CLASSES = {
    "int8": ("Int8QuantizationConfig", {"weight_quantizer", "activation_quantizer"}),
    "int4": ("Int4QuantizationConfig", {"weight_quantizer", "activation_quantizer", "block_size"}),
    "float8": ("Float8QuantizationConfig", set()),
}
FLOAT8_INPUTS = "float8_e4m3fn"


def _label(layer) -> str:
    return f"layer '{layer.name}' ({type(layer).__name__})"


def _check_quantizer(value, what: str, label: str):
    """`(value_range, epsilon)` of a serialized AbsMaxQuantizer, or None for null."""
    if value is None:
        return None
    if (not isinstance(value, dict) or value.get("class_name") != "AbsMaxQuantizer"
            or value.get("module") not in ("keras.quantizers", "keras")
            or value.get("registered_name") not in (None, "AbsMaxQuantizer")):
        raise UnsupportedError(f"{label}: quantization_config {what} must be a Keras "
                               f"AbsMaxQuantizer, got {value!r}")
    config = value.get("config")
    if not isinstance(config, dict) or set(config) - _QUANTIZER_KEYS:
        raise ConfigError(f"{label}: quantization_config {what}: unexpected config {config!r}")
    value_range = config.get("value_range", (-127, 127))
    epsilon = config.get("epsilon", 1e-7)
    if (not isinstance(value_range, (list, tuple)) or len(value_range) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value_range)
            or not -128 <= value_range[0] < value_range[1] <= 127):
        raise ConfigError(f"{label}: quantization_config {what}: value_range must be two "
                          f"integers within [-128, 127], got {value_range!r}")
    if not isinstance(epsilon, (int, float)) or isinstance(epsilon, bool) or epsilon < 0:
        raise ConfigError(f"{label}: quantization_config {what}: epsilon must be a number >= 0, "
                          f"got {epsilon!r}")
    if config.get("output_dtype", "int8") != "int8":
        raise UnsupportedError(f"{label}: quantization_config {what}: only output_dtype int8 "
                               f"is supported, got {config.get('output_dtype')!r}")
    return tuple(value_range), float(epsilon)


class QuantizationSetup:
    """A layer's quantization: `mode` None / "int8" / "int4" / "float8", `block_size` (int4
    groups; None = one scale per channel), `activation` (`(value_range, epsilon)` of the inputs'
    abs-max quantizer, or None) and `config` (the checked `quantization_config` to write back)."""

    def __init__(self, layer, quantization_config, modes=("int8", "int4", "float8")):
        label = _label(layer)
        policy = layer.dtype_policy
        self.mode = getattr(policy, "quantization_mode", None)
        self.block_size = getattr(policy, "block_size", None)
        self.config = None
        self.activation = None
        if self.mode is None:
            if quantization_config is not None:
                raise ConfigError(f"{label}: quantization_config is set but the dtype policy "
                                  f"{policy.name!r} is not quantized")
            return
        if self.mode not in modes:
            raise UnsupportedError(f"{label}: Keras does not quantize this layer to "
                                   f"{self.mode!r} (supported: {', '.join(modes)})")
        default_activation = ((-127, 127), 1e-7) if self.mode == "int8" else None
        if quantization_config is None:
            self.activation = default_activation
            return
        class_name, keys = _CONFIG_CLASSES[self.mode]
        if (not isinstance(quantization_config, dict)
                or quantization_config.get("class_name") != class_name
                or quantization_config.get("module") not in ("keras.quantizers", "keras")
                or quantization_config.get("registered_name") not in (None, class_name)):
            raise ConfigError(f"{label}: quantization_config must be a Keras {class_name} for "
                              f"mode {self.mode!r}, got {quantization_config!r}")
        config = quantization_config.get("config")
        if not isinstance(config, dict) or set(config) - keys:
            raise ConfigError(f"{label}: quantization_config: {class_name} takes "
                              f"{', '.join(sorted(keys)) or 'nothing'}, got {config!r}")
        _check_quantizer(config.get("weight_quantizer"), "weight_quantizer", label)
        if self.mode != "float8":
            self.activation = _check_quantizer(config.get("activation_quantizer"),
                                               "activation_quantizer", label)
        if self.mode == "int4" and "block_size" in config:
            block = config["block_size"]
            if block is not None and (not isinstance(block, int) or isinstance(block, bool)
                                      or block == 0 or block < -1):
                raise ConfigError(f"{label}: quantization_config block_size must be null, -1 or "
                                  f"a positive integer, got {block!r}")
            self.block_size = None if block in (None, -1) else block
        self.config = quantization_config

    @property
    def grouped(self) -> bool:
        return self.mode == "int4" and self.block_size is not None


class LoraSetup:
    """`lora_rank` / `lora_alpha` of a layer (Keras: alpha defaults to the rank)."""

    def __init__(self, layer, rank, alpha):
        label = _label(layer)
        if rank is not None and (not isinstance(rank, int) or isinstance(rank, bool) or rank < 0):
            raise ConfigError(f"{label}: lora_rank must be null or a positive integer, got {rank!r}")
        if alpha is not None and (not isinstance(alpha, (int, float)) or isinstance(alpha, bool)):
            raise ConfigError(f"{label}: lora_alpha must be null or a number, got {alpha!r}")
        self.rank = rank or None
        self.alpha = alpha if alpha is not None else self.rank
        if self.rank and getattr(layer, "kernel_constraint", None):
            raise ConfigError(f"{label}: LoRA is incompatible with kernel constraints (Keras "
                              f"refuses lora_rank with a kernel_constraint)")

    @property
    def enabled(self) -> bool:
        return bool(self.rank)

    @property
    def factor(self) -> float:
        """The scale of the low-rank product, `lora_alpha / lora_rank` (a Python float)."""
        return self.alpha / self.rank

    def config_entries(self) -> dict:
        return {"lora_rank": self.rank, "lora_alpha": self.alpha} if self.rank else {}


class MergedWeight(Weight):
    """A LoRA layer's kernel as Keras saves it: the kernel plus the scaled low-rank product.
    Assigning it (loading a file) stores the value in the kernel and zeroes the LoRA factors,
    as Keras's `load_own_variables` does."""

    __slots__ = ("target", "factors")

    def __init__(self, target: Weight, merged: np.ndarray, factors: list):
        super().__init__(target.name, merged.astype(target.value.dtype), target.layer_name,
                         target.trainable)
        self.target = target
        self.factors = factors

    def assign(self, value, copy: bool = True) -> None:
        self.target.assign(value, copy=copy)
        for factor in self.factors:
            factor.assign(np.zeros_like(factor.value))
        self.value = self.target.value


def quantize_inputs(x, axes, activation):
    """`(q, scale)` of the inputs' abs-max quantizer `activation = (value_range, epsilon)`."""
    value_range, epsilon = activation
    return abs_max_quantize(x, axes, value_range, epsilon)


def float8_round_trip(x, scale, dtype: str = FLOAT8_INPUTS):
    """Keras's `quantize_and_dequantize`: `x / scale` clipped to the float8 range, rounded to
    float8 (nearest even) and multiplied back by `scale`, in float32."""
    import ml_dtypes  # only when a float8 layer runs (modelio imports ml_dtypes on demand)

    x = np.asarray(x, np.float32)
    scale = np.float32(scale)
    limit = np.float32(float(ml_dtypes.finfo(getattr(ml_dtypes, dtype)).max))
    q = np.clip(x / scale, -limit, limit).astype(getattr(ml_dtypes, dtype))
    return q.astype(np.float32) * scale


def bfloat16_round_trip(x):
    """`x` rounded to bfloat16 and back (Keras's float8 Dense adds its bias so)."""
    return np.asarray(x, np.float32).astype(numpy_dtype("bfloat16")).astype(np.float32)


# ----- EinsumDense's scale layout -----------------------------------------------------------------

def full_specs(specs, input_rank: int) -> tuple[str, str, str]:
    """An EinsumDense equation's specs with the elided axes named, as Keras's quantization code
    names them (the unused letters in sorted order)."""
    input_spec, kernel_spec, output_spec, side = specs
    elided = input_rank - len(input_spec)
    if side is None or elided <= 0:
        return input_spec, kernel_spec, output_spec
    spare = sorted(set(string.ascii_letters) - set(input_spec + kernel_spec + output_spec))
    for letter in spare[:elided]:
        if side == "left":
            input_spec, output_spec = letter + input_spec, letter + output_spec
        else:
            input_spec, output_spec = input_spec + letter, output_spec + letter
    return input_spec, kernel_spec, output_spec


def einsum_quantization_info(input_spec: str, kernel_spec: str, output_spec: str) -> dict:
    """Keras's `_analyze_quantization_info`, step for step (including where it reuses the last
    `index` it computed when a reduced axis has no expand axis left to take)."""
    info = {}
    index = None
    for what, spec in (("input", input_spec), ("kernel", kernel_spec)):
        reduced = []
        for position, letter in enumerate(spec):
            index = output_spec.find(letter)
            if index == -1:
                reduced.append(position)
        info[what] = {"reduced": reduced}
    for what, spec in (("input", input_spec), ("kernel", kernel_spec)):
        info[what]["expand"] = [i for i, letter in enumerate(output_spec) if letter not in spec]
        info[what]["transpose"] = [spec.find(letter) for letter in output_spec if letter in spec]
    for what in ("input", "kernel"):
        part = info[what]
        part["squeeze"] = []
        for original in part["reduced"]:
            if part["expand"]:
                index = part["expand"].pop(0)
            else:
                part["squeeze"].append(original)
            if index is None:
                raise UnsupportedError(f"einsum {input_spec},{kernel_spec}->{output_spec}: Keras "
                                       f"cannot lay out the quantization scales of this equation")
            part["transpose"].insert(index, original)
    return info


def adjust_scale(scale, part: dict):
    """A kept-dims scale laid out as Keras's `_adjust_scale_for_quant` lays it out."""
    scale = np.asarray(scale)
    if part["transpose"]:
        scale = np.transpose(scale, part["transpose"])
    if part["expand"]:
        scale = np.expand_dims(scale, tuple(part["expand"]))
    if part["squeeze"]:
        scale = np.squeeze(scale, tuple(part["squeeze"]))
    return scale


def unadjust_scale(scale, part: dict):
    """Keras's `_adjust_scale_for_dequant`: the stored scale laid out along the kernel's axes."""
    scale = np.asarray(scale)
    if part["squeeze"]:
        scale = np.expand_dims(scale, tuple(part["squeeze"]))
    if part["expand"]:
        scale = np.squeeze(scale, tuple(part["expand"]))
    if part["transpose"]:
        scale = np.transpose(scale, np.argsort(part["transpose"]))
    return scale


def stored_scale_shape(kernel_shape, part: dict) -> tuple:
    """The shape of EinsumDense's per-channel int8 `kernel_scale` (Keras's
    `_get_kernel_scale_shape`)."""
    shape = [1 if axis in part["reduced"] else size for axis, size in enumerate(kernel_shape)]
    try:
        return adjust_scale(np.zeros(shape, np.int8), part).shape
    except ValueError as exc:  # Keras would drop a non-unit axis here
        raise UnsupportedError(f"Keras's kernel_scale layout for kernel {tuple(kernel_shape)} "
                               f"is not supported ({exc})") from None
