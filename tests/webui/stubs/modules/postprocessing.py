"""Mirrors ``modules/postprocessing.py``: ``run_postprocessing`` for the three Extras modes."""
from __future__ import annotations

import os

from PIL import Image

from modules import images, infotext_utils, scripts_postprocessing


def run_postprocessing(runner, extras_mode: int, image, image_folder, input_dir, *args) -> list[tuple[Image.Image, str]]:
    """Mirrors ``run_postprocessing``: mode 0 one image as given, 1 a list of images (each through
    ``fix_image``), 2 every file of ``input_dir`` (``images.read``); anything but RGB/RGBA becomes RGB;
    each goes through all scripts; returns each result with the (quoted) infotext of the saved file."""
    if extras_mode == 2:
        sources = [images.read(os.path.join(input_dir, name)) for name in sorted(os.listdir(input_dir))]
    elif extras_mode == 1:
        sources = [images.fix_image(source) for source in image_folder]
    else:
        sources = [image]
    results = []
    for source in sources:
        source = source if source.mode in ("RGBA", "RGB") else source.convert("RGB")
        pp = scripts_postprocessing.PostprocessedImage(source)
        runner.run(pp, list(args))
        infotext = ", ".join(k if k == v else f"{k}: {infotext_utils.quote(v)}" for k, v in pp.info.items() if v is not None)
        results.append((pp.image, infotext))
    return results
