"""install.py: installs only what is missing, never moves the WebUI's pinned packages."""
from __future__ import annotations

import importlib.util
import subprocess
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

import pytest
from conftest import REPO_ROOT


@pytest.fixture
def installer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("install_gpen", REPO_ROOT / "install.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def pip_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], str]]:
    """Each pip command install.py runs, with the constraints file's content at that moment."""
    calls: list[tuple[list[str], str]] = []

    def run(command, check):
        constraints = command[command.index("-c") + 1]
        calls.append((command, Path(constraints).read_text()))

    monkeypatch.setattr(subprocess, "run", run)
    return calls


def test_nothing_to_do_when_all_is_installed(installer: ModuleType, pip_calls: list) -> None:
    assert installer.missing_requirements(installer.REQUIREMENTS) == []
    installer.main()
    assert pip_calls == []


def test_missing_or_too_old_requirements_are_found(installer: ModuleType) -> None:
    assert installer.missing_requirements(("facexlib>=99", "no-such-package-gpen>=1", "numpy")) == ["facexlib>=99", "no-such-package-gpen>=1"]


def test_install_pins_what_the_webui_pins(installer: ModuleType, pip_calls: list, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(installer, "REQUIREMENTS", ("facexlib>=99",))
    installer.main()
    ((command, constraints),) = pip_calls
    assert command[-1] == "facexlib>=99" and command[1:4] == ["-m", "pip", "install"]
    for package in ("torch", "numpy", "gradio", "pydantic", "fastapi"):
        assert f"{package}=={version(package)}" in constraints.splitlines()
