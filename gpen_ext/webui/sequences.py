"""The images of one WebUI job as frames of a sequence, so that temporal smoothing follows faces across them.

Batch img2img makes its images from the input frames one by one, in one job, running the scripts'
``process`` once per frame; an Extras batch (several files, or a folder) restores its images one by
one, in one job. ``JobSequences`` keeps the face tracks (``faces/tracking.FaceTracks``) of the job in
progress, one per *slot*: in img2img the n-th image made from each frame (batch count and batch size
give parallel sequences, one per output position), elsewhere one slot for the job's images in order.
Batch img2img hands every frame the same processing object, while the X/Y/Z plot gives each cell a
copy of its own: img2img's slots belong to the processing object (``sequence_of``), so the cells of
a plot, like separate generations, are never taken for frames of one another.
The WebUI runs one job at a time (its queue lock), and ``State.begin`` stamps each job's start in
``shared.state.time_start``: when the stamp changes, every track is dropped. So nothing of one job,
user or API call reaches the next, and a new job starts fresh.
"""
from __future__ import annotations

import itertools
import threading
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..faces.temporal_smoothing import smoothing_applies
from ..faces.tracking import FaceTracks
from .job_state import restore_in_job
from .messages import Notify
from .safe_restore import RestoreOptions, RestoreOutcome
from .settings import Environment


def job_key(state: Any) -> Hashable:
    """The identity of the WebUI's job in progress: its ``State`` and the start stamp ``State.begin`` set."""
    return id(state), getattr(state, "time_start", None)


@dataclass
class JobSequences:
    """The tracks of the job in progress, per slot; those of an earlier job are forgotten when a new one starts."""

    job: Hashable = None
    tracks: dict[Hashable, FaceTracks] = field(default_factory=dict)
    next_slot: dict[Hashable, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self, job: Hashable) -> None:
        """Make ``job`` the job in progress (must hold ``lock``)."""
        if job != self.job:
            self.job, self.tracks, self.next_slot = job, {}, {}

    def start_frame(self, job: Hashable, owner: Hashable) -> None:
        """A new input frame of ``owner`` (a processing object's sequence) begins: its first image takes slot 0."""
        with self.lock:
            self.current(job)
            self.next_slot[owner] = 0

    def take_slot(self, job: Hashable, owner: Hashable) -> int:
        """The position of the next image ``owner`` makes from its current frame."""
        with self.lock:
            self.current(job)
            slot = self.next_slot.get(owner, 0)
            self.next_slot[owner] = slot + 1
            return slot

    def tracks_for(self, job: Hashable, slot: Hashable) -> FaceTracks:
        """The tracks of ``slot`` in ``job``, as the previous frame left them (new ones for a first frame)."""
        with self.lock:
            self.current(job)
            return self.tracks.get(slot) or FaceTracks()

    def keep(self, job: Hashable, slot: Hashable, tracks: FaceTracks | None) -> None:
        """After an image: ``tracks`` as it left them (a failed image, ``None``, leaves the slot as it was)."""
        with self.lock:
            if job == self.job and tracks is not None:
                self.tracks[slot] = tracks


SEQUENCES = JobSequences()
"""The one WebUI process's sequences (one job at a time)."""
SEQUENCE_IDS = itertools.count()


def sequence_of(processing: Any) -> int:
    """The sequence a processing object's images belong to: its own, given on first sight (a copy made before
    that, as X/Y/Z makes one per cell, gets one of its own in turn)."""
    if getattr(processing, "_gpen_sequence", None) is None:
        processing._gpen_sequence = next(SEQUENCE_IDS)
    return processing._gpen_sequence


def restore_in_sequence(
    image: np.ndarray, options: RestoreOptions, env: Environment, state: Any, notify: Notify | None, *,
    caller: Hashable, sequence: bool, per_frame_slots: bool = False,
) -> RestoreOutcome:
    """``restore_in_job``, with the faces followed from the job's previous image where temporal smoothing applies.

    ``caller`` names the caller's slots (the accordion, with its processing object's ``sequence_of``, and
    the Settings restorer may both work on one image); ``sequence``: whether this job's images are frames
    (what ``auto`` follows); ``per_frame_slots``: one sequence per position among the images of each frame
    (img2img).
    """
    if not smoothing_applies(options.temporal_smoothing, sequence):
        return restore_in_job(image, options, env, state, notify)
    job = job_key(state)
    slot = (caller, SEQUENCES.take_slot(job, caller) if per_frame_slots else 0)
    outcome = restore_in_job(image, options, env, state, notify, tracks=SEQUENCES.tracks_for(job, slot))
    SEQUENCES.keep(job, slot, outcome.tracks)
    return outcome
