"""The "GPEN" section of the Extras tab (single image, batch, batch from directory)."""
from __future__ import annotations

import gradio as gr
from modules import devices, scripts_postprocessing, shared
from modules.ui_components import InputAccordion
from PIL import Image

from gpen_ext.errors import GPENError
from gpen_ext.faces.image_files import pil_to_array
from gpen_ext.webui.controls import per_image_controls
from gpen_ext.webui.messages import report_skipped
from gpen_ext.webui.model_files import AUTOMATIC_MODEL
from gpen_ext.webui.script_args import INFOTEXT_RESULT, GPENArgs, infotext
from gpen_ext.webui.sequences import restore_in_sequence
from gpen_ext.webui.settings import GPENSettings, environment_from_webui


class ScriptPostprocessingGPEN(scripts_postprocessing.ScriptPostprocessing):
    """The same controls as the accordion; ``process`` receives them by ``GPENArgs`` field name."""

    name = "GPEN"
    order = 2050  # right after GFPGAN (2000) and before CodeFormer (3000), like the built-in restorers

    def ui(self) -> dict[str, gr.components.Component]:
        model_folders = environment_from_webui(shared, devices).model_folders
        with InputAccordion(False, label="GPEN", elem_id="extras_gpen_enabled") as enabled:
            controls = per_image_controls(model_folders, lambda name: f"extras_gpen_{name}")
        return {"enabled": enabled, **controls}

    def process(self, pp: scripts_postprocessing.PostprocessedImage, **args: object) -> None:
        try:
            gpen = GPENArgs.from_script_args([args])
        except GPENError as error:
            report_skipped(error, gr.Warning)
            return
        if not gpen.enabled:
            return
        options = gpen.restore_options(GPENSettings.from_opts(shared.opts))
        outcome = restore_in_sequence(
            pil_to_array(pp.image), options, environment_from_webui(shared, devices), shared.state, gr.Warning,
            caller="extras", sequence=shared.state.job_count > 1,  # a batch: several files, or a folder
        )
        devices.torch_gc()
        if outcome.restored:
            pp.image = Image.fromarray(outcome.image)
            pp.info.update(infotext(options, outcome.model, outcome.models_used() if outcome.model == AUTOMATIC_MODEL else ""))
        pp.info[INFOTEXT_RESULT] = outcome.summary()  # Extras shows this info under the result
