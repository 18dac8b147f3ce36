"""What the video file side costs without any face work: an identity ``restore_video`` pass.

``python -m gpen_ext.bench.video [--size 640x360 1280x720] [--frames 120]`` makes a synthetic H.264 +
AAC clip of each size (``clip_files``), then times decoding alone (``iter_frames``) and the full
pass (decode, upright RGB, encode at the output settings, remux, atomic rename), and prints frames
per second for each, then the same as one JSON line (last line) for scripts.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ..video import iter_frames, restore_video
from .clip_files import make_clip


def frames_per_second(run, frames: int) -> float:
    start = time.perf_counter()
    run()
    return frames / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gpen_ext.bench.video", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", nargs="+", default=["640x360", "1280x720"], help="WIDTHxHEIGHT of each clip")
    parser.add_argument("--frames", type=int, default=120)
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.size:
            width, height = (int(side) for side in size.split("x"))
            source, target = Path(folder) / f"{size}.mp4", Path(folder) / f"{size}-out.mp4"
            make_clip(source, frames=args.frames, width=width, height=height, rate=30)
            decode = frames_per_second(lambda: sum(1 for _ in iter_frames(source)), args.frames)
            full = frames_per_second(lambda: restore_video(source, target, lambda frame, index: frame), args.frames)
            results.append({"size": size, "frames": args.frames, "decode_fps": round(decode, 1),
                            "identity_pass_fps": round(full, 1)})
            print(f"{size}: decode {decode:.1f} frames/s, identity pass (decode + encode) {full:.1f} frames/s")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
