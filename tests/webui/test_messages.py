"""Toast lines stay plain text, and GPEN's outcome lines reach a WebUI console that configured no logging."""
from __future__ import annotations

import logging

import pytest

from gpen_ext.webui import messages


def test_plain_line_is_one_line_without_markup() -> None:
    line = messages.plain_line("could not download x (<urlopen error [Errno 101]>)\n & more ")
    assert line == "could not download x (‹urlopen error [Errno 101]›)  + more"


def test_outcomes_reach_an_unconfigured_console(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A1111 without --log-level configures no logging, where Python would print warnings only."""
    monkeypatch.setattr(logging.root, "handlers", [])
    monkeypatch.setattr(messages.logger, "handlers", [])
    monkeypatch.setattr(messages.logger, "level", logging.NOTSET)
    monkeypatch.setattr(messages.logger, "propagate", True)
    messages.show_in_console()
    messages.show_in_console()  # a "Reload UI" loads the scripts again: still one line per message
    monkeypatch.setattr(logging.root, "handlers", [logging.StreamHandler()])  # configured later by a library
    messages.logger.info("GPEN restored 2 faces")
    assert capsys.readouterr().err == "GPEN restored 2 faces\n"


def test_configured_console_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging.root, "handlers", [logging.NullHandler()])
    monkeypatch.setattr(messages.logger, "handlers", [])
    messages.show_in_console()
    assert messages.logger.handlers == []
