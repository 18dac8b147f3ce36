"""The README's quick start and Python snippets work as written, offline, and it names the hardware of its numbers."""
from __future__ import annotations

import re
import shlex
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from gpen_ext import cli
from gpen_ext.bench.recipe import recipe_state_dict
from gpen_ext.faces.image_files import read_image
from gpen_ext.model.arch.config import RELEASED_CONFIGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def section(title: str) -> str:
    return README.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


@pytest.fixture
def offline_folder(tmp_path: Path, test_images_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with what the quick start tells the user to obtain, and no network."""

    def no_network(*args, **kwargs):
        raise AssertionError(f"the README's example went to the network: {args}")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.chdir(tmp_path)
    weights = recipe_state_dict(RELEASED_CONFIGS[256])  # the real layout; the name does not set the size
    for name in ("GPEN-BFR-2048.pt", "models/GPEN/GPEN-BFR-2048.pth", "pytorch_model.pt"):
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        torch.save(weights, name)
    shutil.copyfile(test_images_dir / "portrait_small.jpg", "photo.jpg")
    return tmp_path


def test_no_authoring_markers_and_no_unnamed_machines() -> None:
    assert "<!--" not in README
    assert not re.search(r"this machine|build machine|this CPU", README, re.IGNORECASE)


def test_quick_start_says_what_to_obtain_where_and_how_to_install_on_a_cpu() -> None:
    quick = section("Quick start")
    assert "First obtain" in quick and "GPEN-BFR-2048" in quick and "modelscope.cn" in quick and "a photo" in quick
    assert "--index-url https://download.pytorch.org/whl/cpu" in quick
    assert "`gpen`" in quick and ".venv/bin/gpen restore" in quick


def test_quick_start_command_runs_offline(offline_folder: Path) -> None:
    (command,) = [line for line in section("Quick start").splitlines() if line.startswith(".venv/bin/gpen restore")]
    assert cli.main(shlex.split(command)[1:]) == 0
    assert not np.array_equal(read_image("restored/photo.jpg"), read_image("photo.jpg"))


def test_python_snippets_run_offline_as_written(offline_folder: Path) -> None:
    snippets = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
    assert len(snippets) >= 2
    for snippet in snippets:
        exec(compile(snippet, "README.md", "exec"), {})
    assert not np.array_equal(read_image("restored.jpg"), read_image("photo.jpg"))
