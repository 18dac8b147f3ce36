"""Mirrors ``scripts/xyz_grid.py``: ``AxisOption``, ``axis_options`` and the helpers extensions reuse."""
from __future__ import annotations

from modules import scripts


def apply_field(field):
    """Mirrors ``apply_field``: an axis value becomes an attribute of the (per-cell copied) processing object."""
    def fun(p, x, xs):
        setattr(p, field, x)

    return fun


def confirm_range(min_val, max_val, axis_label):
    """Mirrors ``confirm_range``."""
    def confirm_range_fun(p, xs):
        for x in xs:
            if not (max_val >= x >= min_val):
                raise ValueError(f'{axis_label} value "{x}" out of range [{min_val}, {max_val}]')

    return confirm_range_fun


def format_value(p, opt, x):
    """Mirrors ``format_value``."""
    return x


def format_value_add_label(p, opt, x):
    """Mirrors ``format_value_add_label``."""
    return f"{opt.label}: {x}"


class AxisOption:
    """Mirrors ``AxisOption.__init__``."""

    def __init__(self, label, type, apply, format_value=format_value_add_label, confirm=None, cost=0.0, choices=None, prepare=None):
        self.label = label
        self.type = type
        self.apply = apply
        self.format_value = format_value
        self.confirm = confirm
        self.cost = cost
        self.prepare = prepare
        self.choices = choices


axis_options = [AxisOption("Nothing", str, lambda p, x, xs: None)]


class Script(scripts.Script):
    """Mirrors the ``Script`` class of ``xyz_grid.py``; extensions find the module through it in ``scripts_data``."""

    def title(self):
        return "X/Y/Z plot"
