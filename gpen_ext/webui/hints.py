"""The hover hints of every GPEN control, generated from the option table into ``javascript/gpen-hints.js``.

A1111 and Forge give an element the title ``titles[its text]`` (``javascript/hints.js``), so one
entry per label covers the accordion, Extras and the Settings page alike, as long as a label holds
nothing but its text (see ``controls.py``). The WebUI only serves JavaScript files, so the table is
written into one: ``python -m gpen_ext.webui.hints > javascript/gpen-hints.js``; a test keeps the
file equal to what this module writes.
"""
from __future__ import annotations

import json

from .options import FROM_SETTINGS, OPTIONS

SECTION_HINT = (
    "Restore faces with GPEN (GAN Prior Embedded Network); GPEN-BFR-2048 gives the most detail on large faces. "
    f"'{FROM_SETTINGS}' (or an unticked Override) uses Settings › GPEN as it is when the image is made"
)


def titles() -> dict[str, str]:
    """Label -> hover hint for the "GPEN" section and every control the UI shows (API-only options have none)."""
    result = {"GPEN": SECTION_HINT}
    for option in (option for option in OPTIONS if option.setting or option.per_image):
        result[option.label] = option.hint
        if option.per_image and option.numeric:
            result[option.override_label] = f"Ticked: use the {option.label} beside it; unticked: the one in Settings › GPEN"
    return result


def javascript() -> str:
    """The content of ``javascript/gpen-hints.js``."""
    return (
        "// Generated from gpen_ext/webui/options.py by `python -m gpen_ext.webui.hints`; do not edit.\n"
        "// The WebUI's javascript/hints.js sets an element's title from `titles[its text]`.\n"
        f"Object.assign(titles, {json.dumps(titles(), indent=4, ensure_ascii=False)});\n"
    )


if __name__ == "__main__":
    print(javascript(), end="")
