"""The exceptions the project raises on purpose: each message says what happened and what to do."""


class GPENError(Exception):
    """Base of every failure the extension reports to a user instead of crashing.

    ``short``: the same in one line without paths, URLs or exception text, for a UI toast; the
    full message goes to the console. Empty when the message itself is already that short.
    """

    def __init__(self, message: str, *, short: str = "") -> None:
        super().__init__(message)
        self.short = short


class CheckpointError(GPENError):
    """A model file that is missing, unreadable, or not a GPEN-BFR checkpoint."""


class DetectorError(GPENError):
    """A face detector (or face parser) whose package or weights are not available."""


class NonFiniteOutput(GPENError):
    """The face model produced NaN/inf (a reduced-precision overflow): the caller may retry in fp32."""


class ImageError(GPENError):
    """An image the pipeline cannot work on (unsupported shape, dtype or channel count)."""


class DownloadError(CheckpointError):
    """An official GPEN model that is not on disk and was not fetched (downloads off, offline, an HTTP error,
    a transfer cut short, or a file that failed verification); the message says where to put it by hand."""


class VideoError(GPENError):
    """A video file that cannot be read or written, or PyAV (the optional ``video`` extra) not installed."""
