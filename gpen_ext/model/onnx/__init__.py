"""GPEN as ONNX files: ``graph`` reads a file's declarations (no ``onnx`` package needed), ``check``
decides whether it is GPEN, ``model`` runs it with onnxruntime, ``export`` writes one from a checkpoint.

This subpackage is ``gpen_ext.model.onnx``; ``import onnx`` anywhere is still the PyPI package
(absolute imports), which only ``export`` needs, through torch's exporter.
"""
from .export import ExportResult, export_generator, export_onnx
from .model import ONNXGenerator

__all__ = ["ExportResult", "ONNXGenerator", "export_generator", "export_onnx"]
