"""The two-pass smoother's window lengths swept: ``python tests/measure_windows.py`` prints the table.

``landmark_smoothing.py`` fits lines over a centred window of frames: ``CENTRE_HALF_WINDOW`` for the
landmarks' centre (which carries a pan) and ``SHAPE_HALF_WINDOW`` for their shape. Longer windows
average more noise away but round the start and the stop of a pan over more frames. Each pair is run
on the clips of ``measure_temporal.py`` (the portrait, the astronaut and the two-face frame, seeds 0
and 1: eight faces), the detector's answers remembered, so only the smoothing changes between rows:

- jitter ratio: untracked jitter RMS over the smoothed one, the worst (lowest) face, whole clip and pan;
- |lag|: the largest delay behind the untracked crops, either way (frames);
- step: the largest frame-to-frame corner move of any face (px), where a rounded pan start shows;
- spread: the largest still spread (px).
"""
from __future__ import annotations

from itertools import product

from measure_temporal import (
    RememberingDetector,
    astronaut,
    clip_of,
    detector,
    measures,
    per_frame_detections,
    portrait,
    smoothed,
    two_faces,
)

from gpen_ext.faces import landmark_smoothing

CENTRE_WINDOWS = (3, 4, 6, 8, 10)
SHAPE_WINDOWS = (6, 9, 12, 16, 20)


def main() -> None:
    faces = RememberingDetector(detector())
    clips = []
    for photo, count in ((portrait(), 1), (astronaut(), 1), (two_faces(), 2)):
        for seed in (0, 1):
            clip = clip_of(photo, seed)
            clips.append((clip, per_frame_detections(clip, faces), count))
    print("| centre half-window | shape half-window | worst jitter ratio (pan) | worst abs lag | largest step | largest spread |")
    print("|---|---|---|---|---|---|")
    for centre, shape in product(CENTRE_WINDOWS, SHAPE_WINDOWS):
        landmark_smoothing.CENTRE_HALF_WINDOW, landmark_smoothing.SHAPE_HALF_WINDOW = centre, shape
        ratios, pan_ratios, lags, steps, spreads = [], [], [], [], []
        for clip, raw, count in clips:
            planned = smoothed(clip, faces)
            for face in range(count):
                off, on = measures(clip, raw, raw, face), measures(clip, planned, raw, face)
                ratios.append(off.jitter_rms / on.jitter_rms)
                pan_ratios.append(off.pan_jitter_rms / on.pan_jitter_rms)
                lags.append(abs(on.filter_lag))
                steps.append(on.jitter_max)
                spreads.append(max(on.spreads))
        print(f"| {centre} | {shape} | {min(ratios):.2f}x ({min(pan_ratios):.2f}x) | {max(lags):.2f} frames "
              f"| {max(steps):.2f} px | {max(spreads):.3f} px |")


if __name__ == "__main__":
    main()
