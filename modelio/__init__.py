"""modelio: read, write, run and convert Keras-style models without TensorFlow."""

from . import layers
from .errors import (
    ConfigError,
    FormatError,
    GraphError,
    ModelioError,
    UnsafeContentError,
    UnsupportedError,
    WeightMismatchError,
)
from .formats.config import (
    model_from_config,
    model_from_json,
    model_from_yaml,
    model_to_config,
)
from .graph import Functional, Input, Layer, Model, Sequential, SymbolicTensor, clear_session
from .saving import convert_to_onnx, load_model, save_model
from .version import __version__

__all__ = [
    "ConfigError", "FormatError", "Functional", "GraphError", "Input", "Layer", "Model",
    "ModelioError", "Sequential", "SymbolicTensor", "UnsafeContentError", "UnsupportedError",
    "WeightMismatchError", "clear_session", "convert_to_onnx", "export_onnx", "layers",
    "load_model", "model_from_config", "model_from_json", "model_from_yaml", "model_to_config", "save_model", "__version__",
]


def __getattr__(name: str):
    # `onnx` takes a tenth of a second to import: only ONNX work pays for it.
    if name == "export_onnx":
        from .onnx import export_onnx

        return export_onnx
    raise AttributeError(f"module 'modelio' has no attribute {name!r}")
