"""GPEN blind face restoration: model, checkpoint loading and the face pipeline, WebUI-independent."""
from .errors import CheckpointError, DetectorError, GPENError, ImageError

__all__ = ["CheckpointError", "DetectorError", "GPENError", "ImageError"]
