"""Video files in, video files out (``gpen_ext.video``), on clips the tests make with PyAV."""
from __future__ import annotations

import ast
import subprocess
import sys
import tracemalloc
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from gpen_ext.bench.clip_files import MARKER, make_clip  # noqa: E402
from gpen_ext.errors import GPENError, VideoError  # noqa: E402
from gpen_ext.video import VIDEO_EXTENSIONS, VideoInfo, is_video, iter_frames, restore_video  # noqa: E402
from gpen_ext.video.orientation import Orientation  # noqa: E402
from gpen_ext.video.pyav import INSTALL_HINT, import_av  # noqa: E402
from gpen_ext.video.temporary import part_path  # noqa: E402

PACKAGE = Path(__file__).resolve().parents[1] / "gpen_ext"
CLIPS = {
    "rotated.mp4": dict(rotation=90, subtitles="mov_text"),
    "two-audio.mkv": dict(audio=("aac", "libopus"), subtitles="subrip", chapters=True),
    "clip.webm": dict(codec="libvpx-vp9", audio=("libopus",)),
    "clip.mov": dict(),
    "animation.gif": dict(codec="gif", pixel_format="rgb8", audio=(), rate=25),
    "variable-rate.mp4": dict(frames=10, pts=[0, 1, 2, 5, 6, 9, 10, 11, 20, 21], time_base=Fraction(1, 30)),
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    for name, options in CLIPS.items():
        make_clip(folder / name, **options)
    return {name: folder / name for name in CLIPS}


def identity(frame: np.ndarray, index: int) -> np.ndarray:
    return frame


def decoded(path: Path) -> tuple[list[float], list[np.ndarray], int]:
    """Presentation times (seconds) and coded RGB frames of the main video, and its rotation, read with
    PyAV alone (not with the code under test)."""
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    times = [float(frame.pts * frame.time_base) for frame in frames]
    return times, [frame.to_ndarray(format="rgb24") for frame in frames], frames[0].rotation


def packets(path: Path) -> dict[str, list[tuple[bytes, float]]]:
    """Every packet of every stream but the first video: its bytes and presentation time."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        found: dict[str, list[tuple[bytes, float]]] = {}
        for packet in container.demux():
            if packet.stream is not video and packet.size:
                key = f"{packet.stream.type} {packet.stream.codec_context.name} {packet.stream.metadata.get('language')}"
                found.setdefault(key, []).append((bytes(packet), float(packet.pts * packet.time_base)))
    return found


def chapters_and_title(path: Path) -> tuple[list, str | None, list[bytes]]:
    """The chapters, title and attached files (their bytes)."""
    with av.open(str(path)) as container:
        attached = [stream.data for stream in container.streams if stream.type == "attachment"]
        return container.chapters(), container.metadata.get("title"), attached


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def leftovers(folder: Path, source: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path != source)


@pytest.mark.parametrize("name", CLIPS)
def test_identity_keeps_frames_timing_size_orientation_and_every_other_stream(clips, tmp_path, name) -> None:
    source, target = clips[name], tmp_path / name
    done = []
    restore_video(source, target, identity, lambda count, total: done.append((count, total)))
    before, after = VideoInfo.read(source), VideoInfo.read(target)
    times, frames, rotation = decoded(source)
    out_times, out_frames, out_rotation = decoded(target)
    assert len(out_frames) == len(frames) == CLIPS[name].get("frames", 24)
    assert out_times == pytest.approx(times, abs=1e-3)
    assert after.time_base == before.time_base and after.fps == before.fps
    assert (after.coded_width, after.coded_height, after.width, after.height) == (
        before.coded_width, before.coded_height, before.width, before.height)
    assert out_rotation == rotation == CLIPS[name].get("rotation", 0)
    assert after.streams == before.streams
    assert chapters_and_title(target) == chapters_and_title(source)
    assert all(chapters_and_title(source)) or "chapters" not in CLIPS[name]
    assert min(psnr(a, b) for a, b in zip(frames, out_frames)) > 38  # crf 17 (41 dB); the GIF's palette is exact
    attachments = sum(stream.endswith(".ttf") for stream in before.streams)
    assert packets(target) == packets(source) and (len(packets(source)) == len(before.streams) - 1 - attachments)
    assert done == [(count, before.frames) for count in range(1, len(frames) + 1)]
    assert leftovers(tmp_path, source) == [name]


@pytest.mark.parametrize("degrees, hflip, upright", [
    (0, False, lambda a: a), (90, False, lambda a: np.rot90(a, 1)), (-90, False, lambda a: np.rot90(a, -1)),
    (180, False, lambda a: a[::-1, ::-1]), (0, True, lambda a: a[:, ::-1]), (90, True, lambda a: a[::-1, ::-1].swapaxes(0, 1)),
])
def test_display_matrix_is_applied_as_ffmpeg_shows_it(degrees, hflip, upright) -> None:
    """FFmpeg's autorotate: 90 counter-clockwise (a phone held upright) is ``rot90(+1)``; mirrors after."""
    radians = np.radians(degrees)
    a, b = round(np.cos(radians) * 65536), round(-np.sin(radians) * 65536)
    matrix = [a, b, 0, -b, a, 0, 0, 0, 1 << 30]
    if hflip:
        matrix[0], matrix[3] = -matrix[0], -matrix[3]
    coded = np.arange(4 * 6 * 3).reshape(4, 6, 3)
    orientation = Orientation(tuple(matrix))
    np.testing.assert_array_equal(orientation.upright(coded), upright(coded))
    np.testing.assert_array_equal(orientation.coded(orientation.upright(coded)), coded)
    assert orientation.shown_size(6, 4) == upright(coded).shape[1::-1]


@pytest.mark.parametrize("name", ["rotated.mp4", "two-audio.mkv", "animation.gif"])
def test_the_restorer_sees_upright_frames_and_its_changes_land_where_it_made_them(clips, tmp_path, name) -> None:
    source, target = clips[name], tmp_path / name
    turn = (lambda a: np.rot90(a, 1)) if CLIPS[name].get("rotation") == 90 else (lambda a: a)
    _, coded_frames, _ = decoded(source)
    marker = np.zeros(coded_frames[0].shape[:2], bool)
    marker[MARKER] = True
    seen = []

    def paint(frame: np.ndarray, index: int) -> np.ndarray:
        seen.append(np.array_equal(frame[turn(marker)].mean(0) > (200, 100, 100), [True, False, False]))
        painted = frame.copy()
        painted[:16, :16] = (0, 0, 255)
        return painted

    restore_video(source, target, paint)
    assert all(seen) and len(seen) == len(coded_frames)
    for frame in decoded(target)[1]:
        np.testing.assert_allclose(turn(frame)[2:14, 2:14].mean((0, 1)), (0, 0, 255), atol=25)
    if name.endswith(".gif"):  # one flat colour is exact in a palette
        assert all(np.array_equal(frame[:16, :16], np.broadcast_to((0, 0, 255), (16, 16, 3))) for frame in
                   iter_frames(target))


@pytest.mark.parametrize("failure", [RuntimeError("restorer failed"), KeyboardInterrupt()])
def test_a_failure_mid_clip_leaves_nothing_and_propagates(clips, tmp_path, failure) -> None:
    source, target = clips["two-audio.mkv"], tmp_path / "two-audio.mkv"

    def fail_at_ten(frame: np.ndarray, index: int) -> np.ndarray:
        if index == 10:
            assert part_path(target).exists()  # written under the hidden name, not the target's
            raise failure
        return frame

    with pytest.raises(type(failure)):
        restore_video(source, target, fail_at_ten)
    assert leftovers(tmp_path, source) == []
    target.write_bytes(b"an earlier result")
    with pytest.raises(type(failure)):
        restore_video(source, target, fail_at_ten)
    assert target.read_bytes() == b"an earlier result" and leftovers(tmp_path, source) == [target.name]


def test_a_restorer_that_returns_another_shape_is_refused(clips, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"restore_frame returned uint8 \(60, 80, 3\) for frame 0"):
        restore_video(clips["clip.mov"], tmp_path / "clip.mov", lambda frame, index: frame[::2, ::2])
    assert leftovers(tmp_path, clips["clip.mov"]) == []


@pytest.mark.parametrize("content", [b"", b"not a video at all\n" * 50, b"\x00\x00\x00\x18ftypmp42" + bytes(3000)])
def test_an_unreadable_input_is_a_one_line_message(tmp_path, content) -> None:
    source = tmp_path / "clip.mp4"
    source.write_bytes(content)
    for call in (lambda: restore_video(source, tmp_path / "out.mp4", identity), lambda: VideoInfo.read(source),
                 lambda: list(iter_frames(source))):
        with pytest.raises(VideoError) as error:
            call()
        assert str(error.value).startswith(f"{source}: not a readable video (") and "\n" not in str(error.value)
    assert leftovers(tmp_path, source) == []


def test_a_missing_input_and_a_non_video_target_are_one_line_messages(clips, tmp_path) -> None:
    with pytest.raises(VideoError, match=r"missing.mp4: not a readable video \(No such file or directory\)"):
        VideoInfo.read(tmp_path / "missing.mp4")
    with pytest.raises(VideoError, match=r"out.png: not a video extension"):
        restore_video(clips["clip.mov"], tmp_path / "out.png", identity)


def test_webm_without_a_vp9_encoder_says_what_to_do(clips, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(av, "codecs_available", av.codecs_available - {"libvpx-vp9"})
    with pytest.raises(VideoError, match=r"clip.webm: this PyAV build has no libvpx-vp9 encoder; write .mkv or .mp4"):
        restore_video(clips["clip.webm"], tmp_path / "clip.webm", identity)
    assert leftovers(tmp_path, clips["clip.webm"]) == []


def test_frames_stream_through_in_bounded_memory(tmp_path) -> None:
    """240 frames of 57 KB: the peak traced memory stays at a few frames (2.5 measured), not the clip's 14 MB."""
    source = tmp_path / "long.mkv"
    make_clip(source, frames=240)
    frame_bytes = 160 * 120 * 3
    tracemalloc.start()
    restore_video(source, tmp_path / "out.mkv", lambda frame, index: frame.copy())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 6 * frame_bytes, peak
    first = next(iter_frames(source))  # an iterator: the first frame comes without decoding the rest
    assert first.shape == (120, 160, 3) and first.dtype == np.uint8


def test_is_video_by_extension_and_webp_by_frame_count(tmp_path) -> None:
    from PIL import Image

    still, animated = tmp_path / "still.webp", tmp_path / "animated.webp"
    Image.new("RGB", (8, 8)).save(still)
    Image.new("RGB", (8, 8)).save(animated, save_all=True, append_images=[Image.new("RGB", (8, 8), "red")])
    assert [is_video(tmp_path / f"a{suffix}") for suffix in (".mp4", ".MOV", ".mkv", ".webm", ".gif")] == [True] * 5
    assert not is_video(still) and is_video(animated) and not is_video(tmp_path / "a.png")
    assert set(VIDEO_EXTENSIONS) == {".mp4", ".mov", ".mkv", ".webm", ".gif", ".webp"}


def test_without_pyav_the_message_says_how_to_install_it(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(VideoError, match="video needs PyAV") as error:
        import_av()
    assert isinstance(error.value, GPENError) and str(error.value) == INSTALL_HINT and "sd-webui-gpen[video]" in INSTALL_HINT
    assert is_video(tmp_path / "clip.mp4")


def test_only_the_video_package_imports_pyav_and_only_inside_functions() -> None:
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
                   and "av" in ([alias.name.split(".")[0] for alias in node.names] if isinstance(node, ast.Import)
                                else [(node.module or "").split(".")[0]] * (node.level == 0))]
        relative = path.relative_to(PACKAGE).as_posix()
        assert not imports or relative == "video/pyav.py", relative
        assert all(node not in tree.body for node in imports), relative


def test_a_stream_the_target_container_cannot_hold_is_a_one_line_message(clips, tmp_path) -> None:
    with pytest.raises(VideoError, match=r"out.mp4: cannot carry stream #\d subtitle over \(.*srt.*\); write the source"):
        restore_video(clips["two-audio.mkv"], tmp_path / "out.mp4", identity)
    assert leftovers(tmp_path, clips["two-audio.mkv"]) == []


@pytest.mark.parametrize("pixel_format", ["yuv444p", "yuv420p10le"])
def test_other_pixel_formats_keep_their_chroma_and_levels_at_8_bits(tmp_path, pixel_format) -> None:
    """Levels measured on the Y, U, V planes themselves: converting to RGB would add swscale's own offsets."""
    source, target = tmp_path / "source.mp4", tmp_path / "out.mp4"
    make_clip(source, frames=4, pixel_format=pixel_format, audio=())
    restore_video(source, target, identity)
    assert VideoInfo.read(target).pixel_format == pixel_format.removesuffix("10le")
    assert VideoInfo.read(source).bit_depth == (10 if "10" in pixel_format else 8) and VideoInfo.read(target).bit_depth == 8
    for before, after in zip(plane_means(source), plane_means(target)):
        np.testing.assert_allclose(after, before, atol=0.3)
    assert min(psnr(a, b) for a, b in zip(iter_frames(source), iter_frames(target))) > 35


def plane_means(path: Path) -> list[list[float]]:
    """Each frame's mean Y, U and V in 8-bit units."""
    with av.open(str(path)) as container:
        means = []
        for frame in container.decode(video=0):
            deep = frame.format.components[0].bits > 8
            planes = [np.frombuffer(plane, np.uint16 if deep else np.uint8).reshape(plane.height, -1)[:, : plane.width]
                      for plane in frame.planes]
            means.append([float(plane.mean()) / (4 if deep else 1) for plane in planes])
    return means


def test_the_video_benchmark_runs(capsys) -> None:
    from gpen_ext.bench.video import main

    main(["--size", "64x48", "--frames", "4"])
    assert '"identity_pass_fps"' in capsys.readouterr().out.splitlines()[-1]


def test_an_animation_can_be_written_as_webp_but_an_animated_webp_cannot_be_read(clips, tmp_path) -> None:
    from PIL import Image

    target = tmp_path / "animation.webp"
    restore_video(clips["animation.gif"], target, identity)
    with Image.open(target) as webp, Image.open(clips["animation.gif"]) as gif:
        assert webp.n_frames == gif.n_frames == 24
        for index in range(0, 24, 5):
            webp.seek(index), gif.seek(index)
            webp.load()
            assert webp.info["duration"] == gif.info["duration"] == 40 and webp.info["loop"] == 0
            np.testing.assert_array_equal(np.array(webp.convert("RGB")), np.array(gif.convert("RGB")))
    assert is_video(target)
    with pytest.raises(VideoError, match=r"animation.webp: not a readable video \(FFmpeg decodes still WebP images only"):
        restore_video(target, tmp_path / "again.webp", identity)


def test_importing_the_package_and_the_video_wing_does_not_import_pyav() -> None:
    code = "import sys, gpen_ext, gpen_ext.video, gpen_ext.cli; sys.exit('av' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent).returncode == 0
