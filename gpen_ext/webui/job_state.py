"""GPEN as part of the WebUI's current job: its Interrupt/Skip buttons and its progress bar.

The WebUI publishes the running job in ``shared.state`` (A1111 ``modules/shared_state.py``): the
buttons set ``interrupted``/``skipped``, and ``modules/progress.py`` draws the bar from
``job_no/job_count`` plus the current job's ``sampling_step/sampling_steps``. Both txt2img and
Extras count an image as a finished job (``nextjob()``) before its post-processing runs, which is
where GPEN works; so while GPEN works, the image is counted as the job in progress and its faces
as the job's steps, and the bar moves face by face. Only duck typing: this module, like the rest
of ``gpen_ext``, imports nothing from the WebUI.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..faces.tracking import FaceTracks
from .messages import Notify
from .safe_restore import RestoreOptions, RestoreOutcome, restore_safely
from .settings import Environment

COUNTERS = ("job_no", "sampling_step", "sampling_steps", "textinfo")


class WebUIJob:
    """The stop check and face-by-face progress of one restoration, on a WebUI ``State``."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def should_stop(self) -> bool:
        """Interrupt or Skip was pressed (Skip ends the current image's work, as it ends its sampling)."""
        return bool(self.state.interrupted or self.state.skipped)

    def progress(self, done: int, total: int) -> None:
        self.state.textinfo = f"GPEN: face {done}/{total}"
        self.state.sampling_step, self.state.sampling_steps = done, total

    @contextmanager
    def showing_faces(self) -> Iterator[None]:
        """Count the current image as the job in progress while GPEN works; put the counters back after."""
        saved = {name: getattr(self.state, name) for name in COUNTERS}
        if self.state.job_count > 0 and self.state.job_no > 0:
            self.state.job_no -= 1
        try:
            yield
        finally:
            for name, value in saved.items():
                setattr(self.state, name, value)


def restore_in_job(
    image: np.ndarray, options: RestoreOptions, env: Environment, state: Any, notify: Notify | None = None,
    tracks: FaceTracks | None = None,
) -> RestoreOutcome:
    """``restore_safely`` that stops on the WebUI's Interrupt/Skip and moves its progress bar (``tracks``: a sequence's)."""
    job = WebUIJob(state)
    with job.showing_faces():
        return restore_safely(
            image, options, env, progress=job.progress, should_stop=job.should_stop, notify=notify, tracks=tracks
        )
