"""Mirrors ``webui.py``: how the WebUI starts its HTTP server, which decides whether extensions' routes exist.

``webui()`` (the browser UI) creates the API only with ``--api``; ``api_only()`` (``--nowebui``) always
serves the API and never builds the UI. Both then call ``app_started_callback`` with the FastAPI app.
"""
from __future__ import annotations

from fastapi import FastAPI

from modules import script_callbacks, shared


def api_only() -> FastAPI:
    """Mirrors ``api_only``: no UI (``demo`` is None), the API always, then the callbacks."""
    app = FastAPI()
    script_callbacks.before_ui_callback()
    script_callbacks.app_started_callback(None, app)
    return app


def webui() -> FastAPI:
    """Mirrors ``webui``: the UI's app; the API's own routes only when ``launch_api = cmd_opts.api``."""
    script_callbacks.before_ui_callback()
    app = FastAPI()
    script_callbacks.app_started_callback(object(), app)
    return app


def start() -> FastAPI:
    """Mirrors ``if __name__ == "__main__"``: ``api_only()`` with ``--nowebui``, else ``webui()``."""
    return api_only() if shared.cmd_opts.nowebui else webui()
