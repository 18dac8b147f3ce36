"""Mirrors ``modules/img2img.py``: ``process_batch``, batch img2img over a list of input frames."""
from __future__ import annotations

import numpy as np
from PIL import Image

from modules import processing, shared


def process_batch(p: processing.StableDiffusionProcessingImg2Img, frames: list[Image.Image]) -> list[Image.Image]:
    """Mirrors ``process_batch`` in the one job ``call_queue.wrap_gradio_gpu_call`` begins: ``job_count`` is
    frames x ``n_iter`` (1 here), and per frame ``state.job`` says which, ``p.init_images`` holds it, and
    ``process_images`` runs with the same ``p``. Without a diffusion model the "generated" image is the frame.
    """
    shared.state.begin(job="img2img")
    shared.state.job_count = len(frames)
    results = []
    for index, frame in enumerate(frames):
        shared.state.job = f"{index + 1} out of {len(frames)}"
        if shared.state.skipped:
            shared.state.skipped = False
        if shared.state.interrupted or shared.state.stopping_generation:
            break
        p.init_images = [frame]
        images, _ = processing.process_images_inner(p, [np.asarray(frame)])
        results += images
    shared.state.end()
    return results
