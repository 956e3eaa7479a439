"""ONNX export (and, later, import) for modelio models."""

from .export import convert_to_onnx, export_onnx

__all__ = ["convert_to_onnx", "export_onnx"]
