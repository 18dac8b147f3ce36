"""Face restoration that never breaks the caller: every failure becomes a warning and the image passes through.

The WebUI calls a face restorer in the middle of generation; an exception there would throw away
the user's images. So every entry point of the extension (restorer, scripts, API) goes through
``restore_safely``, which also retries once after running out of memory.
"""
from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from ..errors import GPENError, NonFiniteOutput
from ..faces import masks
from ..faces.model_choice import ModelChoice
from ..faces.pipeline import STOPPED, FaceReport, restore_faces
from ..faces.tracking import FaceTracks
from ..model.arch.precision import resolve_dtype
from ..model.loading import parse_dtype
from .messages import MASK_FALLBACK_NOTICE, UNEXPECTED, Notify, logger, report_warning, short_message
from .model_cache import MODEL_CACHE, ModelCache
from .model_files import AUTOMATIC_MODEL, per_face_files, resolve_model
from .options import OPTIONS, table_dataclass
from .settings import Environment, GPENSettings

Progress = Callable[[int, int], None]
StopCheck = Callable[[], bool]
Attempt = Callable[[torch.device, str], "RestoreOutcome"]
NETWORK_OPTIONS = ("model", "precision")
"""Options that choose the network; every other option but SEQUENCE_OPTIONS is a keyword argument of ``restore_faces``."""
SEQUENCE_OPTIONS = ("temporal_smoothing",)
"""Options about a sequence of images, which the caller settles (``webui/sequences.py``): one image has no sequence."""
RESTORE_OPTIONS = tuple(option for option in OPTIONS if option.api or option.per_image)
"""The table's rows one restoration needs: the API's and the per-image ones (their infotext records them)."""


def _from_settings(cls: type, settings: GPENSettings, **overrides: object) -> Any:
    """The options the Settings page describes (table defaults for API-only ones), per-call choices on top."""
    values = {option.name: getattr(settings, option.name) if option.setting else option.default for option in RESTORE_OPTIONS}
    return cls(**{**values, **overrides})


def _pipeline_options(self: Any) -> dict[str, object]:
    """The keyword arguments of ``restore_faces`` these options set."""
    local = (*NETWORK_OPTIONS, *SEQUENCE_OPTIONS)
    return {option.name: getattr(self, option.name) for option in RESTORE_OPTIONS if option.name not in local}


def _validate(self: Any) -> Any:
    """The options with each value checked against the table, or a ``GPENError`` before any work (the API answers 422)."""
    return replace(self, **{option.name: option.check(getattr(self, option.name)) for option in RESTORE_OPTIONS})


RestoreOptions = table_dataclass(
    "RestoreOptions",
    "Everything one restoration needs besides the image and the environment (``RESTORE_OPTIONS``).",
    [(option.name, option.type, field(default=option.default)) for option in RESTORE_OPTIONS],
    __name__,
    from_settings=classmethod(_from_settings),
    pipeline_options=_pipeline_options,
    validate=_validate,
)


@dataclass
class RestoreOutcome:
    """The result image (the input itself when nothing was done), the per-face report and any warning.

    ``warning`` is the full message (console, API); ``notice`` its one-line form for a UI toast.
    ``tracks``: in a sequence, its faces' tracks as this image left them (``None`` where it failed:
    the image then counts as a frame where no face was seen).
    """

    image: np.ndarray
    faces: list[FaceReport] = field(default_factory=list)
    model: str = ""
    warning: str = ""
    notice: str = ""
    tracks: FaceTracks | None = None

    @property
    def restored(self) -> bool:
        return any(face.restored for face in self.faces)

    @property
    def stopped(self) -> bool:
        """Interrupt/Skip came before every chosen face was done (those done are kept)."""
        return any(face.reason == STOPPED for face in self.faces)

    def models_used(self) -> str:
        """Which models restored how many faces, e.g. ``GPEN-BFR-256 (28 faces) + GPEN-BFR-2048 (1 face)`` (no comma or
        colon, which the infotext would have to quote)."""
        counts = Counter(face.model for face in self.faces if face.restored)
        return " + ".join(f"{name} ({count} face{'s' if count > 1 else ''})" for name, count in counts.items())

    def summary(self) -> str:
        """What GPEN did to this image, in a few words after "GPEN": for the console, Extras' info and generation comments."""
        restored = sum(face.restored for face in self.faces)
        if self.stopped:
            chosen = restored + sum(face.reason == STOPPED for face in self.faces)
            return f"stopped (Interrupt/Skip) after {restored} of {chosen} faces; the others are left as they were"
        if self.warning:
            return "skipped; the image is unchanged"
        if not self.faces:
            return "found no face"
        if not restored:
            return f"restored none of the {len(self.faces)} faces found ({self.faces[0].reason})"
        if restored < len(self.faces):
            return f"restored {restored} of {len(self.faces)} faces found"
        return f"restored {restored} face{'s' if restored > 1 else ''}"


