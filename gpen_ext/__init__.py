"""GPEN blind face restoration: model, checkpoint loading and the face pipeline, WebUI-independent."""
from .errors import CheckpointError, DetectorError, GPENError, ImageError
from .faces.pipeline import FaceReport, restore_faces
from .model.loading import load_model

__all__ = ["CheckpointError", "DetectorError", "FaceReport", "GPENError", "ImageError", "load_model", "restore_faces"]
