"""Batch img2img and Extras batches as frame sequences: faces followed from image to image within one job only.

Frames are a real portrait with per-frame sensor noise (``gpen_ext.bench.video_clip``), detected by the
offline detector, restored by GPEN-256 with the recipe weights; each restoration's face reports are
caught on their way out of the pipeline, so the test sees the crops the WebUI's restorations used.
"""
from __future__ import annotations

import copy
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from conftest import RECIPE_MODEL, gpen_script, script_runner, txt2img_runner
from measure_temporal import SETTLE
from modules import img2img, postprocessing, processing, scripts, scripts_postprocessing, shared
from PIL import Image

from gpen_ext.bench.video_clip import make_clip, shrunk_to_width
from gpen_ext.webui import safe_restore

FRAMES = 16
ACCORDION = [True, RECIPE_MODEL, False, 1.0, "all", "feather", "off"]
"""Enabled, the recipe model, visibility from Settings, all faces, the feathered mask, no colour correction;
temporal smoothing is appended by each test."""


@pytest.fixture(scope="module")
def frames(test_images_dir: Path) -> list[Image.Image]:
    """A still shot of the portrait: only the sensor noise changes from frame to frame."""
    photo = np.asarray(Image.open(test_images_dir / "portrait_small.jpg").convert("RGB"))
    clip = make_clip(shrunk_to_width(photo, 320), still=FRAMES // 2, pan=0)
    return [Image.fromarray(frame) for frame in clip.frames]


@pytest.fixture
def reports(monkeypatch: pytest.MonkeyPatch) -> list[list]:
    """Each restoration's face reports, in order."""
    caught: list[list] = []
    real = safe_restore.restore_faces

    def restore_faces(*args, **kwargs):
        result, faces = real(*args, **kwargs)
        caught.append(faces)
        return result, faces

    monkeypatch.setattr(safe_restore, "restore_faces", restore_faces)
    return caught


def batch_img2img(frames: list[Image.Image], smoothing: str) -> list[Image.Image]:
    runner = script_runner(is_img2img=True)
    p = processing.StableDiffusionProcessingImg2Img(runner, [None] * gpen_script(runner).args_from + [*ACCORDION, smoothing])
    return img2img.process_batch(p, frames)


def crop_corners(report) -> np.ndarray:
    """The crop's four corners in image pixels (from the report's image-to-crop matrix)."""
    matrix = np.array(report.crop_matrix)
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    size = report.crop_size
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], float)
    return corners @ inverse.T


def spread(reports: list[list]) -> float:
    """The largest distance (px) between the same crop corner in any two of the frames."""
    corners = np.stack([crop_corners(faces[0]) for faces in reports])
    return float(max(np.linalg.norm(a - b, axis=1).max() for a in corners for b in corners))


def test_batch_img2img_follows_the_face_and_holds_a_still_face_still(gpen_model, frames, reports) -> None:
    batch_img2img(frames, "Settings")  # Settings' temporal smoothing: auto
    assert len(reports) == FRAMES
    assert {faces[0].track for faces in reports} == {0}
    assert spread(reports[SETTLE:]) <= 0.1
    reports.clear()
    batch_img2img(frames, "off")
    assert {faces[0].track for faces in reports} == {None}
    assert spread(reports[SETTLE:]) > 0.3  # the detector alone moves the crop


def test_every_job_starts_fresh(gpen_model, frames, reports) -> None:
    """A second batch starts new tracks (ids from 0 again), and txt2img's auto follows nothing."""
    batch_img2img(frames[:3], "auto")
    batch_img2img(frames[3:6], "auto")
    assert [faces[0].track for faces in reports] == [0, 0, 0, 0, 0, 0]
    runner = txt2img_runner()
    p = processing.StableDiffusionProcessing(runner, [None] * gpen_script(runner).args_from + [*ACCORDION, "auto"])
    processing.process_images(p, [np.asarray(frame) for frame in frames[:2]])
    assert [faces[0].track for faces in reports[6:]] == [None, None]


def test_a_first_frame_is_restored_exactly_as_without_smoothing(gpen_model, frames, reports) -> None:
    """A single img2img image (a sequence of one frame) and the first frame of a batch are left as they are."""
    (smoothed,) = batch_img2img(frames[:1], "on")
    (plain,) = batch_img2img(frames[:1], "off")
    assert np.array_equal(np.asarray(smoothed), np.asarray(plain))
    assert reports[0][0].track == 0 and reports[1][0].track is None


def test_extras_batch_is_a_sequence_and_a_single_image_is_not(gpen_model, frames, reports) -> None:
    runner = scripts_postprocessing.ScriptPostprocessingRunner(scripts.postprocessing_scripts_data)
    with gr.Blocks():
        runner.setup_ui()
    args = runner.create_args_for_run({"GPEN": {"enabled": True, "model": RECIPE_MODEL, "mask": "feather"}})
    results = postprocessing.run_postprocessing(runner, 1, None, frames, None, *args)
    assert len(results) == FRAMES
    assert {faces[0].track for faces in reports} == {0}
    assert spread(reports[SETTLE:]) <= 0.1
    assert "GPEN temporal smoothing: Settings" not in results[0][1] and "GPEN temporal smoothing: auto" in results[0][1]
    reports.clear()
    postprocessing.run_postprocessing(runner, 0, frames[0], None, None, *args)
    assert reports[0][0].track is None
    assert shared.state.job == ""  # each run was its own job, begun and ended


def test_the_cells_of_an_img2img_xyz_plot_are_not_frames_of_one_another(gpen_model, frames, reports) -> None:
    """X/Y/Z runs each cell on a copy of the job's processing object, in one job: each cell is a generation of
    its own, restored as without smoothing (batch img2img, by contrast, hands every frame the same object)."""
    results = {}
    for smoothing in ("auto", "off"):
        runner = script_runner(is_img2img=True)
        p = processing.StableDiffusionProcessingImg2Img(runner, [None] * gpen_script(runner).args_from + [*ACCORDION, smoothing])
        shared.state.begin(job="img2img")
        results[smoothing] = [processing.process_images_inner(copy.copy(p), [np.asarray(frame)])[0][0] for frame in frames[:4]]
        shared.state.end()
    for cell, (smoothed, plain) in enumerate(zip(results["auto"], results["off"])):
        assert np.array_equal(np.asarray(smoothed), np.asarray(plain)), cell
    assert [faces[0].crop_matrix for faces in reports[:4]] == [faces[0].crop_matrix for faces in reports[4:]]
