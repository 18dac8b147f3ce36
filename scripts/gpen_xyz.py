"""X/Y/Z plot axes "GPEN visibility" and "GPEN model", added to the built-in xyz_grid script."""
from __future__ import annotations

from types import ModuleType

from modules import devices, script_callbacks, scripts, shared

from gpen_ext.webui.model_files import model_choices
from gpen_ext.webui.script_args import XYZ_ATTRIBUTES
from gpen_ext.webui.settings import environment_from_webui

AXIS_LABELS = ("GPEN visibility", "GPEN model")


def find_xyz_grid() -> ModuleType | None:
    """The loaded ``scripts/xyz_grid.py`` module; the WebUI loads scripts by file, so it is not importable."""
    return next((data.module for data in scripts.scripts_data if data.script_class.__module__ == "xyz_grid.py"), None)


def models() -> list[str]:
    env = environment_from_webui(shared, devices)
    return model_choices(env.models_dir, env.shared_models_dirs)


def confirm_models(_p, values: list[str]) -> None:
    unknown = sorted(set(values) - set(models()))
    if unknown:
        raise RuntimeError(f"Unknown GPEN model(s) {unknown}; available: {models()}")


def add_axes() -> None:
    """Add the axes unless they are there already: building the UI twice must not list them twice."""
    xyz = find_xyz_grid()
    if xyz is None or any(option.label in AXIS_LABELS for option in xyz.axis_options):
        return
    xyz.axis_options.extend(
        [
            xyz.AxisOption(
                "GPEN visibility",
                float,
                xyz.apply_field(XYZ_ATTRIBUTES["visibility"]),
                confirm=xyz.confirm_range(0.0, 1.0, "GPEN visibility"),
            ),
            xyz.AxisOption(
                "GPEN model",
                str,
                xyz.apply_field(XYZ_ATTRIBUTES["model"]),
                format_value=xyz.format_value,
                confirm=confirm_models,
                choices=models,
            ),
        ]
    )


script_callbacks.on_before_ui(add_axes)
