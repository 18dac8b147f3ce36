"""Mirrors ``modules/face_restoration.py``."""
from __future__ import annotations

import numpy as np

from modules import shared


class FaceRestoration:
    """Mirrors ``face_restoration.FaceRestoration``: ``name()`` and ``restore(np_image)`` (RGB uint8 HxWx3)."""

    def name(self) -> str:
        return "None"

    def restore(self, np_image: np.ndarray) -> np.ndarray:
        return np_image


def restore_faces(np_image: np.ndarray) -> np.ndarray:
    """Mirrors ``face_restoration.restore_faces``: what "Restore faces" in txt2img/img2img calls per image.
    The first restorer named in Settings, or with no name set (``None``), the first registered one."""
    chosen = shared.opts.face_restoration_model
    restorers = [x for x in shared.face_restorers if x.name() == chosen or chosen is None]
    if not restorers:
        return np_image
    return restorers[0].restore(np_image)
