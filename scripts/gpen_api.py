"""HTTP routes ``GET /gpen/v1/models`` and ``POST /gpen/v1/restore`` on the WebUI's FastAPI app.

Added whenever the WebUI serves its API (``--api``, or ``--nowebui``, which serves nothing else), and
behind ``--api-auth`` when it is set, like the WebUI's own routes: a restoration holds the generation
queue, so a server without the API must not offer it to anyone.
"""
from __future__ import annotations

from typing import Any

from fastapi import Body, Depends, FastAPI, HTTPException
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from modules import devices, script_callbacks, shared
from modules.call_queue import queue_lock

from gpen_ext.errors import GPENError
from gpen_ext.webui.api import (
    credentials_accepted,
    models_response,
    restore_response,
    serves_api,
)
from gpen_ext.webui.settings import GPENSettings, environment_from_webui


def get_models() -> dict[str, Any]:
    return models_response(environment_from_webui(shared, devices), GPENSettings.from_opts(shared.opts))


def post_restore(payload: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Restore the faces of a base64 image; takes the WebUI's queue lock so it never races a generation.

    A WebUI job of its own (``state.begin``/``end``, as the Extras API runs one), so that
    ``/sdapi/v1/interrupt`` stops it, ``/sdapi/v1/progress`` follows it, and an Interrupt pressed
    for an earlier job does not stop it.
    """
    with queue_lock:
        shared.state.begin(job="gpen_restore")
        shared.state.job_count = 1
        try:
            return restore_response(payload, environment_from_webui(shared, devices), GPENSettings.from_opts(shared.opts), shared.state)
        except GPENError as error:
            raise HTTPException(status_code=422, detail=str(error)) from error
        finally:
            shared.state.end()  # also frees the accelerator's cached memory (devices.torch_gc)


def check_credentials(credentials: HTTPBasicCredentials = Depends(HTTPBasic())) -> None:
    """The WebUI's ``Api.auth``: HTTP basic credentials from ``--api-auth``, else 401."""
    if not credentials_accepted(shared.cmd_opts.api_auth, credentials.username, credentials.password):
        raise HTTPException(status_code=401, detail="Incorrect username or password", headers={"WWW-Authenticate": "Basic"})


def add_routes(_demo: object, app: FastAPI) -> None:
    if not serves_api(shared.cmd_opts):
        return
    dependencies = [Depends(check_credentials)] if getattr(shared.cmd_opts, "api_auth", None) else []
    app.add_api_route("/gpen/v1/models", get_models, methods=["GET"], tags=["GPEN"], dependencies=dependencies)
    app.add_api_route("/gpen/v1/restore", post_restore, methods=["POST"], tags=["GPEN"], dependencies=dependencies)


script_callbacks.on_app_started(add_routes)
