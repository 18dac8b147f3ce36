"""Mirrors ``modules/infotext_utils.py``: quoting, parsing generation parameters and pasting them into components."""
from __future__ import annotations

import json
import re

import gradio as gr

re_param = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def quote(text: object) -> object:
    """Mirrors ``quote``: a value holding ``,``, ``:`` or a newline is written as a JSON string, others as they are."""
    if not any(mark in str(text) for mark in ",:\n"):
        return text
    return json.dumps(text, ensure_ascii=False)


def unquote(text: str) -> str:
    """Mirrors ``unquote``: the inverse of ``quote`` for a value in double quotes; anything else as it is."""
    if not (text.startswith('"') and text.endswith('"')):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_generation_parameters(text: str) -> dict[str, str]:
    """Mirrors ``parse_generation_parameters`` for the last line, ``key: value, key: "quoted, value"``."""
    return {key.strip(): unquote(value.strip()) for key, value in re_param.findall(text.strip().split("\n")[-1])}


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
