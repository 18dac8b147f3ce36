"""What the user is told, and where: a short line in the UI, the details in the console.

A WebUI toast is a narrow box: A1111 does not wrap a long URL or path (the advice after it is cut
off) and Forge renders the text as HTML (``<urlopen error ...>`` vanishes). So the UI gets one
short line saying what happened and what to do, and the console (the ``gpen`` logger) gets the
full message with file paths, URLs and the exception.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from ..errors import GPENError

logger = logging.getLogger("gpen")

Notify = Callable[[str], object]
MARKUP = str.maketrans({"<": "‹", ">": "›", "&": "+", "\n": " "})
UNEXPECTED = "GPEN failed unexpectedly; the image is unchanged. The console has the details."
MASK_FALLBACK_NOTICE = (
    "GPEN: no face parser (parsing_parsenet.pth), so faces are blended with the landmark face region; "
    "hair is left as it was. The console says why."
)


def plain_line(text: str) -> str:
    """``text`` as one line that reads the same as plain text (A1111) and as HTML (Forge).

    Markup characters are replaced by look-alikes rather than HTML-escaped: A1111's toast shows
    text literally, so ``&lt;`` would appear there as it is written.
    """
    return text.translate(MARKUP).strip()


def short_message(error: GPENError) -> str:
    """The line for the UI: the error's own short form (``GPENError.short``) or, for the short
    messages that carry no path or URL (bad options), the message itself."""
    return error.short or str(error)


def report_warning(message: str, notify: Notify | None = None, short: str = "") -> None:
    """Log ``message`` (full) on the ``gpen`` logger and hand ``short`` (default: ``message``) to the UI's channel.

    Both, always: API callers never see the UI's toasts or comments (Forge's API does not even
    return comments), and UI users rarely read the console.
    """
    logger.warning(message)
    if notify is not None:
        notify(plain_line(short or message))


def report_skipped(error: GPENError, notify: Notify | None = None) -> None:
    """``report_warning`` for a restoration that will not run because of ``error``."""
    report_warning(f"GPEN skipped: {error}", notify, f"GPEN skipped: {short_message(error)}")


def show_in_console() -> None:
    """Print GPEN's outcome lines (INFO) in the WebUI's console.

    A1111 configures logging only with ``--log-level``/``SD_WEBUI_LOG_LEVEL`` (before extensions
    load); otherwise Python prints warnings alone, and "GPEN restored 2 faces" would never show. A
    handler is added only then, and the records stop there: a library that configures the root
    logger later (seen in a real A1111 1.10.1) would otherwise print each line twice.
    """
    if logging.root.handlers or logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
