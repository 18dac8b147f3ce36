"""Interrupt and Skip stop GPEN between faces; the progress bar moves face by face.

Convention (the WebUI's own): what is done is kept. An interrupted generation still returns its
partly sampled image, and an interrupted Extras batch keeps the images already processed; so an
interrupted GPEN keeps the faces already pasted and leaves the others as they were, and says so.
The stand-ins' ``State``, ``process_images``, ``run_postprocessing`` and progress formula follow
A1111 1.10 (``modules/shared_state.py``, ``processing.py``, ``postprocessing.py``, ``progress.py``).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import RECIPE_MODEL, gpen_processing
from modules import face_restoration, postprocessing, processing, shared, shared_state
from PIL import Image
from test_end_to_end import api_client, b64_png, decode, extras_runner

from gpen_ext.faces import pipeline


@pytest.fixture(scope="module")
def group_photo(test_images_dir: Path) -> np.ndarray:
    """The Solvay photo (29 small faces) as the RGB image a generation would produce."""
    return np.asarray(Image.open(test_images_dir / "solvay_conference_1927.png").convert("RGB"))


class Batches:
    """Wraps the pipeline's ``restore_batch``: records the progress bar at each batch and presses a button."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, press: str, before_batch: int) -> None:
        self.press, self.before_batch = press, before_batch
        self.progress: list[tuple[float, str | None]] = []
        self.faces: list[pipeline.FaceReport] = []
        self.real = pipeline.restore_batch
        monkeypatch.setattr(pipeline, "restore_batch", self)
        select_faces = pipeline.select_faces
        monkeypatch.setattr(pipeline, "select_faces", lambda reports, *args: select_faces(self.faces.extend(reports) or reports, *args))

    def __call__(self, *args, **kwargs) -> None:
        self.progress.append((shared_state.progress(shared.state), shared.state.textinfo))
        self.real(*args, **kwargs)
        if len(self.progress) == self.before_batch:
            getattr(shared.state, self.press)()  # the button, pressed while this batch runs


def press_during_detection(monkeypatch: pytest.MonkeyPatch, button: str) -> None:
    """The button pressed before GPEN has restored any face."""
    real = pipeline.detect_faces

    def detect_faces(*args, **kwargs):
        getattr(shared.state, button)()
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "detect_faces", detect_faces)


def test_accordion_interrupt_keeps_faces_done_and_says_so(
    gpen_model: Path, group_photo: np.ndarray, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    batches = Batches(monkeypatch, "interrupt", before_batch=2)
    p = gpen_processing([True, RECIPE_MODEL, False, 1.0, "all", "auto"])
    with caplog.at_level(logging.INFO, logger="gpen"):
        (image,), _ = processing.process_images(p, [group_photo])
    result = np.asarray(image)
    done = 2 * pipeline.default_batch_size(256)
    (comment,) = [c for c in p.comments if c.startswith("GPEN stopped")]
    found = int(comment.split(" of ")[1].split()[0])
    assert found > done + 1 and f"after {done} of {found} faces" in comment and comment in caplog.text
    # the bar moved face by face: 0 at the first batch, done/2 of all faces at the second
    assert batches.progress == [(0.0, None), (pytest.approx(done / 2 / found), f"GPEN: face {done // 2}/{found}")]
    changed = np.any(result != group_photo, axis=-1)
    centres_changed = [changed[centre(face)].mean() > 0.5 for face in batches.faces]
    assert centres_changed == [face.restored for face in batches.faces] == [True] * done + [False] * (found - done)
    assert {face.reason for face in batches.faces[done:]} == {pipeline.STOPPED}


def centre(face: pipeline.FaceReport) -> tuple[slice, slice]:
    """The middle third of a face's box (neighbours' pastes reach its edges, never its centre)."""
    x0, y0, x1, y1 = face.box
    w, h = (x1 - x0) / 3, (y1 - y0) / 3
    return slice(int(y0 + h), int(y1 - h)), slice(int(x0 + w), int(x1 - w))


@pytest.mark.parametrize("button", ["interrupt", "skip"])
def test_settings_restorer_stops_on_interrupt_and_skip(
    gpen_model: Path, portrait: np.ndarray, monkeypatch: pytest.MonkeyPatch, button: str, caplog
) -> None:
    press_during_detection(monkeypatch, button)
    shared.opts.face_restoration_model = "GPEN"
    shared.state.begin()
    with caplog.at_level(logging.WARNING, logger="gpen"):
        result = face_restoration.restore_faces(portrait)
    assert np.array_equal(result, portrait)
    assert "GPEN stopped (Interrupt/Skip) after 0 of 1 faces" in caplog.text


def test_extras_interrupt_stops_the_batch(gpen_model: Path, portrait: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupt during the first image: its faces stop, and the WebUI processes no further image."""
    press_during_detection(monkeypatch, "interrupt")
    runner = extras_runner()
    args = runner.create_args_for_run({"GPEN": {"enabled": True, "model": RECIPE_MODEL}})
    image = Image.fromarray(portrait)
    ((result, infotext),) = postprocessing.run_postprocessing(runner, 1, None, [image, image], None, *args)
    assert np.array_equal(np.asarray(result), portrait)
    assert "GPEN result: stopped (Interrupt/Skip) after 0 of 1 faces" in infotext


def test_api_interrupt_returns_what_is_done_with_a_warning(gpen_model: Path, portrait: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    client = api_client()
    shared.state.interrupt()  # an Interrupt of an earlier job must not stop this request
    assert client.post("/gpen/v1/restore", json={"image": b64_png(portrait)}).json()["restored"]
    press_during_detection(monkeypatch, "interrupt")  # /sdapi/v1/interrupt while /gpen/v1/restore runs
    body = client.post("/gpen/v1/restore", json={"image": b64_png(portrait)}).json()
    assert not body["restored"] and "stopped (Interrupt/Skip) after 0 of 1 faces" in body["warning"]
    assert [face["reason"] for face in body["faces"]] == [pipeline.STOPPED]
    assert np.array_equal(decode(body["image"]), portrait)
