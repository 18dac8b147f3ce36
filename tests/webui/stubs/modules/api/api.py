"""Mirrors ``modules/api/api.py``: how ``alwayson_scripts`` of a txt2img/img2img request become script args."""
from __future__ import annotations

from fastapi import HTTPException


def init_script_args(alwayson_scripts: dict, default_script_args: list, script_runner) -> list:
    """Mirrors ``Api.init_script_args`` (the always-on part) with ``Api.get_script``'s lookup by lower-cased
    title: each script's ``args`` list overwrites its slice of the defaults, position by position."""
    script_args = default_script_args.copy()
    for name, payload in alwayson_scripts.items():
        matches = [s for s in script_runner.scripts if s.title().lower() == name.lower()]
        if not matches:
            raise HTTPException(status_code=422, detail=f"always on script {name} not found")
        script = matches[0]
        values = payload.get("args", [])
        for idx in range(min(script.args_to - script.args_from, len(values))):
            script_args[script.args_from + idx] = values[idx]
    return script_args
