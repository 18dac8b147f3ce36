"""The accordion and Extras UIs built with gradio 3.41.2; infotext fields; API argument handling; hints."""
from __future__ import annotations

import json
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
from gpen_ext.webui import hints
from gpen_ext.webui.script_args import GPENArgs


def accordion_controls(runner: scripts.ScriptRunner) -> list:
    script = gpen_script(runner)
    return runner.inputs[script.args_from:script.args_to]


def test_accordion_components_start_at_settings(gpen_model: Path) -> None:
    """Every control starts at "as in Settings", whatever Settings held when the UI was built."""
    shared.opts.gpen_visibility, shared.opts.gpen_faces = 0.6, "largest"
    enabled, model, override_visibility, visibility, faces, mask, color_correction, smoothing = accordion_controls(txt2img_runner())
    assert isinstance(enabled, gr.Checkbox) and enabled.value is False
    assert enabled.elem_id == "script_txt2img_gpen_enabled-checkbox"
    assert enabled.accordion.label == "GPEN"
    assert isinstance(model, gr.Dropdown) and model.choices == ["Settings", "Automatic", RECIPE_MODEL]
    assert (model.elem_id, model.value) == ("script_txt2img_gpen_model", "Settings")
    assert isinstance(override_visibility, gr.Checkbox) and override_visibility.value is False
    assert isinstance(visibility, gr.Slider) and (visibility.minimum, visibility.maximum, visibility.step) == (0, 1, 0.01)
    assert isinstance(faces, gr.Dropdown) and (faces.elem_id, faces.value) == ("script_txt2img_gpen_faces", "Settings")
    assert faces.choices == ["Settings", "all", "largest", "center"]
    assert (mask.value, mask.choices) == ("Settings", ["Settings", "auto", "parsing", "parsing-bisenet", "feather"])
    assert (color_correction.value, color_correction.choices) == ("Settings", ["Settings", "on", "off"])
    assert (smoothing.value, smoothing.choices) == ("Settings", ["Settings", "auto", "on", "off"])


def test_settings_changed_after_the_ui_was_built_reach_the_generation(gpen_model: Path) -> None:
    """A1111 restores each control's first value from ui-config.json: only "Settings" as a value follows Settings."""
    runner = txt2img_runner()
    shared.opts.gpen_visibility, shared.opts.gpen_faces, shared.opts.gpen_mask = 0.6, "largest", "feather"
    p = gpen_processing([True, "Settings", False, 1.0, "Settings", "Settings"], runner)
    runner.process(p)
    assert processing.create_infotext(p) == f"GPEN: {RECIPE_MODEL}, GPEN visibility: 0.6, GPEN faces: largest, GPEN mask: feather, GPEN color correction: on, GPEN temporal smoothing: auto"

    p = gpen_processing([True, "Automatic", True, 1.0, "center", "parsing"], runner)  # explicit values win
    runner.process(p)
    assert processing.create_infotext(p) == f"GPEN: {RECIPE_MODEL}, GPEN visibility: 1.0, GPEN faces: center, GPEN mask: parsing, GPEN color correction: on, GPEN temporal smoothing: auto"


def test_infotext_written_and_pasted_back(gpen_model: Path) -> None:
    runner = txt2img_runner()
    p = gpen_processing([True, "Automatic", True, 0.8, "largest", "feather", "off"], runner)
    runner.process(p)
    text = processing.create_infotext(p)
    assert text == f"GPEN: {RECIPE_MODEL}, GPEN visibility: 0.8, GPEN faces: largest, GPEN mask: feather, GPEN color correction: off, GPEN temporal smoothing: auto"

    params = infotext_utils.parse_generation_parameters(text)
    updates = infotext_utils.paste_values(runner.infotext_fields, params)
    assert [u["value"] for u in updates] == [True, RECIPE_MODEL, True, 0.8, "largest", "feather", "off", "auto"]
    assert runner.paste_field_names == [
        "GPEN", "GPEN visibility", "GPEN faces", "GPEN mask", "GPEN color correction", "GPEN temporal smoothing",
    ]

    without_gpen = infotext_utils.paste_values(runner.infotext_fields, {"Steps": "20"})
    assert without_gpen[0]["value"] is False and all("value" not in u for u in without_gpen[1:])


def test_model_name_with_comma_survives_the_infotext(gpen_model: Path) -> None:
    """The WebUI quotes a value holding a comma or colon; pasting must give the file's name back."""
    name = "GPEN-BFR-256, mine: v2"
    gpen_model.rename(gpen_model.with_name(name + ".pth"))
    runner = txt2img_runner()
    p = gpen_processing([True, name, False, 1.0, "Settings"], runner)
    runner.process(p)
    text = processing.create_infotext(p)
    assert text.startswith('GPEN: "GPEN-BFR-256, mine: v2", GPEN visibility: 1.0')
    updates = infotext_utils.paste_values(runner.infotext_fields, infotext_utils.parse_generation_parameters(text))
    assert updates[1]["value"] == name


def test_disabled_accordion_writes_nothing(gpen_model: Path) -> None:
    runner = txt2img_runner()
    p = gpen_processing([False, "Automatic", False, 1.0, "all"], runner)
    runner.process(p)
    assert p.extra_generation_params == {}


