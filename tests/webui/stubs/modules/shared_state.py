"""Mirrors ``modules/shared_state.py``: ``State``, the running job that the Interrupt/Skip buttons and the
progress bar work through (the same fields and defaults; live previews left out)."""
from __future__ import annotations

import time

from modules import devices


class State:
    """Mirrors ``State``: the buttons set ``interrupted``/``skipped``; ``begin``/``nextjob``/``end`` count jobs."""

    skipped = False
    interrupted = False
    stopping_generation = False
    job = ""
    job_no = 0
    job_count = 0
    processing_has_refined_job_count = False
    job_timestamp = "0"
    sampling_step = 0
    sampling_steps = 0
    current_latent = None
    current_image = None
    current_image_sampling_step = 0
    textinfo = None
    time_start = None

    def skip(self) -> None:
        """Mirrors ``skip`` (the Skip button, ``/sdapi/v1/skip``)."""
        self.skipped = True

    def interrupt(self) -> None:
        """Mirrors ``interrupt`` (the Interrupt button, ``/sdapi/v1/interrupt``)."""
        self.interrupted = True

    def nextjob(self) -> None:
        """Mirrors ``nextjob`` (without the live preview)."""
        self.job_no += 1
        self.sampling_step = 0
        self.current_image_sampling_step = 0

    def begin(self, job: str = "(unknown)") -> None:
        """Mirrors ``begin``: every flag and counter back to the start (``job_count`` -1: not known yet)."""
        self.sampling_step = 0
        self.time_start = time.time()
        self.job_count = -1
        self.processing_has_refined_job_count = False
        self.job_no = 0
        self.current_latent = None
        self.current_image = None
        self.current_image_sampling_step = 0
        self.skipped = False
        self.interrupted = False
        self.stopping_generation = False
        self.textinfo = None
        self.job = job
        devices.torch_gc()

    def end(self) -> None:
        """Mirrors ``end``."""
        self.job = ""
        self.job_count = 0
        devices.torch_gc()


def progress(state: State) -> float:
    """Mirrors how ``modules/progress.py`` ``progressapi`` computes the bar's fraction from ``state``."""
    value = 0.0
    if state.job_count > 0:
        value += state.job_no / state.job_count
    if state.sampling_steps > 0 and state.job_count > 0:
        value += 1 / state.job_count * state.sampling_step / state.sampling_steps
    return min(value, 1)
