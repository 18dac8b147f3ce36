"""Mirrors ``modules/shared.py``: the globals the extension reads (``opts``, ``cmd_opts``, ``state``,
``face_restorers``, ``models_path``, ``OptionInfo``). ``reset`` (test-only) rebuilds them like start-up does."""
from __future__ import annotations

import argparse

from modules import options, shared_state

OptionInfo = options.OptionInfo


def webui_options(config_file: str | None = None) -> options.Options:
    """The built-in settings the extension and the stand-ins read (``modules/shared_options.py``), with the
    saved values of ``config_file`` loaded as ``shared_init.initialize`` does, before any extension loads."""
    opts = options.Options(
        {
            "face_restoration_model": OptionInfo("CodeFormer", "Face restoration model"),
            "face_restoration_unload": OptionInfo(False, "Move face restoration model from VRAM into RAM after processing"),
            "postprocessing_operation_order": OptionInfo([], "Postprocessing operation order"),
            "postprocessing_disable_in_extras": OptionInfo([], "Disable postprocessing operations in extras tab"),
        }
    )
    if config_file is not None:
        opts.load(config_file)
    return opts


def default_cmd_opts() -> argparse.Namespace:
    """The flags of ``modules/cmd_args.py`` the extension reads, at their defaults (``--api`` and
    ``--nowebui`` are ``store_true``: off unless given)."""
    return argparse.Namespace(
        use_cpu=[], lowvram=False, medvram=False, skip_install=False, disable_safe_unpickle=False, gpen_models_path=None,
        api=False, nowebui=False, api_auth=None,
    )


opts = webui_options()
cmd_opts = default_cmd_opts()
state = shared_state.State()
face_restorers: list = []
models_path = "models"


def reset(new_models_path: str, config_file: str) -> None:
    """Test-only: a fresh WebUI process with ``models_path`` at ``new_models_path`` and settings saved in ``config_file``."""
    global opts, cmd_opts, state, models_path
    opts, cmd_opts, state, models_path = webui_options(config_file), default_cmd_opts(), shared_state.State(), new_models_path
    face_restorers.clear()
