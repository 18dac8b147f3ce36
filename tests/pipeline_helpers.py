"""Stand-in restorers and measures shared by the pipeline, detection and CLI tests."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from gpen_ext.faces.image_files import read_image


class IdentityRestorer(torch.nn.Module):
    """Returns its input: any change in the output comes from the pipeline's geometry alone."""

    def __init__(self, size: int = 512):
        super().__init__()
        self.size = size
        self.calls: list[tuple[tuple[int, ...], torch.dtype, float, float]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append((tuple(x.shape), x.dtype, float(x.min()), float(x.max())))
        return x


class BrightenRestorer(IdentityRestorer):
    """Adds a constant to the face: the pasted change shows the blend weight directly."""

    def __init__(self, size: int = 512, amount: float = 0.3):
        super().__init__(size)
        self.amount = amount

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.amount


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(peak**2 / error))


def max_adjacent_jump(difference: np.ndarray) -> float:
    """The largest change of ``difference`` between horizontally or vertically adjacent pixels."""
    difference = difference.astype(np.float64)
    return float(max(np.abs(np.diff(difference, axis=0)).max(), np.abs(np.diff(difference, axis=1)).max()))


def box_slices(box: tuple[float, ...]) -> tuple[slice, slice]:
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return slice(max(y0, 0), y1), slice(max(x0, 0), x1)


def load(test_images_dir: Path, name: str) -> np.ndarray:
    return read_image(test_images_dir / name)


class SolidRestorer(IdentityRestorer):
    """Returns one colour everywhere: every pixel the paste touches shows it."""

    def __init__(self, size: int = 512, rgb: tuple[float, float, float] = (1.0, -1.0, 1.0)):
        super().__init__(size)
        self.rgb = torch.tensor(rgb).view(1, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rgb.to(x).expand_as(x).clone()


def closeup(
    image: np.ndarray, box: tuple[float, ...], side: int, fill: float = 0.9
) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """A square crop around ``box`` (the box ``fill`` of its side), upscaled to ``side`` px: a face filling the
    frame; and the map of (N, 2) points of ``image`` into it."""
    import cv2

    x0, y0, x1, y1 = box
    half = max(x1 - x0, y1 - y0) / 2 / fill
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    top, left = int(max(cy - half, 0)), int(max(cx - half, 0))
    crop = np.ascontiguousarray(image[top : int(cy + half), left : int(cx + half), :3])
    scale = side / max(crop.shape[:2])
    photo = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return photo, lambda points: (points - [left, top] + 0.5) * scale - 0.5
