"""Mirrors ``scripts/xyz_grid.py``: ``AxisOption``, ``axis_options`` and the helpers extensions reuse."""
from __future__ import annotations

from collections.abc import Callable
from copy import copy
from typing import Any

from modules import processing, scripts


def apply_field(field: str) -> Callable[[Any, Any, list], None]:
    """Mirrors ``apply_field``: an axis value becomes an attribute of the (per-cell copied) processing object."""
    return lambda p, value, values: setattr(p, field, value)


def confirm_range(lowest: float, highest: float, label: str) -> Callable[[Any, list], None]:
    """Mirrors ``confirm_range``: a check run on all of an axis's values, raising ValueError for one out of range."""

    def check(p: Any, values: list) -> None:
        outside = [value for value in values if not lowest <= value <= highest]
        if outside:
            raise ValueError(f"{label} value {outside[0]!r} is outside [{lowest}, {highest}]")

    return check


def format_value(p: Any, option: AxisOption, value: Any) -> Any:
    """Mirrors ``format_value``: the value as it is."""
    return value


def format_value_add_label(p: Any, option: AxisOption, value: Any) -> str:
    """Mirrors ``format_value_add_label``: ``label: value``."""
    return f"{option.label}: {value}"


class AxisOption:
    """Mirrors ``AxisOption``: the fields an axis has (a plain class: the WebUI loads this file by path)."""

    def __init__(
        self,
        label: str,
        type: type,
        apply: Callable[[Any, Any, list], None],
        format_value: Callable[[Any, AxisOption, Any], Any] = format_value_add_label,
        confirm: Callable[[Any, list], None] | None = None,
        cost: float = 0.0,
        choices: Callable[[], list] | None = None,
        prepare: Callable | None = None,
    ) -> None:
        self.label, self.type, self.apply, self.format_value = label, type, apply, format_value
        self.confirm, self.cost, self.choices, self.prepare = confirm, cost, choices, prepare


axis_options = [AxisOption("Nothing", str, lambda p, x, xs: None)]


class Script(scripts.Script):
    """Mirrors the ``Script`` class of ``xyz_grid.py``; extensions find the module through it in ``scripts_data``."""

    def title(self):
        return "X/Y/Z plot"


def run_axis(p: Any, option: AxisOption, values_text: str, samples: list) -> list[tuple[list, list[str]]]:
    """Mirrors ``Script.run`` for one axis: the comma-separated values converted by the axis type and
    confirmed, then per value the ``cell`` closure: a *shallow* ``copy(p)`` (so every cell shares the
    job's ``extra_generation_params`` dict), the axis applied to it, and ``process_images`` on it."""
    values = [option.type(value.strip()) for value in values_text.split(",")]
    if option.confirm:
        option.confirm(p, values)
    results = []
    for value in values:
        cell = copy(p)
        option.apply(cell, value, values)
        results.append(processing.process_images(cell, samples))
    return results
