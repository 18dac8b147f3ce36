"""What a video file is, read before restoring it: the frame count for progress, and what the output keeps."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..errors import VideoError
from .orientation import Orientation
from .reading import UNREADABLE, demux, display_matrix, open_video


@dataclass(frozen=True)
class Colour:
    """The colour tags of the video, as FFmpeg numbers them; the encoder writes them back unchanged."""

    space: int
    range: int
    primaries: int
    transfer: int


@dataclass(frozen=True)
class VideoInfo:
    """The main video stream of a file. ``width``/``height``: as shown (after the display matrix),
    the size of the frames the restorer gets; ``coded_width``/``coded_height``: as stored."""

    path: Path
    frames: int | None
    """From the container's header; None where it has none (Matroska, WebM): then known only at the end."""
    fps: Fraction | None
    time_base: Fraction
    width: int
    height: int
    coded_width: int
    coded_height: int
    rotation: int
    """Counter-clockwise degrees players turn the coded frames by (a phone's portrait clip: 90 or -90)."""
    orientation: Orientation
    pixel_format: str
    bit_depth: int
    """Bits per sample of the source (8, or 10/12 for HDR and "10-bit" clips, which are written 8-bit)."""
    codec: str
    colour: Colour
    duration: float | None
    """Seconds, where the container says."""
    streams: tuple[str, ...]
    """Every stream as ``"#index type codec"`` (an attachment's file name for its codec), the video first;
    all but the video are copied as they are."""

    @classmethod
    def read(cls, path: str | Path) -> VideoInfo:
        """Read the header and decode the first frame (the display matrix and colour tags live there)."""
        path = Path(path)
        with open_video(path) as (container, video):
            frame = next(demux(container, video, path), None)
            if frame is None:
                raise VideoError(f"{path}: {UNREADABLE} (no frame decodes)")
            orientation = Orientation.from_side_data(display_matrix(frame))
            width, height = orientation.shown_size(frame.width, frame.height)
            others = [stream for stream in container.streams if stream is not video]
            return cls(
                path=path,
                frames=video.frames or None,
                fps=video.average_rate or video.guessed_rate,
                time_base=video.time_base,
                width=width,
                height=height,
                coded_width=frame.width,
                coded_height=frame.height,
                rotation=frame.rotation,
                orientation=orientation,
                pixel_format=frame.format.name,
                bit_depth=frame.format.components[0].bits,
                codec=video.codec_context.name,
                colour=Colour(frame.colorspace, frame.color_range, frame.color_primaries, frame.color_trc),
                duration=float(container.duration / 1_000_000) if container.duration else None,
                streams=tuple(f"#{stream.index} {stream.type} {stream.name}" for stream in [video, *others]),
            )