@pytest.mark.parametrize(
    "request_args",
    [[True, RECIPE_MODEL, True, 0.5, "center"], [{"enabled": True, "model": RECIPE_MODEL, "visibility": 0.5, "faces": "center"}]],
    ids=["positional", "named"],
)
def test_api_alwayson_scripts_args(gpen_model: Path, request_args: list) -> None:
    runner = txt2img_runner()
    script = gpen_script(runner)
    defaults = [None] + [component.value for component in runner.inputs[1:]]
    script_args = init_script_args({"gpen": {"args": request_args}}, defaults, runner)
    parsed = GPENArgs.from_script_args(script_args[script.args_from:script.args_to])
    assert parsed == GPENArgs(True, RECIPE_MODEL, True, 0.5, "center")


def test_documented_named_args_turn_gpen_on(gpen_model: Path) -> None:
    """The module's documented API example restores faces; only an explicit ``"enabled": false`` turns GPEN off."""
    example = '"args": [{"visibility": 0.8}]'
    assert example in script_args_module.__doc__
    runner = txt2img_runner()
    script = gpen_script(runner)
    defaults = [None] + [component.value for component in runner.inputs[1:]]
    request = json.loads("{" + example + "}")
    script_args = init_script_args({"GPEN": request}, defaults, runner)
    assert GPENArgs.from_script_args(script_args[script.args_from : script.args_to]) == GPENArgs(True, visibility=0.8, override_visibility=True)
    assert GPENArgs.from_script_args([{"enabled": False, "visibility": 0.8}]).enabled is False


def test_named_args_keep_defaults_and_reject_unknown_names() -> None:
    assert GPENArgs.from_script_args([{"enabled": True}]) == GPENArgs(enabled=True)
    assert GPENArgs.from_script_args([{"enabled": True}]).model == "Settings"
    with pytest.raises(GPENError, match="strength"):
        GPENArgs.from_script_args([{"strength": 0.5}])
    with pytest.raises(GPENError, match="between 0 and 1"):
        GPENArgs.from_script_args([True, "Automatic", True, 2.0, "all"])
    with pytest.raises(GPENError, match="faces"):
        GPENArgs.from_script_args([True, "Automatic", True, 1.0, "left"])


def test_positional_args_without_the_override_flag_are_refused() -> None:
    """The 4-value list of earlier versions must not pass with its visibility silently ignored."""
    with pytest.raises(GPENError, match="Override GPEN visibility must be true or false, got 0.8"):
        GPENArgs.from_script_args([True, RECIPE_MODEL, 0.8, "all"])


def test_api_unknown_script_name_is_rejected(webui: Path) -> None:
    runner = txt2img_runner()
    with pytest.raises(HTTPException):
        init_script_args({"gpen-typo": {"args": []}}, [None] * len(runner.inputs), runner)


def extras_controls() -> dict:
    runner = scripts_postprocessing.ScriptPostprocessingRunner(scripts.postprocessing_scripts_data)
    with gr.Blocks():
        runner.setup_ui()
    (script,) = runner.scripts
    return script.controls


def test_extras_has_the_accordion_layout(gpen_model: Path) -> None:
    """Same controls, order, labels, ranges and starting values as the accordion; ids of its own."""
    controls = extras_controls()
    assert list(controls) == [
        "enabled", "model", "override_visibility", "visibility", "faces", "mask", "color_correction", "temporal_smoothing",
    ]
    assert controls["enabled"].accordion.label == "GPEN"
    assert controls["visibility"].elem_id == "extras_gpen_visibility" and controls["model"].elem_id == "extras_gpen_model"
    describe = lambda c: (type(c), c.label, c.value, getattr(c, "choices", None), getattr(c, "step", None))
    accordion = accordion_controls(txt2img_runner())
    assert [describe(c) for c in controls.values()][1:] == [describe(c) for c in accordion][1:]


def test_settings_page_uses_the_same_labels_with_visible_explanations(webui: Path) -> None:
    """Explanations in gradio's ``info`` (rendered by A1111 and Forge for every control), labels bare."""
    accordion_labels = {c.label for c in accordion_controls(txt2img_runner())[1:]}
    settings = {key: info for key, info in shared.opts.data_labels.items() if key.startswith("gpen_")}
    assert list(settings)[:3] == ["gpen_model", "gpen_visibility", "gpen_faces"]  # the accordion's order
    assert {"GPEN model", "GPEN visibility", "GPEN faces"} <= accordion_labels & {info.label for info in settings.values()}
    for key, info in settings.items():
        args = info.component_args() if callable(info.component_args) else info.component_args
        assert len(args["info"]) > 20 and info.comment_after == "", key
    assert settings["gpen_visibility"].component_args["step"] == 0.01


def test_hints_file_is_generated_from_the_table() -> None:
    assert (REPO_ROOT / "javascript" / "gpen-hints.js").read_text() == hints.javascript()


def test_every_gpen_label_has_a_hover_hint(gpen_model: Path) -> None:
    """javascript/gpen-hints.js must cover each label the UI shows (the WebUI matches hints by label text)."""
    hints_text = (REPO_ROOT / "javascript" / "gpen-hints.js").read_text()
    titles = json.loads(hints_text[hints_text.index("{") : hints_text.rindex("}") + 1])
    labels = {component.label for component in accordion_controls(txt2img_runner()) + list(extras_controls().values())}
    labels |= {info.label for key, info in shared.opts.data_labels.items() if key.startswith("gpen_")}
    assert labels <= set(titles), labels - set(titles)
