"""The per-image arguments (txt2img/img2img accordion, Extras): parsing, infotext, pasting, X/Y/Z overrides.

The WebUI hands an AlwaysVisible script its arguments as a flat list, from the UI or from the API's
``alwayson_scripts``, in the order of ``GPENArgs``' fields: ``enabled``, then each per-image option
of the table (a number preceded by its "override" flag), e.g.
``"args": [true, "GPEN-BFR-2048", true, 0.8, "all"]``. API users may instead send one mapping,
``"args": [{"visibility": 0.8}]``, where giving a number implies its override; naming GPEN's
arguments turns it on unless they say ``"enabled": false``.
Every per-image value may be ``Settings`` (``FROM_SETTINGS``; numbers: override off), which defers
to Settings › GPEN when the image is made.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import field, fields, replace
from typing import Any

from ..errors import GPENError
from .options import FROM_SETTINGS, OPTION_BY_NAME, options_where, table_dataclass
from .safe_restore import RestoreOptions
from .settings import GPENSettings

ENABLED_KEY = OPTION_BY_NAME["model"].infotext
"""The infotext key whose presence means GPEN was on (its value is the model used)."""
PASTE_FIELD_NAMES = tuple(option.infotext for option in options_where("per_image") if option.infotext)
INFOTEXT_MODELS = "GPEN models"
"""With ``Automatic`` choosing per face: which models restored how many faces (``RestoreOutcome.models_used``)."""
INFOTEXT_RESULT = "GPEN result"
"""Extras only: what GPEN did (``restored 2 faces``, ``found no face``); generations say it in a comment."""


def _fields() -> list[tuple[str, type, Any]]:
    """``enabled``, then each per-image option as its control order has it."""
    result: list[tuple[str, type, Any]] = [("enabled", bool, field(default=False))]
    for option in options_where("per_image"):
        if option.numeric:
            result += [(option.override_name, bool, field(default=False)), (option.name, option.type, field(default=option.default))]
        else:
            result.append((option.name, str, field(default=FROM_SETTINGS)))
    return result


def _from_script_args(cls: type, args: Sequence[Any]) -> Any:
    """Parse positional values or a single mapping of names; raise ``GPENError`` on bad values.

    ``None`` (what the WebUI passes for arguments a caller left out) means the default. A
    mapping means enabled unless it says otherwise: whoever names GPEN's options wants GPEN.
    """
    names = [f.name for f in fields(cls)]
    named = bool(args) and isinstance(args[0], Mapping)
    given = {"enabled": True, **args[0]} if named else dict(zip(names, args))
    given = {name: value for name, value in given.items() if value is not None}
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise GPENError(f"unknown GPEN argument(s) {unknown}; the accordion takes {names}.")
    for option in options_where("per_image"):
        if option.numeric and option.name in given:
            given.setdefault(option.override_name, True)
    return cls(**given)._validated()


def _validated(self: Any) -> Any:
    values: dict[str, object] = {"enabled": bool(self.enabled)}
    for option in options_where("per_image"):
        value = getattr(self, option.name)
        if option.numeric:
            flag = getattr(self, option.override_name)
            if not isinstance(flag, bool):
                raise GPENError(f"{option.override_label} must be true or false, got {flag!r}.")
            values[option.name] = option.check(value)
        elif value != FROM_SETTINGS:
            values[option.name] = option.check(value)
    return replace(self, **values)


def _with_overrides(self: Any, processing: object) -> Any:
    """Apply the X/Y/Z plot's per-cell values (``p.gpen_<name>``); an axis over a GPEN value implies GPEN is on."""
    overrides: dict[str, object] = {}
    for option in options_where("xyz"):
        value = getattr(processing, option.key, None)
        if value is not None:
            overrides[option.name] = value
            if option.numeric:
                overrides[option.override_name] = True
    return replace(self, enabled=True, **overrides)._validated() if overrides else self


def _restore_options(self: Any, settings: GPENSettings) -> RestoreOptions:
    """What this image gets: ``settings`` where the arguments defer to them, the arguments' own values elsewhere."""
    chosen = {
        option.name: getattr(self, option.name)
        for option in options_where("per_image")
        if (getattr(self, option.override_name) if option.numeric else getattr(self, option.name) != FROM_SETTINGS)
    }
    return RestoreOptions.from_settings(settings, **chosen)


GPENArgs = table_dataclass(
    "GPENArgs",
    "The per-image arguments in the order of their controls (the order of positional API args).",
    _fields(),
    __name__,
    from_script_args=classmethod(_from_script_args),
    _validated=_validated,
    with_overrides=_with_overrides,
    restore_options=_restore_options,
)


def infotext(options: RestoreOptions, model_name: str, models_used: str = "") -> dict[str, object]:
    """Generation-parameter entries of the values really used, e.g. ``GPEN: GPEN-BFR-2048, GPEN visibility: 0.8``;
    ``models_used`` (after a per-face choice) as ``GPEN models``."""
    values = {option.infotext: getattr(options, option.name) for option in options_where("per_image") if option.infotext}
    values[ENABLED_KEY] = model_name
    if models_used:
        values[INFOTEXT_MODELS] = models_used
    return {key: round(value, 3) if isinstance(value, float) else value for key, value in values.items()}


def infotext_enabled(params: Mapping[str, str]) -> bool:
    """Whether pasted generation parameters came from an image made with GPEN on."""
    return ENABLED_KEY in params


def paste_fields(enabled: object, controls: Mapping[str, object]) -> list[tuple[object, str | Callable]]:
    """The WebUI's ``infotext_fields``: pasted values become explicit per-image choices (an override ticked)."""
    result: list[tuple[object, str | Callable]] = [(enabled, infotext_enabled)]
    for option in options_where("per_image"):
        if option.numeric:
            result.append((controls[option.override_name], lambda params, key=option.infotext: True if key in params else None))
        result.append((controls[option.name], option.infotext))
    return result
