"""Restoring a video file: each frame through the restorer, everything else copied, the result atomic.

Frames are decoded, restored and encoded one at a time; the other streams (audio, subtitles, data,
a second audio or video) are remuxed packet by packet, unchanged, at their own timestamps, so they
stay byte-identical and in sync.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import VideoError
from .encoding import add_video_stream, encoder_frame
from .formats import VIDEO_EXTENSIONS, OutputFormat, output_format
from .info import VideoInfo
from .pyav import av_errors, import_av
from .reading import demux, open_video, upright_rgb
from .temporary import written_atomically

UNWRITABLE = "cannot write the video"
RestoreFrame = Callable[[np.ndarray, int], np.ndarray]
"""(upright RGB uint8 HxWx3 frame, its index from 0) -> the restored frame, same shape and dtype."""
Progress = Callable[[int, "int | None"], None]
"""(frames done, frames in all or None where the container does not say)."""


def restore_video(source: str | Path, target: str | Path, restore_frame: RestoreFrame,
                  progress: Progress | None = None) -> VideoInfo:
    """Write ``target``: ``source`` with every frame passed through ``restore_frame``.

    Kept: frame count, each frame's pts and duration and the time base (so variable frame rates stay
    in sync), coded size, display matrix, colour tags, every other stream's packets, the container's
    and the streams' metadata, dispositions and chapters. The container and
    video encoder follow ``target``'s extension (see ``VIDEO_FORMATS``). ``target`` appears only
    complete; on any exception, Ctrl-C included, nothing is left under its name or beside it and the
    exception propagates. A file FFmpeg cannot read or write raises a one-line VideoError.
    Returns the source's VideoInfo.
    """
    source, target = Path(source), Path(target)
    if target.suffix.lower() not in VIDEO_EXTENSIONS:
        raise VideoError(f"{target}: not a video extension (use {', '.join(VIDEO_EXTENSIONS)})")
    info = VideoInfo.read(source)
    av = import_av()
    format = output_format(target)
    with open_video(source) as (container, video), written_atomically(target) as part:
        with av_errors(target, UNWRITABLE):
            output = av.open(str(part), "w", format=format.muxer, options=dict(format.container_options))
        try:
            copy_streams(container, video, output, info, format, target, restore_frame, progress)
        except BaseException:
            with suppress(Exception):
                output.close()
            raise
        with av_errors(target, UNWRITABLE):
            output.close()
    return info


def copy_streams(container: Any, video: Any, output: Any, info: VideoInfo, format: OutputFormat, target: Path,
                 restore_frame: RestoreFrame, progress: Progress | None) -> None:
    """One pass over the source's packets: video frames restored and encoded, the rest remuxed."""
    av = import_av()
    carried = tuple(stream for stream in container.streams if stream is not video)
    with av_errors(target, UNWRITABLE):
        output.metadata.update(container.metadata)
        output.set_chapters(container.chapters())
        encoder = add_video_stream(output, info, format, target)
        copy_stream_tags(video, encoder)
        copies = {stream.index: copy_stream_tags(stream, carried_copy(output, stream, target)) for stream in carried}
    durations: dict[int, int] = {}
    index = 0
    for item in demux(container, video, info.path, carried):
        if isinstance(item, av.Packet):
            item.stream = copies[item.stream.index]
            with av_errors(target, UNWRITABLE):
                output.mux(item)
            continue
        restored = checked(restore_frame(upright_rgb(item, info.orientation), index), info, index)
        durations[item.pts] = item.duration
        with av_errors(target, UNWRITABLE):
            output.mux(timed(encoder.encode(encoder_frame(restored, item, encoder, info)), durations))
        index += 1
        if progress is not None:
            progress(index, info.frames)
    with av_errors(target, UNWRITABLE):
        output.mux(timed(encoder.encode(None), durations))


def timed(packets: list[Any], durations: dict[int, int]) -> list[Any]:
    """The encoder's packets with their source frames' durations (by pts, in the shared time base).

    Encoders give every packet the average frame duration; the muxer takes the last one for the
    clip's length, and a variable-rate clip's last frame would then end at another time.
    """
    for packet in packets:
        packet.duration = durations.pop(packet.pts, packet.duration)
    return packets


def carried_copy(output: Any, stream: Any, target: Path) -> Any:
    """The output stream that ``stream``'s packets are remuxed into; a VideoError where the target's
    container cannot hold it (an SRT subtitle in MP4: the target's extension differs from the source's)."""
    try:
        return output.add_stream_from_template(stream)
    except ValueError as error:
        raise VideoError(f"{target}: cannot carry stream #{stream.index} {stream.type} over ({error}); "
                         "write the source's extension instead") from error


def copy_stream_tags(source: Any, copy: Any) -> Any:
    """``copy`` with ``source``'s metadata (language, title, handler) and disposition (default, forced)."""
    copy.metadata.update(source.metadata)
    copy.disposition = source.disposition
    return copy


def checked(restored: np.ndarray, info: VideoInfo, index: int) -> np.ndarray:
    """The restorer's frame, if it has the shape and dtype it was given (a wrong one is a bug there)."""
    expected = (info.height, info.width, 3)
    if not isinstance(restored, np.ndarray) or restored.shape != expected or restored.dtype != np.uint8:
        got = f"{restored.dtype} {restored.shape}" if isinstance(restored, np.ndarray) else type(restored).__name__
        raise ValueError(f"restore_frame returned {got} for frame {index}; expected uint8 {expected}")
    return restored
