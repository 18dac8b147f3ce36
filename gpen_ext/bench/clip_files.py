"""Synthetic video files made with PyAV, for the video tests and benchmarks: no media is downloaded.

Each frame is a fixed smooth random texture (blobs of about 8 pixels, closer to a photo than
per-pixel noise) shifted by its index (motion the encoder has to code, unlike flat colour) with a red marker in the coded top-left corner, so orientation shows in the pixels.
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..video.pyav import import_av

MARKER = (slice(0, 20), slice(0, 30))
"""The red corner of every coded frame: 20 rows, 30 columns."""
SAMPLE_RATE = 48000


def clip_frame(texture: np.ndarray, index: int) -> np.ndarray:
    frame = np.roll(texture, 2 * index, axis=1)
    frame[MARKER] = (255, 0, 0)
    return frame


def make_clip(path: Path, *, frames: int = 24, width: int = 160, height: int = 120, rate: int = 24,
              codec: str = "libx264", pixel_format: str = "yuv420p", audio: Sequence[str] = ("aac",),
              subtitles: str | None = None, rotation: float | None = None, hflip: bool = False,
              pts: Sequence[int] | None = None, time_base: Fraction | None = None, chapters: bool = False) -> None:
    """Write a clip: ``frames`` frames at ``rate`` (or at ``pts`` in ``time_base`` for variable rates),
    an A4 tone per ``audio`` codec, and with ``subtitles`` (``"subrip"``, ``"mov_text"``) a cue every third
    of a second; ``rotation``/``hflip``: the display matrix (counter-clockwise degrees, as PyAV's);
    ``chapters``: two, split at half the clip, a title in the container's metadata and a font attached
    (Matroska's subtitle fonts)."""
    av = import_av()
    texture = cv2.resize(np.random.default_rng(0).integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8),
                         (width, height), interpolation=cv2.INTER_CUBIC)
    seconds = frames / rate if pts is None else float(pts[-1] * time_base) + 1 / rate
    with av.open(str(path), "w") as output:
        if chapters:
            half = int(seconds * 500)
            output.metadata["title"] = "a synthetic clip"
            output.add_attachment("subtitles.ttf", "font/ttf", bytes(range(256)))
            output.set_chapters([{"id": number + 1, "start": start, "end": end, "time_base": Fraction(1, 1000),
                                  "metadata": {"title": f"part {number + 1}"}}
                                 for number, (start, end) in enumerate([(0, half), (half, 2 * half)])])
        video = output.add_stream(codec, rate=rate)
        video.width, video.height, video.pix_fmt = width, height, pixel_format
        if time_base is not None:
            video.codec_context.time_base = time_base
        if rotation is not None:
            video.set_display_rotation(rotation, hflip=hflip)
        tones = [output.add_stream(name, rate=SAMPLE_RATE, layout="mono") for name in audio]
        cues = output.add_mux_stream(subtitles) if subtitles else None
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(clip_frame(texture, index), format="rgb24")
            frame = frame.reformat(format=pixel_format)
            frame.pts = index if pts is None else pts[index]
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
        for number, stream in enumerate(tones):
            write_tone(output, stream, seconds, 440.0 * (number + 1))
        if cues is not None:
            write_cues(output, cues, subtitles, seconds)


def write_tone(output, stream, seconds: float, hertz: float) -> None:
    av = import_av()
    step = stream.codec_context.frame_size or 1024
    samples = int(seconds * SAMPLE_RATE) // step * step
    tone = 0.3 * np.sin(2 * np.pi * hertz * np.arange(samples) / SAMPLE_RATE)[None]
    tone = (tone * 32767).astype(np.int16) if stream.format.name.startswith("s16") else tone.astype(np.float32)
    for start in range(0, samples, step):
        frame = av.AudioFrame.from_ndarray(tone[:, start : start + step], format=stream.format.name, layout="mono")
        frame.sample_rate, frame.pts = SAMPLE_RATE, start
        output.mux(stream.encode(frame))
    output.mux(stream.encode(None))


def write_cues(output, stream, codec: str, seconds: float) -> None:
    """One cue a third of a second; ``mov_text`` packets carry a 2-byte length before the text."""
    av = import_av()
    for number in range(int(seconds * 3)):
        text = f"cue {number}".encode()
        packet = av.Packet(len(text).to_bytes(2, "big") + text if codec == "mov_text" else text)
        packet.stream, packet.time_base = stream, Fraction(1, 1000)
        packet.pts = packet.dts = number * 333
        packet.duration = 300
        output.mux(packet)


def write_frames(path: Path, frames: Sequence[np.ndarray], *, rate: int = 24, audio: str | None = "aac") -> None:
    """Encode RGB uint8 ``frames`` (e.g. ``video_clip.make_clip``'s, whose motion is known) as H.264 at ``rate``,
    with an A4 tone as long as the clip in ``audio``'s codec (none for ``None``), as a phone or an editor would."""
    av = import_av()
    with av.open(str(path), "w") as output:
        video = output.add_stream("libx264", rate=rate, options={"crf": "12"})
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        tone = output.add_stream(audio, rate=SAMPLE_RATE, layout="mono") if audio else None
        for index, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24").reformat(format="yuv420p")
            frame.pts = index
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
        if tone is not None:
            write_tone(output, tone, len(frames) / rate, 440.0)
