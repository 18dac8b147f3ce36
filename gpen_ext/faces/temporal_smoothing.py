"""The ``temporal_smoothing`` option: when the faces of consecutive images are followed as one sequence (``tracking.py``)."""
from __future__ import annotations

TEMPORAL_SMOOTHING_CHOICES = ("auto", "on", "off")
"""``auto``: on for videos and sequences of frames, off for single images; ``on``/``off`` whatever the input."""


def smoothing_applies(choice: str, sequence: bool) -> bool:
    """Whether images are followed as frames: ``on``, or ``auto`` where they come as a ``sequence``."""
    return choice == "on" or (choice == "auto" and sequence)
