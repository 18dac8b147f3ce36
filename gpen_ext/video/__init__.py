"""The video wing: video files in, video files out, frame by frame. Imports faces, model and errors only.

PyAV (the ``video`` extra) is imported lazily inside this package; ``is_video`` works without it.
"""
from .formats import VIDEO_EXTENSIONS, VIDEO_FORMATS, is_video
from .info import VideoInfo
from .reading import iter_frames
from .restore import restore_video

__all__ = ["VIDEO_EXTENSIONS", "VIDEO_FORMATS", "VideoInfo", "is_video", "iter_frames", "restore_video"]
