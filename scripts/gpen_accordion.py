"""The "GPEN" accordion of txt2img and img2img: restore the faces of every generated image."""
from __future__ import annotations

import gradio as gr
import numpy as np
from modules import devices, scripts, shared
from modules.ui_components import InputAccordion
from PIL import Image

from gpen_ext.errors import GPENError
from gpen_ext.faces.pipeline import FACE_CHOICES
from gpen_ext.webui.model_files import model_choices, resolve_model_name
from gpen_ext.webui.safe_restore import RestoreOptions, report_warning, restore_safely
from gpen_ext.webui.script_args import (
    INFOTEXT_FACES,
    INFOTEXT_MODEL,
    INFOTEXT_VISIBILITY,
    PASTE_FIELD_NAMES,
    GPENArgs,
    infotext_enabled,
)
from gpen_ext.webui.settings import GPENSettings, environment_from_webui


class GPENScript(scripts.Script):
    """An AlwaysVisible script; its arguments are ``GPENArgs`` (enabled, model, visibility, faces)."""

    def title(self) -> str:
        return "GPEN"

    def show(self, is_img2img: bool) -> object:
        return scripts.AlwaysVisible

    def ui(self, is_img2img: bool) -> list[gr.components.Component]:
        settings = GPENSettings.from_opts(shared.opts)
        env = environment_from_webui(shared, devices)
        with InputAccordion(False, label="GPEN", elem_id=self.elem_id("enabled")) as enabled:
            with gr.Row():
                model = gr.Dropdown(
                    label="GPEN model", choices=model_choices(env.models_dir, env.shared_models_dirs), value=settings.model, elem_id=self.elem_id("model")
                )
                faces = gr.Dropdown(label="GPEN faces", choices=list(FACE_CHOICES), value=settings.faces, elem_id=self.elem_id("faces"))
            visibility = gr.Slider(
                label="GPEN visibility", minimum=0.0, maximum=1.0, step=0.01, value=settings.visibility, elem_id=self.elem_id("visibility")
            )
        self.infotext_fields = [
            (enabled, infotext_enabled),
            (model, INFOTEXT_MODEL),
            (visibility, INFOTEXT_VISIBILITY),
            (faces, INFOTEXT_FACES),
        ]
        self.paste_field_names = list(PASTE_FIELD_NAMES)
        return [enabled, model, visibility, faces]

    def process(self, p, *args) -> None:
        """Write the infotext up front, so every image of the batch (and its saved file) carries it."""
        try:
            gpen = GPENArgs.from_script_args(args).with_overrides(p)
            if not gpen.enabled:
                return
            env = environment_from_webui(shared, devices)
            model = resolve_model_name(env.models_dir, gpen.model, env.shared_models_dirs)
        except GPENError as error:
            report_warning(f"GPEN skipped: {error}", p.comment)  # no image will be restored: no infotext
            return
        p.extra_generation_params.update(gpen.infotext(model))

    def postprocess_image(self, p, pp: scripts.PostprocessImageArgs, *args) -> None:
        try:
            gpen = GPENArgs.from_script_args(args).with_overrides(p)
        except GPENError:
            return  # process() has already reported it
        if not gpen.enabled:
            return
        options = RestoreOptions.from_settings(
            GPENSettings.from_opts(shared.opts), model=gpen.model, visibility=gpen.visibility, faces=gpen.faces
        )
        outcome = restore_safely(
            np.asarray(pp.image),
            options,
            environment_from_webui(shared, devices),
            progress=lambda done, total: setattr(shared.state, "textinfo", f"GPEN: face {done}/{total}"),
            notify=p.comment,
        )
        if outcome.restored:
            pp.image = Image.fromarray(outcome.image)
        devices.torch_gc()
