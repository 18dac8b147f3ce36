"""X/Y/Z plot axes for the per-image options the table marks ``xyz``, added to the built-in xyz_grid script."""
from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from modules import devices, script_callbacks, scripts, shared

from gpen_ext.webui.options import Option, options_where
from gpen_ext.webui.settings import environment_from_webui


def find_xyz_grid() -> ModuleType | None:
    """The loaded ``scripts/xyz_grid.py`` module; the WebUI loads scripts by file, so it is not importable."""
    return next((data.module for data in scripts.scripts_data if data.script_class.__module__ == "xyz_grid.py"), None)


def choices(option: Option) -> Callable[[], list[str]]:
    """The axis values offered for a choice option (model files listed when the plot is set up)."""
    return lambda: option.choice_list(environment_from_webui(shared, devices).model_folders)


def confirm_choices(option: Option) -> Callable[[object, list], None]:
    def confirm(_p: object, values: list) -> None:
        unknown = [value for value in values if value not in choices(option)()]
        if unknown:
            raise RuntimeError(f"Unknown {option.label} value(s) {unknown}; available: {choices(option)()}")

    return confirm


def axis(xyz: ModuleType, option: Option) -> object:
    """An axis that sets ``p.gpen_<name>`` on each cell's copy of the job (read by ``GPENArgs.with_overrides``)."""
    if option.numeric:
        confirm = xyz.confirm_range(option.minimum, option.maximum, option.label)
        return xyz.AxisOption(option.label, option.type, xyz.apply_field(option.key), confirm=confirm)
    return xyz.AxisOption(
        option.label, str, xyz.apply_field(option.key), format_value=xyz.format_value, confirm=confirm_choices(option), choices=choices(option)
    )


def add_axes() -> None:
    """Add the axes unless they are there already: building the UI twice must not list them twice."""
    xyz = find_xyz_grid()
    options = options_where("xyz")
    if xyz is None or any(axis_option.label == options[0].label for axis_option in xyz.axis_options):
        return
    xyz.axis_options.extend(axis(xyz, option) for option in options)


script_callbacks.on_before_ui(add_axes)