def restore_safely(
    image: np.ndarray,
    options: RestoreOptions,
    env: Environment,
    *,
    cache: ModelCache = MODEL_CACHE,
    progress: Progress | None = None,
    should_stop: StopCheck | None = None,
    notify: Notify | None = None,
    tracks: FaceTracks | None = None,
) -> RestoreOutcome:
    """Restore the faces in ``image``; on any failure return it unchanged with a warning (logged and notified).

    When ``should_stop`` (the WebUI's Interrupt/Skip) cuts the work short, the faces already
    restored are kept, like the WebUI keeps an interrupted image, and ``warning`` says so.
    ``tracks`` (an image of a sequence) is left as it is: each attempt follows the faces on a copy,
    so a retry after running out of memory does not see the frame twice; ``outcome.tracks`` is the
    copy of the attempt that succeeded.
    """
    if options.visibility <= 0:
        return RestoreOutcome(image)
    try:
        options = options.validate()  # Settings come from config.json unchecked
        models, name = model_choice(options, env, cache)

        def attempt(device: torch.device, precision: str) -> RestoreOutcome:
            followed = copy.deepcopy(tracks)
            restored, faces = restore_faces(
                image, models(device, precision), weights_dir=env.weights_dir, progress=progress,
                should_stop=should_stop, tracks=followed, **options.pipeline_options()
            )
            return RestoreOutcome(restored, faces, name, tracks=followed)

        outcome = _restore_with_retry(attempt, (env.device, options.precision), cache)
    except GPENError as error:
        outcome = RestoreOutcome(image, warning=f"GPEN skipped: {error}", notice=f"GPEN skipped: {short_message(error)}")
    except Exception as error:
        logger.exception("GPEN failed unexpectedly")
        outcome = RestoreOutcome(image, warning=f"GPEN failed unexpectedly ({error}); the image is unchanged.", notice=UNEXPECTED)
    finally:
        if env.offload:
            cache.offload()
    if outcome.stopped:
        outcome.warning = f"GPEN {outcome.summary()}"
    if outcome.warning:
        report_warning(outcome.warning, notify, outcome.notice)
    else:
        logger.info("GPEN %s", outcome.summary())
    if masks.MASK_FALLBACK.take() and notify is not None:  # once per start; the console has the details
        notify(MASK_FALLBACK_NOTICE)
    return outcome


def model_choice(
    options: RestoreOptions, env: Environment, cache: ModelCache
) -> tuple[Callable[[torch.device, str], ModelChoice], str]:
    """The models for a placement (device, precision) through ``cache``, and the model's name for the infotext.

    ``Automatic`` over a folder of several model sizes chooses per face (``Automatic`` in the infotext; the
    reports name each face's model); otherwise one file (downloaded first if it is an official one not on disk).
    """
    files = per_face_files(env.model_folders, options.model)
    if files:
        def choice(device: torch.device, precision: str) -> ModelChoice:
            dtype = resolve_dtype(device, parse_dtype(precision))
            return ModelChoice.from_files(files, lambda path: cache.get(path, device, precision), device, dtype)

        return choice, AUTOMATIC_MODEL
    path = resolve_model(env.model_folders, options.model, env.downloads)
    return lambda device, precision: ModelChoice.single(cache.get(path, device, precision), path.stem), path.stem


def _restore_with_retry(attempt: Attempt, placement: tuple[torch.device, str], cache: ModelCache) -> RestoreOutcome:
    """Run on the chosen device and precision; once more on the fallback that suits the failure.

    The cache is cleared between the two runs, outside the ``except`` block, so that the failed
    run's model and tensors (held by the traceback until then) are really freed first.
    """
    for retry in (False, True):
        try:
            return attempt(*placement)
        except (NonFiniteOutput, RuntimeError, MemoryError) as error:
            if not isinstance(error, NonFiniteOutput) and not _is_out_of_memory(error):
                raise
            fallback = None if retry else _fallback(*placement, error)
            if fallback is None and isinstance(error, NonFiniteOutput):
                raise
            logger.warning("GPEN on %s (%s) failed: %s", placement[0], placement[1], error)
        if fallback is None:
            break
        placement = fallback
        _free_memory(cache)
    raise GPENError(_out_of_memory_advice(placement[0], retry))


def _out_of_memory_advice(device: torch.device, retried: bool) -> str:
    """What to do after running out of memory on ``device``: the CPU advice only where it is not the CPU already."""
    if device.type == "cpu":
        tried = "also after one retry on the CPU" if retried else "on the CPU"
        return f"out of memory {tried}. Free memory (close other programs) or pick a smaller GPEN model."
    return (
        "out of memory, also after one retry with less memory. "
        "Free memory, pick a smaller GPEN model, or run GPEN on the CPU (--use-cpu gpen)."
    )


def _fallback(device: torch.device, precision: str, error: Exception) -> tuple[torch.device, str] | None:
    """The one retry worth making: fp32 after a reduced-precision overflow; after running out of
    memory, half precision on an accelerator, else the CPU. None when there is nothing cheaper."""
    if isinstance(error, NonFiniteOutput):
        return None if precision == "fp32" else (device, "fp32")
    if device.type == "cpu":
        return None
    return (device, "fp16") if precision == "fp32" else (torch.device("cpu"), "auto")


def _is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, MemoryError) or "out of memory" in str(error).lower()


def _free_memory(cache: ModelCache) -> None:
    cache.clear()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
