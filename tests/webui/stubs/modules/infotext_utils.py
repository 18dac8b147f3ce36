"""Mirrors ``modules/infotext_utils.py``: parsing generation parameters and pasting them into components."""
from __future__ import annotations

import re

import gradio as gr

re_param = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def parse_generation_parameters(text: str) -> dict[str, str]:
    """Mirrors ``parse_generation_parameters`` for the last line, ``key: value, key: value``."""
    return {key.strip(): value.strip() for key, value in re_param.findall(text.strip().split("\n")[-1])}


def paste_values(paste_fields: list, params: dict[str, str]) -> list:
    """Mirrors the inner loop of ``connect_paste``'s ``paste_func``: a key may be a callable on the params;
    a value is converted to the type of the component's current value; absent keys leave it alone."""
    updates = []
    for output, key in paste_fields:
        value = key(params) if callable(key) else params.get(key)
        if value is None:
            updates.append(gr.update())
            continue
        value_type = type(output.value)
        if value_type is bool and value == "False":
            value = False
        elif value_type is int:
            value = float(value)
        else:
            value = value_type(value)
        updates.append(gr.update(value=value))
    return updates
