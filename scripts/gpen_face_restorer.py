"""GPEN as a WebUI face restorer (Settings › Face restoration) and the "GPEN" settings section."""
from __future__ import annotations

import gradio as gr
import numpy as np
from modules import devices, face_restoration, script_callbacks, shared

from gpen_ext.webui.controls import setting_component
from gpen_ext.webui.messages import show_in_console
from gpen_ext.webui.model_files import ModelFolders
from gpen_ext.webui.options import options_where
from gpen_ext.webui.safe_restore import RestoreOptions
from gpen_ext.webui.sequences import restore_in_sequence
from gpen_ext.webui.settings import GPENSettings, environment_from_webui

RESTORER_NAME = "GPEN"


class FaceRestorerGPEN(face_restoration.FaceRestoration):
    """What "Restore faces" (txt2img, img2img, hires fix, ADetailer...) runs when GPEN is the chosen model."""

    def name(self) -> str:
        return RESTORER_NAME

    def restore(self, np_image: np.ndarray) -> np.ndarray:
        settings = GPENSettings.from_opts(shared.opts)
        env = environment_from_webui(shared, devices)
        # the WebUI's restorer cannot tell a batch img2img from txt2img's batches: auto is off here, on follows the job's images
        outcome = restore_in_sequence(
            np_image, RestoreOptions.from_settings(settings), env, shared.state, gr.Warning, caller="restorer", sequence=False
        )
        devices.torch_gc()
        return outcome.image


def register_restorer() -> None:
    """Add GPEN to ``shared.face_restorers``, replacing the one a previous "Reload UI" added."""
    shared.face_restorers[:] = [r for r in shared.face_restorers if r.name() != RESTORER_NAME]
    shared.face_restorers.append(FaceRestorerGPEN())


def on_ui_settings() -> None:
    """Settings › GPEN: one setting per row of the option table, in its order, with its default and hint."""
    section = ("gpen", "GPEN")

    def model_folders() -> ModelFolders:
        return environment_from_webui(shared, devices).model_folders

    for option in options_where("setting"):
        component, args = setting_component(option, model_folders)
        # A refresh function that does nothing still gets a refresh button, which re-reads the choices.
        refresh = (lambda: None) if option.list_choices else None
        info = shared.OptionInfo(option.default, option.label, component, args, section=section, refresh=refresh, category_id="postprocessing")
        shared.opts.add_option(option.key, info)


show_in_console()
register_restorer()
script_callbacks.on_ui_settings(on_ui_settings)
