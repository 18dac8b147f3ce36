"""What each option of the face pipeline accepts, in one place: the pipeline, the CLI and the WebUI's table check with it.

The WebUI's options table (``webui/options.py``) takes its ranges and choices from ``PIPELINE_VALUES``
and checks every value, its own options' too, with ``check_number`` and ``check_choice``: one range
and one message per option, whichever door a value comes in by.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import GPENError
from .color_match import COLOR_CORRECTION_CHOICES
from .masks import MASK_MODES

FACE_CHOICES = ("all", "largest", "center")


@dataclass(frozen=True)
class Range:
    """A number from ``minimum`` to ``maximum`` (None: no upper bound), both included."""

    minimum: float
    maximum: float | None = None


@dataclass(frozen=True)
class Choices:
    """One of ``choices``; or, with ``face_index``, a face's index (an int) where the value is typed."""

    choices: tuple[str, ...]
    face_index: bool = False


PIPELINE_VALUES: dict[str, Range | Choices] = {
    "faces": Choices(FACE_CHOICES, face_index=True),
    "min_face_size": Range(0),
    "confidence": Range(0.01, 1.0),
    "visibility": Range(0.0, 1.0),
    "mask": Choices(MASK_MODES),
    "color_correction": Choices(COLOR_CORRECTION_CHOICES),
}


def check_number(label: str, value: object, allowed: Range, integer: bool = False) -> float | int:
    """``value`` as a float (an int where ``integer``), or a GPENError saying what is allowed."""
    bounds = f"between {allowed.minimum:g} and {allowed.maximum:g}" if allowed.maximum is not None else f"at least {allowed.minimum:g}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not float(value).is_integer()):
        kind = "a whole number" if integer else "a number"
        raise GPENError(f"{label} must be {kind} {bounds}, got {value!r}.")
    if not (value >= allowed.minimum and (allowed.maximum is None or value <= allowed.maximum)):  # NaN fails too
        raise GPENError(f"{label} must be {bounds}, got {value}.")
    return int(value) if integer else float(value)


def check_choice(label: str, value: object, allowed: Choices) -> str | int:
    """The choice ``value`` names, in its own spelling (any letter case and surrounding spaces accepted: an API
    caller's "Feather" is "feather"), or ``value`` itself as a face index where allowed; else a GPENError listing them."""
    if allowed.face_index and isinstance(value, int) and not isinstance(value, bool):
        return value
    named = value.strip().casefold() if isinstance(value, str) else None
    for choice in allowed.choices:
        if choice.casefold() == named:
            return choice
    index = " or a face index" if allowed.face_index else ""
    raise GPENError(f"{label} must be one of {', '.join(allowed.choices)}{index}, got {value!r}.")


def check_value(name: str, value: object) -> object:
    """``value`` of the pipeline option ``name``, checked (labelled by its name, as a keyword argument is)."""
    allowed = PIPELINE_VALUES[name]
    if isinstance(allowed, Range):
        return check_number(name, value, allowed)
    return check_choice(name, value, allowed)


def check_options(**values: object) -> dict[str, object]:
    """The pipeline options given, each checked; a GPENError naming the first one out of range."""
    return {name: check_value(name, value) for name, value in values.items()}
