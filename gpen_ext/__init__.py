"""GPEN blind face restoration: model, checkpoint loading and the face pipeline, WebUI-independent."""
from .errors import CheckpointError, DetectorError, GPENError, ImageError
from .loading import load_model

__all__ = ["CheckpointError", "DetectorError", "GPENError", "ImageError"]
