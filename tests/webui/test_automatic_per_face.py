"""``Automatic`` over models/GPEN holding two sizes: each face its model, said in the infotext and the API."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import RECIPE_MODEL, gpen_processing
from modules import processing
from test_end_to_end import api_client, b64_png

from gpen_ext.bench.recipe import recipe_state_dict
from gpen_ext.model.arch.config import RELEASED_CONFIGS


@pytest.fixture
def two_sizes(gpen_model: Path) -> Path:
    """models/GPEN with the recipe GPEN-BFR-256 and a recipe GPEN-BFR-512."""
    torch.save(recipe_state_dict(RELEASED_CONFIGS[512]), gpen_model.parent / "GPEN-BFR-512.pth")
    return gpen_model.parent


def test_accordion_infotext_says_which_model_each_image_used(two_sizes: Path, portrait: np.ndarray) -> None:
    small = cv2.resize(portrait, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    p = gpen_processing([True, "Automatic", True, 1.0, "all"])
    images, infotexts = processing.process_images(p, [portrait, small])
    assert all(text.startswith("GPEN: Automatic, ") for text in infotexts)
    assert infotexts[0].endswith("GPEN models: GPEN-BFR-512 (1 face)")
    assert infotexts[1].endswith(f"GPEN models: {RECIPE_MODEL} (1 face)")
    assert not np.array_equal(np.asarray(images[1]), small)


def test_api_reports_each_face_model_and_an_explicit_choice_wins(two_sizes: Path, portrait: np.ndarray) -> None:
    small = cv2.resize(portrait, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    client = api_client()
    assert client.get("/gpen/v1/models").json()["per_face"] == ["GPEN-BFR-256", "GPEN-BFR-512"]
    automatic = client.post("/gpen/v1/restore", json={"image": b64_png(small)}).json()
    assert automatic["model"] == "Automatic" and [f["model"] for f in automatic["faces"]] == [RECIPE_MODEL]
    forced = client.post("/gpen/v1/restore", json={"image": b64_png(small), "model": "GPEN-BFR-512"}).json()
    assert forced["model"] == "GPEN-BFR-512" and [f["model"] for f in forced["faces"]] == ["GPEN-BFR-512"]
