"""Mirrors ``modules/processing.py``: the processing object's fields scripts use, and the per-image part
of ``process_images_inner`` (face restoration, ``postprocess_image``, infotext)."""
from __future__ import annotations

import numpy as np
from PIL import Image

from modules import face_restoration, infotext_utils, scripts, shared


class StableDiffusionProcessing:
    """Mirrors ``StableDiffusionProcessing``: ``script_args``, ``extra_generation_params``, ``comment``."""

    def __init__(self, script_runner: scripts.ScriptRunner, script_args: list, restore_faces: bool = False):
        self.scripts = script_runner
        self.script_args = script_args
        self.restore_faces = restore_faces
        self.extra_generation_params: dict = {}
        self.comments: dict = {}

    def comment(self, text: str) -> None:
        self.comments[text] = 1


def create_infotext(p: StableDiffusionProcessing) -> str:
    """Mirrors ``processing.create_infotext``: the parameter line ``key: value, ...`` (no prompt here), each
    value quoted where it holds a comma or colon, a key alone where its value equals it."""
    params = {"Face restoration": shared.opts.face_restoration_model if p.restore_faces else None, **p.extra_generation_params}
    return ", ".join(k if k == v else f"{k}: {infotext_utils.quote(v)}" for k, v in params.items() if v is not None)


def process_images(p: StableDiffusionProcessing, samples: list[np.ndarray]) -> tuple[list[Image.Image], list[str]]:
    """Mirrors ``process_images_inner`` after sampling: for each decoded sample, ``restore_faces`` when
    "Restore faces" is on, then the scripts' ``postprocess_image``, then the infotext."""
    p.scripts.process(p)
    images, infotexts = [], []
    for sample in samples:
        if p.restore_faces:
            sample = face_restoration.restore_faces(sample)
        pp = scripts.PostprocessImageArgs(Image.fromarray(sample))
        p.scripts.postprocess_image(p, pp)
        images.append(pp.image)
        infotexts.append(create_infotext(p))
    return images, infotexts
