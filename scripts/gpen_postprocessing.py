"""The "GPEN" section of the Extras tab (single image, batch, batch from directory)."""
from __future__ import annotations

import gradio as gr
from modules import devices, scripts_postprocessing, shared
from modules.ui_components import InputAccordion
from PIL import Image

from gpen_ext.faces.image_files import pil_to_array
from gpen_ext.webui.model_files import model_choices
from gpen_ext.webui.safe_restore import RestoreOptions, restore_safely
from gpen_ext.webui.script_args import INFOTEXT_MODEL, INFOTEXT_VISIBILITY
from gpen_ext.webui.settings import GPENSettings, environment_from_webui


class ScriptPostprocessingGPEN(scripts_postprocessing.ScriptPostprocessing):
    name = "GPEN"
    order = 2050  # right after GFPGAN (2000) and before CodeFormer (3000), like the built-in restorers

    def ui(self) -> dict[str, gr.components.Component]:
        settings = GPENSettings.from_opts(shared.opts)
        env = environment_from_webui(shared, devices)
        with InputAccordion(False, label="GPEN") as enable:
            with gr.Row():
                visibility = gr.Slider(
                    minimum=0.0, maximum=1.0, step=0.001, label="GPEN visibility", value=settings.visibility, elem_id="extras_gpen_visibility"
                )
                model = gr.Dropdown(label="GPEN model", choices=model_choices(env.models_dir, env.shared_models_dirs), value=settings.model, elem_id="extras_gpen_model")
        return {"enable": enable, "visibility": visibility, "model": model}

    def process(self, pp: scripts_postprocessing.PostprocessedImage, enable: bool, visibility: float, model: str) -> None:
        if not enable:
            return
        options = RestoreOptions.from_settings(GPENSettings.from_opts(shared.opts), model=model, visibility=visibility)
        outcome = restore_safely(pil_to_array(pp.image), options, environment_from_webui(shared, devices), notify=gr.Warning)
        devices.torch_gc()
        if outcome.restored:
            pp.image = Image.fromarray(outcome.image)
            pp.info[INFOTEXT_MODEL] = outcome.model
            pp.info[INFOTEXT_VISIBILITY] = round(visibility, 3)
