"""With nothing in models/GPEN, the WebUI downloads the chosen official model there (from a loopback server)."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from model_server import Route, layout_only_checkpoint, model_server, recipe_fp16_checkpoint  # noqa: F401 (fixture)
from modules import devices, face_restoration, shared
from pipeline_helpers import BrightenRestorer
from test_end_to_end import assert_face_restored_only

from gpen_ext.webui import model_cache
from gpen_ext.webui.api import models_response
from gpen_ext.webui.settings import GPENSettings, environment_from_webui


def restore_with_webui(image: np.ndarray) -> np.ndarray:
    """The WebUI's "Restore faces" with GPEN chosen in Settings."""
    shared.opts.face_restoration_model = "GPEN"
    return face_restoration.restore_faces(image)


def test_settings_switch_and_mirror_field(webui: Path) -> None:
    labels = shared.opts.data_labels
    assert labels["gpen_download"].component is gr.Checkbox and labels["gpen_download"].default is True
    assert labels["gpen_models_url"].component is gr.Textbox and labels["gpen_models_url"].default == ""
    assert labels["gpen_model"].component_args()["choices"] == [
        "Automatic", "GPEN-BFR-256", "GPEN-BFR-512", "GPEN-BFR-1024", "GPEN-BFR-2048"
    ], "with no model installed, the official ones are offered"


def test_automatic_downloads_gpen_bfr_2048_into_models_gpen(
    webui: Path, model_server, portrait: np.ndarray, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    """The file has GPEN-BFR-2048's real layout in 9 MB (meaningless values), so a stand-in restores once it is verified."""
    checkpoint = layout_only_checkpoint(2048)
    model_server.routes["/GPEN-BFR-2048.pth"] = Route(checkpoint)
    shared.opts.gpen_models_url, shared.opts.gpen_mask = model_server.url, "feather"
    loaded = []
    monkeypatch.setattr(model_cache, "load_model", lambda path, device, dtype: loaded.append(path) or BrightenRestorer(2048))
    assert not np.array_equal(restore_with_webui(portrait), portrait)
    target = webui / "GPEN" / "GPEN-BFR-2048.pth"
    assert loaded == [target] and target.read_bytes() == checkpoint
    sha256 = hashlib.sha256(checkpoint).hexdigest()
    body = models_response(environment_from_webui(shared, devices), GPENSettings.from_opts(shared.opts))
    assert body["models"] == [{"name": "GPEN-BFR-2048", "file": target.name, "size_bytes": len(checkpoint), "sha256": sha256}]

    model_cache.MODEL_CACHE.clear()
    target.write_bytes(checkpoint[::-1])
    with caplog.at_level(logging.WARNING, logger="gpen"):
        restore_with_webui(portrait)
    assert f"{target} has changed since it was downloaded" in caplog.text
    assert len(model_server.requests) == 1


def test_an_official_model_picked_with_an_empty_folder_is_downloaded_and_restores(
    webui: Path, model_server, portrait: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mirror from GPEN_MODELS_URL (the Settings field is empty), a real GPEN-BFR-256 restoring the face."""
    model_server.routes["/GPEN-BFR-256.pth"] = Route(recipe_fp16_checkpoint(256))
    monkeypatch.setenv("GPEN_MODELS_URL", model_server.url)
    shared.opts.gpen_model, shared.opts.gpen_mask = "GPEN-BFR-256", "feather"
    assert_face_restored_only(portrait, restore_with_webui(portrait))
    assert sorted(path.name for path in (webui / "GPEN").iterdir()) == ["GPEN-BFR-256.pth", "GPEN-BFR-256.pth.sha256"]


def test_downloads_off_in_settings_make_no_request(webui: Path, model_server, portrait: np.ndarray, monkeypatch, caplog) -> None:
    shown: list[str] = []
    monkeypatch.setattr("gradio.Warning", shown.append)
    model_server.routes["/GPEN-BFR-2048.pth"] = Route(layout_only_checkpoint(2048))
    shared.opts.gpen_models_url, shared.opts.gpen_download = model_server.url, False
    with caplog.at_level(logging.WARNING, logger="gpen"):
        assert np.array_equal(restore_with_webui(portrait), portrait)
    assert shown == ["GPEN skipped: GPEN-BFR-2048 is missing and downloads are off: put GPEN-BFR-2048.pth in models/GPEN "
                     "(the console says where to get it)."]
    assert f"{model_server.url}/GPEN-BFR-2048.pth" in caplog.text and str(webui / "GPEN") in caplog.text
    assert model_server.requests == [] and list((webui / "GPEN").iterdir()) == []
