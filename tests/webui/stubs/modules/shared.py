"""Mirrors ``modules/shared.py``: the globals the extension reads (``opts``, ``cmd_opts``, ``state``,
``face_restorers``, ``models_path``, ``OptionInfo``). ``reset`` (test-only) rebuilds them like start-up does."""
from __future__ import annotations

import argparse

from modules import options, shared_state

OptionInfo = options.OptionInfo


def webui_options() -> options.Options:
    """The two built-in settings the extension reads, from ``modules/shared_options.py`` (face-restoration section)."""
    return options.Options(
        {
            "face_restoration_model": OptionInfo("CodeFormer", "Face restoration model"),
            "face_restoration_unload": OptionInfo(False, "Move face restoration model from VRAM into RAM after processing"),
        }
    )


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


def reset(new_models_path: str) -> None:
    """Test-only: a fresh WebUI process with ``models_path`` at ``new_models_path``."""
    global opts, cmd_opts, state, models_path
    opts, cmd_opts, state, models_path = webui_options(), default_cmd_opts(), shared_state.State(), new_models_path
    face_restorers.clear()
