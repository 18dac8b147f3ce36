"""Which files are videos, and how each kind of video file is written.

The container and the video encoder follow the target's extension; the quality settings are high
because a restored clip is usually a master the user edits further, not a preview.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

X264 = {"crf": "17", "preset": "medium"}
"""Visually lossless H.264 at the default speed: encoding stays far cheaper than restoring the faces."""
VP9 = {"crf": "20", "b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"}
"""Constant-quality VP9 (``b=0`` makes ``crf`` the target); ``cpu-used=4``: an identity pass of a 640x360
clip runs at about two thirds of the H.264 one's frame rate (46 against 68 frames/s, 2 cores)."""


@dataclass(frozen=True)
class OutputFormat:
    """How a video of one extension is written: FFmpeg's muxer, the video encoder, its options."""

    muxer: str
    encoder: str
    options: dict[str, str] = field(default_factory=dict)
    container_options: dict[str, str] = field(default_factory=dict)


MP4_OPTIONS = {"movflags": "+faststart"}
"""The index at the front, so that a browser can start playing the file before all of it has arrived."""
VIDEO_FORMATS: dict[str, OutputFormat] = {
    ".mp4": OutputFormat("mp4", "libx264", X264, MP4_OPTIONS),
    ".mov": OutputFormat("mov", "libx264", X264, MP4_OPTIONS),
    ".mkv": OutputFormat("matroska", "libx264", X264),
    ".webm": OutputFormat("webm", "libvpx-vp9", VP9),
    ".gif": OutputFormat("gif", "gif"),
    ".webp": OutputFormat("webp", "libwebp_anim", {"lossless": "1"}, {"loop": "0"}),
}
"""Every video extension the restorer writes, and reads but for ``WRITE_ONLY`` (a ``.webp`` is a video only when animated)."""
VIDEO_EXTENSIONS = tuple(VIDEO_FORMATS)
WRITE_ONLY = {".webp": "FFmpeg decodes still WebP images only, not animations: convert it to .gif or .mp4 first"}
"""Extensions that can be written but not read, and why. An animated WebP is still a video (``is_video``),
so that it gets this message instead of being restored as a still of its first frame."""


def output_format(path: Path) -> OutputFormat:
    """The format ``path``'s extension names (a KeyError for one that is not a video extension)."""
    return VIDEO_FORMATS[path.suffix.lower()]


def is_video(path: str | Path) -> bool:
    """Whether ``path`` goes to the video restorer rather than to the image one: by extension, and a
    ``.webp`` by its frame count (one frame is a still image). Needs no PyAV, so a caller can route
    files before knowing whether the ``video`` extra is installed.
    """
    path = Path(path)
    if path.suffix.lower() not in VIDEO_FORMATS:
        return False
    if path.suffix.lower() != ".webp":
        return True
    try:
        with Image.open(path) as image:
            return getattr(image, "n_frames", 1) > 1
    except (OSError, UnidentifiedImageError):
        return False
