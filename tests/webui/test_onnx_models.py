"""GPEN ONNX files in the WebUI: ReActor's folder listed beside models/GPEN, restored like a .pth."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import RECIPE_MODEL, gpen_processing
from modules import processing, shared
from test_end_to_end import api_client, assert_face_restored_only, b64_png, decode

from gpen_ext.model.onnx import export_onnx

REACTOR_FOLDER = "facerestore_models"


@pytest.fixture(scope="session")
def recipe_onnx(recipe_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recipe GPEN-BFR-256 exported to ONNX, named as ReActor names its files."""
    return export_onnx(recipe_checkpoint, tmp_path_factory.mktemp("onnx") / f"{RECIPE_MODEL}.onnx").path


@pytest.fixture
def reactor_model(webui: Path, recipe_onnx: Path) -> Path:
    """ReActor's models/facerestore_models with a GPEN ONNX file and other restorers GPEN must not list."""
    folder = webui / REACTOR_FOLDER
    folder.mkdir()
    (folder / "codeformer-v0.1.0.pth").write_bytes(b"not GPEN")
    (folder / "GFPGANv1.4.onnx").write_bytes(b"not GPEN")
    target = folder / recipe_onnx.name
    target.write_bytes(recipe_onnx.read_bytes())
    return target


def test_settings_list_reactors_gpen_file_and_the_restorer_uses_it(reactor_model: Path, portrait: np.ndarray) -> None:
    assert shared.opts.data_labels["gpen_model"].component_args()["choices"] == ["Automatic", RECIPE_MODEL]
    restorer = next(r for r in shared.face_restorers if r.name() == "GPEN")
    before = reactor_model.read_bytes()
    assert_face_restored_only(portrait, restorer.restore(portrait))
    assert reactor_model.read_bytes() == before, "ReActor's file is never modified"


def test_accordion_writes_the_onnx_models_name(reactor_model: Path, portrait: np.ndarray) -> None:
    (image,), (infotext,) = processing.process_images(gpen_processing([True, RECIPE_MODEL, True, 1.0, "all"]), [portrait])
    assert_face_restored_only(portrait, np.asarray(image))
    assert infotext.startswith(f"GPEN: {RECIPE_MODEL}, GPEN visibility: 1.0, GPEN faces: all")


def test_api_restores_with_an_onnx_model_beside_a_pth(gpen_model: Path, reactor_model: Path, portrait: np.ndarray) -> None:
    client = api_client()
    names = [model["name"] for model in client.get("/gpen/v1/models").json()["models"]]
    assert names == [f"{RECIPE_MODEL}.pth", f"{RECIPE_MODEL}.onnx"], "models/GPEN first, then ReActor's folder"
    body = client.post("/gpen/v1/restore", json={"image": b64_png(portrait), "model": f"{RECIPE_MODEL}.onnx"}).json()
    assert body["restored"] and body["warning"] == ""
    onnx_result = decode(body["image"])
    assert_face_restored_only(portrait, onnx_result)
    body = client.post("/gpen/v1/restore", json={"image": b64_png(portrait), "model": f"{RECIPE_MODEL}.pth", "precision": "fp32"}).json()
    assert np.abs(onnx_result.astype(int) - decode(body["image"])).max() <= 1, "the same model in both formats"
