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


class StableDiffusionProcessingImg2Img(StableDiffusionProcessing):
    """Mirrors ``StableDiffusionProcessingImg2Img``: the input frame(s) in ``init_images``."""

    def __init__(self, script_runner: scripts.ScriptRunner, script_args: list, restore_faces: bool = False):
        super().__init__(script_runner, script_args, restore_faces)
        self.init_images: list[Image.Image] = []


def create_infotext(p: StableDiffusionProcessing) -> str:
    """Mirrors ``processing.create_infotext``: the parameter line ``key: value, ...`` (no prompt here), each
    value quoted where it holds a comma or colon, a key alone where its value equals it."""
    params = {"Face restoration": shared.opts.face_restoration_model if p.restore_faces else None, **p.extra_generation_params}
    return ", ".join(k if k == v else f"{k}: {infotext_utils.quote(v)}" for k, v in params.items() if v is not None)


def process_images(p: StableDiffusionProcessing, samples: list[np.ndarray]) -> tuple[list[Image.Image], list[str]]:
    """Mirrors one batch of ``process_images_inner``, in the job that ``call_queue.wrap_gradio_gpu_call``
    begins and ends: the job counters and Skip/Interrupt checks before the batch, ``nextjob()`` after
    sampling, then for each decoded sample ``restore_faces`` when "Restore faces" is on, the scripts'
    ``postprocess_image`` and the infotext."""
    shared.state.begin(job="txt2img")
    try:
        return process_images_inner(p, samples)
    finally:
        shared.state.end()


def process_images_inner(p: StableDiffusionProcessing, samples: list[np.ndarray]) -> tuple[list[Image.Image], list[str]]:
    """Mirrors ``process_images_inner`` within a job already begun (``process_images`` above, or img2img's
    ``process_batch``, which runs it once per input frame with the same ``p``)."""
    p.scripts.process(p)
    if shared.state.job_count == -1:
        shared.state.job_count = 1  # p.n_iter
    if shared.state.skipped:
        shared.state.skipped = False
    if shared.state.interrupted or shared.state.stopping_generation:
        return [], []
    shared.state.nextjob()
    images, infotexts = [], []
    for sample in samples:
        if p.restore_faces:
            sample = face_restoration.restore_faces(sample)
        pp = scripts.PostprocessImageArgs(Image.fromarray(sample))
        p.scripts.postprocess_image(p, pp)
        images.append(pp.image)
        infotexts.append(create_infotext(p))
    return images, infotexts
