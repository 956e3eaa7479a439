"""Dtype policies: what a layer config's `dtype` entry means and how it is written back."""

import numpy as np

from ..errors import ConfigError, UnsupportedError
from .quantized_dtypes import QuantizedDTypePolicy, quantized_policy
from .serialized import DTYPE_POLICY, check_object

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
# Float dtypes narrower than float32: Keras's mixed precision and half-precision policies.
HALF_DTYPES = ("float16", "bfloat16")
SUPPORTED_DTYPES = FLOAT_DTYPES + (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool",
)
# Keras's name for text tensors (a model input of string lookups and TextVectorization). It has
# no numpy dtype of its own: values arrive as numpy StringDType, `<U`/`S` or object arrays of
# str/bytes, and layers see them as object arrays of Python str (`as_string_array`).
STRING_DTYPE = "string"


def numpy_dtype(name: str) -> np.dtype:
    """The numpy dtype for a supported dtype name. bfloat16 comes from `ml_dtypes` (which `onnx`
    depends on), imported only here, the first time a model needs bfloat16: numpy has no
    bfloat16 of its own, and start-up does not pay for the import. Once imported, numpy knows
    the name too (`np.dtype("bfloat16")`, `astype("bfloat16")`). Keras's "string" is object."""
    if name == STRING_DTYPE:
        return np.dtype(object)
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError as exc:  # pragma: no cover - onnx requires ml_dtypes
            raise UnsupportedError("dtype 'bfloat16' needs the ml_dtypes package "
                                   "(pip install ml_dtypes)") from exc
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def is_float_dtype(dtype) -> bool:
    """True for numpy float dtypes and for bfloat16 (whose numpy kind is 'V', not 'f')."""
    dtype = np.dtype(dtype)
    return dtype.kind == "f" or dtype.name == "bfloat16"


def dtype_name(dtype) -> str:
    """The name modelio (and Keras) use for a numpy dtype: 'float16', 'bfloat16', ..."""
    return np.dtype(dtype).name


class DTypePolicy:
    """A Keras dtype policy: `float32`, `float16`, `bfloat16`, `mixed_float16`, `mixed_bfloat16`.

    `compute_dtype` is what the kernels compute in, `variable_dtype` what weights are stored in
    (a `mixed_*` policy keeps float32 variables and computes in the half dtype). bfloat16 arrays
    are `ml_dtypes.bfloat16` arrays, the type Keras itself returns for them.
    """

    def __init__(self, name: str = "float32"):
        if not isinstance(name, str):
            raise ConfigError(f"dtype must be a string, got {name!r}")
        self.name = name
        if name.startswith("mixed_"):
            compute, variable = name[len("mixed_"):], "float32"
            if compute not in HALF_DTYPES:  # Keras knows mixed_float16 and mixed_bfloat16 only
                raise UnsupportedError(f"dtype policy {name!r} is not a Keras policy (mixed "
                                       f"precision is mixed_float16 or mixed_bfloat16)")
        else:
            compute = variable = name
        for dtype in (compute, variable):
            if dtype not in SUPPORTED_DTYPES and name != STRING_DTYPE:
                raise UnsupportedError(f"dtype {name!r} is not supported (numpy has no such type)")
            numpy_dtype(dtype)  # bfloat16: ml_dtypes, imported now that a layer needs it
        self.compute_dtype = compute
        self.variable_dtype = variable

    def get_config(self) -> dict:
        return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": self.name},
                "registered_name": None}


def policy_from_config(value) -> DTypePolicy | QuantizedDTypePolicy:
    """Accept `None`, a dtype string, a numpy dtype, or a serialized (Keras 3 or Keras 2) policy.

    A serialized policy is checked like every nested object (`serialized.check_object`): a
    foreign module, a class other than Keras's float policies, a custom `registered_name` or an
    unexpected config key is an UnsafeContentError."""
    if value is None:
        return DTypePolicy("float32")
    if isinstance(value, DTypePolicy):
        return value
    if isinstance(value, QuantizedDTypePolicy):
        return value
    quantized = quantized_policy(value)
    if quantized is not None:
        return quantized
    if isinstance(value, dict):
        name = check_object(value, DTYPE_POLICY)["config"].get("name")
        if name is None:
            raise ConfigError(f"dtype policy must hold config.name, got {value!r}")
        return DTypePolicy(name)
    if isinstance(value, (type, np.dtype)):
        return DTypePolicy(np.dtype(value).name)
    return DTypePolicy(value)


def standardize_dtype(value) -> str:
    """A plain dtype name from a string, a numpy dtype or a serialized dtype policy (checked
    like every nested object); refuses what numpy cannot hold."""
    if isinstance(value, dict):
        value = check_object(value, DTYPE_POLICY, "dtype")["config"].get("name")
    try:
        name = np.dtype(value).name if not isinstance(value, str) else value
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"not a dtype: {value!r}") from exc
    if name not in SUPPORTED_DTYPES and name != STRING_DTYPE:
        raise UnsupportedError(f"dtype {name!r} is not supported")
    numpy_dtype(name)  # bfloat16: ml_dtypes, imported now that it is needed
    return name


def as_string_array(values, what: str) -> np.ndarray:
    """`values` (numpy StringDType, `<U`, `S` (UTF-8) or object arrays of str/bytes, or nested
    lists of them) as an object array of Python str; anything else is a ConfigError naming
    `what` (the layer)."""
    array = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    kind = array.dtype.kind
    if kind == "T" or kind == "U":
        return array.astype(object)
    if kind == "S":
        flat = [_decoded(value, what) for value in array.reshape(-1).tolist()]
        return np.array(flat + [None], dtype=object)[:-1].reshape(array.shape)
    if kind == "O":
        flat = array.reshape(-1).tolist()
        if all(type(value) is str for value in flat):
            return array
        if all(isinstance(value, (str, bytes, np.str_, np.bytes_)) for value in flat):
            decoded = [_decoded(value, what) if isinstance(value, bytes) else str(value)
                       for value in flat]
            return np.array(decoded + [None], dtype=object)[:-1].reshape(array.shape)
    raise ConfigError(f"{what} expects strings (a numpy StringDType, str or bytes array), got "
                      f"{array.dtype} values")


def _decoded(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what}: a byte string input is not UTF-8 text") from exc
