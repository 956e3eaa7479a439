"""ONNX export (and, later, import) for modelio models."""

from .export import export_onnx

__all__ = ["export_onnx"]
