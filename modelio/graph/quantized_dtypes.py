"""Keras 3's quantized dtype policies, which `model.quantize(mode)` gives a layer:

    {"class_name": "QuantizedDTypePolicy", "config": {"mode": "int8", "source_name": "float32"}}
    {"class_name": "Int4DTypePolicy", "config": {"mode": "int4/128", "source_name": "float32"}}
    {"class_name": "QuantizedFloat8DTypePolicy",
     "config": {"mode": "float8", "source_name": "float32", "amax_history_length": 1024}}

(module `keras.dtype_policies`), or the names `int8_from_float32`, `int4/128_from_float32`,
`float8_from_float32`. The layer computes in the source policy's dtypes; `quantization_mode`
says how its kernel is stored. GPTQ and AWQ (calibrated in Keras) are refused by name."""

from ..errors import ConfigError, UnsafeContentError, UnsupportedError

__all__ = ["QuantizedDTypePolicy", "QUANTIZED_POLICY_CLASSES", "quantized_policy"]

QUANTIZATION_MODES = ("int8", "int4", "float8")
_REFUSED_MODES = ("gptq", "awq")
_MODULES = ("keras", "keras.dtype_policies", "keras.src.dtype_policies.dtype_policy")
QUANTIZED_POLICY_CLASSES = {
    "QuantizedDTypePolicy": ("mode", "source_name"),
    "Int4DTypePolicy": ("mode", "source_name"),
    "QuantizedFloat8DTypePolicy": ("mode", "source_name", "amax_history_length"),
    "GPTQDTypePolicy": None, "AWQDTypePolicy": None,
}


class QuantizedDTypePolicy:
    """A quantized layer's policy: `mode` ("int8", "int4/<block>" or "float8") over a float
    `source_name` policy. `block_size` is the int4 block (None: one scale per output channel)."""

    def __init__(self, mode, source_name="float32", amax_history_length=None):
        if not isinstance(mode, str):
            raise ConfigError(f"quantization mode must be a string, got {mode!r}")
        base, _, block = mode.partition("/")
        if base in _REFUSED_MODES:
            raise UnsupportedError(f"quantization mode {mode!r} (calibrated {base.upper()} "
                                   f"weights) is not supported")
        if base not in QUANTIZATION_MODES or (block and base != "int4"):
            raise ConfigError(f"unknown quantization mode {mode!r}; expected int8, "
                              f"int4/<block size> or float8")
        self.block_size = None
        if base == "int4":
            try:
                block_size = int(block) if block else -1
            except ValueError:
                raise ConfigError(f"quantization mode {mode!r}: the int4 block size must be an "
                                  f"integer") from None
            if block_size == 0 or block_size < -1:
                raise ConfigError(f"quantization mode {mode!r}: the int4 block size must be -1 "
                                  f"or positive")
            self.block_size = None if block_size == -1 else block_size
        self.mode = mode
        self.quantization_mode = base
        if source_name != "float32":
            raise UnsupportedError(f"quantization mode {mode!r} over {source_name!r}: only "
                                   f"float32 sources are supported")
        self.source_name = source_name
        self.compute_dtype = self.variable_dtype = "float32"
        self.amax_history_length = None
        if base == "float8":
            length = 1024 if amax_history_length is None else amax_history_length
            if not isinstance(length, int) or isinstance(length, bool) or length < 1:
                raise ConfigError(f"amax_history_length must be a positive integer, got "
                                  f"{amax_history_length!r}")
            self.amax_history_length = length
        elif amax_history_length is not None:
            raise ConfigError(f"quantization mode {mode!r} takes no amax_history_length")
        self.name = f"{mode}_from_{source_name}"
        self.class_name = ("QuantizedFloat8DTypePolicy" if base == "float8" else
                           "Int4DTypePolicy" if block else "QuantizedDTypePolicy")

    def get_config(self) -> dict:
        config = {"mode": self.mode, "source_name": self.source_name}
        if self.quantization_mode == "float8":
            config["amax_history_length"] = self.amax_history_length
        return {"module": "keras.dtype_policies", "class_name": self.class_name,
                "config": config, "registered_name": None}


def quantized_policy(value) -> QuantizedDTypePolicy | None:
    """The quantized policy `value` describes (a serialized policy or a `<mode>_from_<source>`
    name), or None when it is not a quantized one."""
    if isinstance(value, str):
        mode, found, source = value.partition("_from_")
        return QuantizedDTypePolicy(mode, source) if found else None
    if not isinstance(value, dict) or value.get("class_name") not in QUANTIZED_POLICY_CLASSES:
        return None
    class_name = value["class_name"]
    if value.get("module") not in _MODULES or value.get("registered_name") not in (None, class_name):
        raise UnsafeContentError(f"dtype policy {class_name}: module {value.get('module')!r} / "
                                 f"registered_name {value.get('registered_name')!r} is not Keras's")
    keys = QUANTIZED_POLICY_CLASSES[class_name]
    if keys is None:
        raise UnsupportedError(f"dtype policy {class_name} (calibrated weights) is not supported")
    config = value.get("config")
    if not isinstance(config, dict) or set(config) - set(keys) or "mode" not in config:
        raise ConfigError(f"dtype policy {class_name}: config must hold {', '.join(keys)}, "
                          f"got {config!r}")
    policy = QuantizedDTypePolicy(config["mode"], config.get("source_name") or "float32",
                                  config.get("amax_history_length"))
    expected = {"QuantizedDTypePolicy": ("int8", "int4"), "Int4DTypePolicy": ("int4",),
                "QuantizedFloat8DTypePolicy": ("float8",)}[class_name]
    if policy.quantization_mode not in expected:
        raise ConfigError(f"dtype policy {class_name} cannot hold mode {config['mode']!r}")
    policy.class_name = class_name
    return policy
