"""The "GPEN" accordion of txt2img and img2img: restore the faces of every generated image."""
from __future__ import annotations

import gradio as gr
import numpy as np
from modules import devices, scripts, shared
from modules.ui_components import InputAccordion
from PIL import Image

from gpen_ext.errors import GPENError
from gpen_ext.webui.controls import per_image_controls
from gpen_ext.webui.messages import report_skipped
from gpen_ext.webui.model_files import AUTOMATIC_MODEL, per_face_files, resolve_model_name
from gpen_ext.webui.safe_restore import RestoreOptions
from gpen_ext.webui.script_args import (
    INFOTEXT_MODELS,
    PASTE_FIELD_NAMES,
    GPENArgs,
    infotext,
    paste_fields,
)
from gpen_ext.webui.sequences import SEQUENCES, job_key, restore_in_sequence, sequence_of
from gpen_ext.webui.settings import GPENSettings, environment_from_webui


def enabled_options(p, args) -> RestoreOptions | None:
    """The validated options of this generation's GPEN, None when it is off; a GPENError for a bad value."""
    gpen = GPENArgs.from_script_args(args).with_overrides(p)
    return gpen.restore_options(GPENSettings.from_opts(shared.opts)).validate() if gpen.enabled else None


def sequence_caller(p) -> tuple[str, int]:
    """The accordion's slots in the job's sequences: those of ``p``'s own sequence (see ``sequence_of``)."""
    return "accordion", sequence_of(p)


class GPENScript(scripts.Script):
    """An AlwaysVisible script; its arguments are ``GPENArgs`` (enabled, then the per-image options)."""

    def title(self) -> str:
        return "GPEN"

    def show(self, is_img2img: bool) -> object:
        return scripts.AlwaysVisible

    def ui(self, is_img2img: bool) -> list[gr.components.Component]:
        model_folders = environment_from_webui(shared, devices).model_folders
        with InputAccordion(False, label="GPEN", elem_id=self.elem_id("enabled")) as enabled:
            controls = per_image_controls(model_folders, self.elem_id)
        self.infotext_fields = paste_fields(enabled, controls)
        self.paste_field_names = list(PASTE_FIELD_NAMES)
        return [enabled, *controls.values()]

    def process(self, p, *args) -> None:
        """Write the infotext up front, so every image of the batch (and its saved file) carries it.

        It records the values used: Settings as they are now where the accordion defers to them.
        X/Y/Z cells are shallow copies of one job sharing its ``extra_generation_params``, so the
        dict is replaced, never changed in place: a cell must not leave its values to the next.
        """
        if self.is_img2img:  # batch img2img runs process() once per input frame, with the same p
            SEQUENCES.start_frame(job_key(shared.state), sequence_caller(p))
        ours = {*PASTE_FIELD_NAMES, INFOTEXT_MODELS}
        params = {key: value for key, value in p.extra_generation_params.items() if key not in ours}
        p.extra_generation_params = params
        try:
            options = enabled_options(p, args)
            if options is None:
                return
            env = environment_from_webui(shared, devices)
            per_face = per_face_files(env.model_folders, options.model)
            model = AUTOMATIC_MODEL if per_face else resolve_model_name(env.model_folders, options.model, env.downloads)
        except GPENError as error:
            report_skipped(error, p.comment)  # no image will be restored: no infotext
            return
        params.update(infotext(options, model))

    def postprocess_image(self, p, pp: scripts.PostprocessImageArgs, *args) -> None:
        try:
            options = enabled_options(p, args)
        except GPENError:
            return  # process() has already reported it, once for the generation
        if options is None:
            return
        outcome = restore_in_sequence(
            np.asarray(pp.image), options, environment_from_webui(shared, devices), shared.state, p.comment,
            caller=sequence_caller(p), sequence=self.is_img2img, per_frame_slots=self.is_img2img,
        )
        if not outcome.warning:  # a warning is already in the comments
            p.comment(f"GPEN {outcome.summary()}")
        if outcome.restored:
            pp.image = Image.fromarray(outcome.image)
        # This image's own models (its infotext is written next); process() gave the dict to this job alone.
        p.extra_generation_params.pop(INFOTEXT_MODELS, None)
        if outcome.model == AUTOMATIC_MODEL and outcome.restored:
            p.extra_generation_params[INFOTEXT_MODELS] = outcome.models_used()
        devices.torch_gc()
