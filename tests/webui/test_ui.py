"""The accordion and Extras UIs built with gradio 3.41.2; infotext fields; API argument handling; hints."""
from __future__ import annotations

import json
import re
from pathlib import Path

import gradio as gr
import pytest
from conftest import (
    RECIPE_MODEL,
    REPO_ROOT,
    gpen_processing,
    gpen_script,
    txt2img_runner,
)
from fastapi import HTTPException
from modules import infotext_utils, processing, scripts, scripts_postprocessing, shared
from modules.api.api import init_script_args

from gpen_ext.errors import GPENError
from gpen_ext.webui import script_args as script_args_module
from gpen_ext.webui.script_args import GPENArgs


def test_accordion_components(gpen_model: Path) -> None:
    runner = txt2img_runner()
    script = gpen_script(runner)
    enabled, model, visibility, faces = runner.inputs[script.args_from:script.args_to]
    assert isinstance(enabled, gr.Checkbox) and enabled.value is False
    assert enabled.elem_id == "script_txt2img_gpen_enabled-checkbox"
    assert enabled.accordion.label == "GPEN"
    assert isinstance(model, gr.Dropdown) and model.choices == ["Automatic", RECIPE_MODEL]
    assert (model.elem_id, model.value) == ("script_txt2img_gpen_model", "Automatic")
    assert isinstance(visibility, gr.Slider) and (visibility.minimum, visibility.maximum, visibility.value) == (0, 1, 1.0)
    assert isinstance(faces, gr.Dropdown) and faces.elem_id == "script_txt2img_gpen_faces"


def test_accordion_defaults_follow_settings(gpen_model: Path) -> None:
    shared.opts.gpen_visibility, shared.opts.gpen_faces, shared.opts.gpen_model = 0.6, "largest", RECIPE_MODEL
    script = gpen_script(runner := txt2img_runner())
    _, model, visibility, faces = runner.inputs[script.args_from:script.args_to]
    assert (model.value, visibility.value, faces.value) == (RECIPE_MODEL, 0.6, "largest")


def test_infotext_written_and_pasted_back(gpen_model: Path) -> None:
    runner = txt2img_runner()
    p = gpen_processing([True, "Automatic", 0.8, "largest"], runner)
    runner.process(p)
    text = processing.create_infotext(p)
    assert text == f"GPEN: {RECIPE_MODEL}, GPEN visibility: 0.8, GPEN faces: largest"

    params = infotext_utils.parse_generation_parameters(text)
    updates = infotext_utils.paste_values(runner.infotext_fields, params)
    assert [u["value"] for u in updates] == [True, RECIPE_MODEL, 0.8, "largest"]
    assert runner.paste_field_names == ["GPEN", "GPEN visibility", "GPEN faces"]

    without_gpen = infotext_utils.paste_values(runner.infotext_fields, {"Steps": "20"})
    assert without_gpen[0]["value"] is False and all("value" not in u for u in without_gpen[1:])


def test_disabled_accordion_writes_nothing(gpen_model: Path) -> None:
    runner = txt2img_runner()
    p = gpen_processing([False, "Automatic", 1.0, "all"], runner)
    runner.process(p)
    assert p.extra_generation_params == {}


@pytest.mark.parametrize(
    "request_args",
    [[True, RECIPE_MODEL, 0.5, "center"], [{"enabled": True, "model": RECIPE_MODEL, "visibility": 0.5, "faces": "center"}]],
    ids=["positional", "named"],
)
def test_api_alwayson_scripts_args(gpen_model: Path, request_args: list) -> None:
    runner = txt2img_runner()
    script = gpen_script(runner)
    defaults = [None] + [component.value for component in runner.inputs[1:]]
    script_args = init_script_args({"gpen": {"args": request_args}}, defaults, runner)
    parsed = GPENArgs.from_script_args(script_args[script.args_from:script.args_to])
    assert parsed == GPENArgs(True, RECIPE_MODEL, 0.5, "center")


def test_documented_named_args_turn_gpen_on(gpen_model: Path) -> None:
    """The module's documented API example restores faces; only an explicit ``"enabled": false`` turns GPEN off."""
    example = '"args": [{"visibility": 0.8}]'
    assert example in script_args_module.__doc__
    runner = txt2img_runner()
    script = gpen_script(runner)
    defaults = [None] + [component.value for component in runner.inputs[1:]]
    request = json.loads("{" + example + "}")
    script_args = init_script_args({"GPEN": request}, defaults, runner)
    assert GPENArgs.from_script_args(script_args[script.args_from : script.args_to]) == GPENArgs(True, "Automatic", 0.8, "all")
    assert GPENArgs.from_script_args([{"enabled": False, "visibility": 0.8}]).enabled is False


def test_named_args_keep_defaults_and_reject_unknown_names() -> None:
    assert GPENArgs.from_script_args([{"enabled": True}]) == GPENArgs(enabled=True)
    with pytest.raises(GPENError, match="strength"):
        GPENArgs.from_script_args([{"strength": 0.5}])
    with pytest.raises(GPENError, match="between 0 and 1"):
        GPENArgs.from_script_args([True, "Automatic", 2.0, "all"])
    with pytest.raises(GPENError, match="faces"):
        GPENArgs.from_script_args([True, "Automatic", 1.0, "left"])


def test_api_unknown_script_name_is_rejected(webui: Path) -> None:
    runner = txt2img_runner()
    with pytest.raises(HTTPException):
        init_script_args({"gpen-typo": {"args": []}}, [None] * len(runner.inputs), runner)


def test_extras_components(gpen_model: Path) -> None:
    runner = scripts_postprocessing.ScriptPostprocessingRunner(scripts.postprocessing_scripts_data)
    with gr.Blocks():
        runner.setup_ui()
    (script,) = runner.scripts
    assert list(script.controls) == ["enable", "visibility", "model"]
    assert script.controls["enable"].accordion.label == "GPEN"
    assert script.controls["visibility"].elem_id == "extras_gpen_visibility"
    assert script.controls["model"].elem_id == "extras_gpen_model"


def test_every_gpen_label_has_a_hover_hint(gpen_model: Path) -> None:
    """javascript/gpen-hints.js must cover each label the UI shows (the WebUI matches hints by label text)."""
    hints = set(re.findall(r'^\s*"([^"]+)":', (REPO_ROOT / "javascript" / "gpen-hints.js").read_text(), re.MULTILINE))
    runner = txt2img_runner()
    extras = scripts_postprocessing.ScriptPostprocessingRunner(scripts.postprocessing_scripts_data)
    with gr.Blocks():
        extras.setup_ui()
    labels = {component.label for component in runner.inputs[1:] + list(extras.scripts[0].controls.values())}
    labels |= {info.label for key, info in shared.opts.data_labels.items() if key.startswith("gpen_")}
    assert labels <= hints, labels - hints
