"""Gradio controls generated from the option table: the Settings page and the per-image section.

The accordion (txt2img/img2img) and the Extras section share one builder, so both show the same
controls in the table's order with the table's labels; labels carry no explanation, so the
WebUI's hint mechanism (a title per label text) finds them everywhere. The Settings page puts its
explanation in gradio's ``info`` line, which A1111 and Forge both render for every kind of control
(an ``OptionInfo.info()`` comment is lost on Forge's dropdowns and hides the label from A1111's hints).
"""
from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from .model_files import Folders
from .options import FROM_SETTINGS, Option, options_where


def setting_component(option: Option, model_folders: Callable[[], Folders]) -> tuple[type, dict | Callable[[], dict]]:
    """The component class and its arguments for an ``OptionInfo`` of the Settings page.

    Choices that depend on the models folder are a function, which the WebUI calls again when
    its refresh button is pressed.
    """
    if option.type is bool:
        return gr.Checkbox, {"info": option.hint}
    if option.numeric:
        return gr.Slider, {**option.slider_range(), "info": option.hint}
    if option.list_choices:
        return gr.Dropdown, lambda: {"choices": option.choice_list(model_folders()), "info": option.hint}
    if not option.choices:
        return gr.Textbox, {"info": option.hint}
    return gr.Dropdown, {"choices": list(option.choices), "info": option.hint}


def per_image_controls(model_folders: Folders, elem_id: Callable[[str], str]) -> dict[str, gr.components.Component]:
    """The per-image options by argument name (``GPENArgs`` order, without ``enabled``).

    Each one starts at "as in Settings": a dropdown at ``FROM_SETTINGS``, a number with its
    "Override" box unticked. The values therefore mean the same whatever ``ui-config.json`` froze.
    """
    controls: dict[str, gr.components.Component] = {}
    for option in options_where("per_image"):
        if option.numeric:
            with gr.Row():
                controls[option.override_name] = gr.Checkbox(
                    False, label=option.override_label, elem_id=elem_id(option.override_name)
                )
                controls[option.name] = gr.Slider(
                    label=option.label, value=option.default, elem_id=elem_id(option.name), **option.slider_range()
                )
        else:
            controls[option.name] = gr.Dropdown(
                label=option.label,
                choices=[FROM_SETTINGS, *option.choice_list(model_folders)],
                value=FROM_SETTINGS,
                elem_id=elem_id(option.name),
            )
    return controls
