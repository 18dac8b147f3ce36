"""HTTP routes ``GET /gpen/v1/models`` and ``POST /gpen/v1/restore`` on the WebUI's FastAPI app."""
from __future__ import annotations

from typing import Any

from fastapi import Body, FastAPI, HTTPException
from modules import devices, script_callbacks, shared
from modules.call_queue import queue_lock

from gpen_ext.api import models_response, restore_response
from gpen_ext.errors import GPENError
from gpen_ext.webui_settings import GPENSettings, environment_from_webui


def get_models() -> dict[str, Any]:
    return models_response(environment_from_webui(shared, devices), GPENSettings.from_opts(shared.opts))


def post_restore(payload: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Restore the faces of a base64 image; takes the WebUI's queue lock so it never races a generation."""
    with queue_lock:
        try:
            return restore_response(payload, environment_from_webui(shared, devices), GPENSettings.from_opts(shared.opts))
        except GPENError as error:
            raise HTTPException(status_code=422, detail=str(error)) from error
        finally:
            devices.torch_gc()


def add_routes(_demo: object, app: FastAPI) -> None:
    app.add_api_route("/gpen/v1/models", get_models, methods=["GET"], tags=["GPEN"])
    app.add_api_route("/gpen/v1/restore", post_restore, methods=["POST"], tags=["GPEN"])


script_callbacks.on_app_started(add_routes)
