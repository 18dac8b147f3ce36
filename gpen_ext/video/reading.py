"""Opening a video file and decoding it frame by frame, as the restorer needs the frames: upright RGB.

One packet is demuxed and decoded at a time, so memory holds a few frames whatever the clip's length.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import VideoError
from .formats import WRITE_ONLY
from .orientation import Orientation
from .pyav import av_errors, import_av

UNREADABLE = "not a readable video"
CHROMA_IN, CHROMA_OUT = "POINT", "AREA"
"""swscale's chroma resampling to RGB and back. This pair returns an unchanged frame's U and V planes
within 54 dB PSNR (10-bit source) to 56 dB (8-bit); PyAV's default, bilinear, gives 36 and 45 dB.
(swscale's 8-bit path repeats chroma whatever it is told; its 16-bit path interpolates.)"""


@contextmanager
def open_video(path: Path) -> Iterator[tuple[Any, Any]]:
    """The open container of ``path`` and its main video stream; a one-line VideoError if it has none."""
    if path.suffix.lower() in WRITE_ONLY:
        raise VideoError(f"{path}: {UNREADABLE} ({WRITE_ONLY[path.suffix.lower()]})")
    av = import_av()
    with av_errors(path, UNREADABLE):
        container = av.open(str(path), metadata_errors="replace")
    try:
        video = container.streams.best("video")
        if video is None:
            kinds = ", ".join(stream.type for stream in container.streams) or "none"
            raise VideoError(f"{path}: {UNREADABLE} (no video stream; streams: {kinds})")
        video.thread_type = "AUTO"
        yield container, video
    finally:
        container.close()


def demux(container: Any, video: Any, path: Path, carried: tuple[Any, ...] = ()) -> Iterator[Any]:
    """The decoded frames of ``video`` in presentation order, and the packets of the ``carried``
    streams as they come in the file (their order is what keeps a remux interleaved)."""
    with av_errors(path, UNREADABLE):
        for packet in container.demux(video, *carried):
            if packet.stream is video:
                yield from video.decode(packet)
            elif packet.size:
                yield packet


def upright_rgb(frame: Any, orientation: Orientation) -> np.ndarray:
    """The frame as RGB uint8 HxWx3, turned as the display matrix shows it (faces upright).

    Converted with the frame's own colour matrix and range, the ones the encoder writes back with.
    Deeper sources (10-bit) go through 16-bit RGB and are rounded: swscale's direct conversion to
    8 bits is about a level darker. Chroma is upsampled by repetition (``CHROMA_IN``), which the
    encoder's area average undoes exactly.
    """
    options = {"src_color_range": frame.color_range, "interpolation": CHROMA_IN}
    if frame.format.components[0].bits > 8:
        coded = np.rint(frame.to_ndarray(format="rgb48le", **options) / 257.0).astype(np.uint8)
    else:
        coded = frame.to_ndarray(format="rgb24", **options)
    return np.ascontiguousarray(orientation.upright(coded))


def iter_frames(path: str | Path) -> Iterator[np.ndarray]:
    """The frames of a video file as the restorer sees them (upright RGB uint8), one at a time."""
    path = Path(path)
    with open_video(path) as (container, video):
        for frame in demux(container, video, path):
            yield upright_rgb(frame, Orientation.from_side_data(display_matrix(frame)))


def display_matrix(frame: Any) -> bytes | None:
    """The frame's display-matrix side data (FFmpeg copies the stream's onto every decoded frame)."""
    av = import_av()
    side_data = frame.side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)
    return bytes(side_data) if side_data is not None else None
