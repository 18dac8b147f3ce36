"""The arguments of the txt2img/img2img "GPEN" accordion: parsing, infotext, X/Y/Z overrides.

The WebUI hands an AlwaysVisible script its arguments as a flat list, from the UI or from the API's
``alwayson_scripts`` (``"args": [true, "GPEN-BFR-2048", 0.8, "all"]``). API users may also send
``"args": [{"visibility": 0.8}]``: naming GPEN's arguments turns it on unless they say
``"enabled": false``. Both forms end up here so the script itself stays thin.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from ..errors import GPENError
from ..faces.pipeline import FACE_CHOICES
from .settings import AUTOMATIC_MODEL

INFOTEXT_MODEL = "GPEN"
INFOTEXT_VISIBILITY = "GPEN visibility"
INFOTEXT_FACES = "GPEN faces"
INFOTEXT_RESULT = "GPEN result"
"""Extras only: what GPEN did (``restored 2 faces``, ``found no face``); generations say it in a comment."""
PASTE_FIELD_NAMES = (INFOTEXT_MODEL, INFOTEXT_VISIBILITY, INFOTEXT_FACES)
XYZ_ATTRIBUTES = {"model": "gpen_model", "visibility": "gpen_visibility"}
"""Attributes an X/Y/Z axis sets on the processing object to override one argument per cell."""


@dataclass(frozen=True)
class GPENArgs:
    """The accordion's values, in the order of its controls (the order of positional API args)."""

    enabled: bool = False
    model: str = AUTOMATIC_MODEL
    visibility: float = 1.0
    faces: str = "all"

    @classmethod
    def from_script_args(cls, args: Sequence[Any]) -> GPENArgs:
        """Parse positional values or a single mapping of names; raise ``GPENError`` on bad values.

        ``None`` (what the WebUI passes for arguments a caller left out) means the default. A
        mapping means enabled unless it says otherwise: whoever names GPEN's options wants GPEN.
        """
        names = [f.name for f in fields(cls)]
        given = {"enabled": True, **args[0]} if args and isinstance(args[0], Mapping) else dict(zip(names, args))
        given = {name: value for name, value in given.items() if value is not None}
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise GPENError(f"unknown GPEN argument(s) {unknown}; the accordion takes {names}.")
        return cls(**given)._validated()

    def _validated(self) -> GPENArgs:
        try:
            visibility = float(self.visibility)
        except (TypeError, ValueError) as error:  # API callers send anything
            raise GPENError(f"GPEN visibility must be a number between 0 and 1, got {self.visibility!r}.") from error
        if not 0.0 <= visibility <= 1.0:
            raise GPENError(f"GPEN visibility must be between 0 and 1, got {self.visibility}.")
        if self.faces not in FACE_CHOICES:
            raise GPENError(f"GPEN faces must be one of {FACE_CHOICES}, got {self.faces!r}.")
        return replace(self, enabled=bool(self.enabled), model=str(self.model or AUTOMATIC_MODEL), visibility=visibility)

    def with_overrides(self, processing: object) -> GPENArgs:
        """Apply the X/Y/Z plot's per-cell values; an axis over a GPEN value implies GPEN is on."""
        overrides = {
            name: getattr(processing, attribute)
            for name, attribute in XYZ_ATTRIBUTES.items()
            if getattr(processing, attribute, None) is not None
        }
        if not overrides:
            return self
        return replace(self, enabled=True, **overrides)._validated()

    def infotext(self, model_name: str) -> dict[str, object]:
        """Generation-parameter entries, e.g. ``GPEN: GPEN-BFR-2048, GPEN visibility: 0.8``."""
        return {
            INFOTEXT_MODEL: model_name,
            INFOTEXT_VISIBILITY: round(self.visibility, 3),
            INFOTEXT_FACES: self.faces,
        }


def infotext_enabled(params: Mapping[str, str]) -> bool:
    """Whether pasted generation parameters came from an image made with GPEN on."""
    return INFOTEXT_MODEL in params
