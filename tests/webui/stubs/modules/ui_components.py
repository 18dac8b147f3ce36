"""Mirrors ``modules/ui_components.py``: ``InputAccordion``."""
from __future__ import annotations

import gradio as gr


class InputAccordion(gr.Checkbox):
    """Mirrors ``ui_components.InputAccordion`` (1.10): a hidden checkbox (the script's input, id
    ``<elem_id>-checkbox``) that follows an accordion (id ``elem_id``) opened when the value is True."""

    def __init__(self, value: bool, **kwargs):
        self.accordion_id = kwargs.get("elem_id") or "input-accordion"
        super().__init__(value, **{**kwargs, "elem_id": f"{self.accordion_id}-checkbox", "visible": False})
        self.accordion = gr.Accordion(
            **{**kwargs, "elem_id": self.accordion_id, "label": kwargs.get("label", "Accordion"), "open": value}
        )

    def __enter__(self) -> InputAccordion:
        self.accordion.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.accordion.__exit__(*exc)

    def get_block_name(self) -> str:
        return "checkbox"
