"""PyAV, the optional ``video`` extra: imported only when a video is opened, its errors made one-liners.

Nothing outside ``gpen_ext.video`` imports PyAV, and this package imports it inside functions, so
the images-only install never needs it and learns that it is missing only when it meets a video.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from ..errors import VideoError

INSTALL_HINT = 'video needs PyAV: pip install "sd-webui-gpen[video]" (or pip install av)'


def import_av() -> ModuleType:
    """The ``av`` module, or a VideoError that says how to install it."""
    try:
        import av
    except ImportError as error:
        raise VideoError(INSTALL_HINT, short="video needs PyAV (the video extra)") from error
    return av


@contextmanager
def av_errors(path: Path, failure: str) -> Iterator[None]:
    """Turn FFmpeg's errors inside the block into ``"PATH: FAILURE (FFmpeg's reason)"``, one line.

    Only FFmpeg's own errors: anything else raised in the block (a restorer's, Ctrl-C) passes as it is.
    """
    av = import_av()
    try:
        yield
    except av.FFmpegError as error:
        reason = error.strerror or str(error)
        raise VideoError(f"{path}: {failure} ({reason})", short=f"{failure} ({reason})") from error
