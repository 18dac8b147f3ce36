"""Mirrors ``modules/postprocessing.py``: ``run_postprocessing`` for the three Extras modes."""
from __future__ import annotations

import os

from PIL import Image

from modules import images, infotext_utils, scripts_postprocessing, shared


def run_postprocessing(runner, extras_mode: int, image, image_folder, input_dir, *args) -> list[tuple[Image.Image, str]]:
    """Mirrors ``run_postprocessing``: mode 0 one image as given, 1 a list of images (each through
    ``fix_image``), 2 every file of ``input_dir`` (``images.read``); anything but RGB/RGBA becomes RGB;
    one job, each image a step of it (``nextjob``, Interrupt stops before the next image, Skip drops the
    current one); each goes through all scripts; returns each result with the (quoted) infotext of the saved file."""
    shared.state.begin(job="extras")
    if extras_mode == 2:
        sources = [images.read(os.path.join(input_dir, name)) for name in sorted(os.listdir(input_dir))]
    elif extras_mode == 1:
        sources = [images.fix_image(source) for source in image_folder]
    else:
        sources = [image]
    shared.state.job_count = len(sources)
    results = []
    for source in sources:
        shared.state.nextjob()
        shared.state.skipped = False
        if shared.state.interrupted or shared.state.stopping_generation:
            break
        source = source if source.mode in ("RGBA", "RGB") else source.convert("RGB")
        pp = scripts_postprocessing.PostprocessedImage(source)
        runner.run(pp, list(args))
        if shared.state.skipped:
            continue
        infotext = ", ".join(k if k == v else f"{k}: {infotext_utils.quote(v)}" for k, v in pp.info.items() if v is not None)
        results.append((pp.image, infotext))
    shared.state.end()
    return results
