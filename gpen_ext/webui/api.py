"""The ``/gpen/v1`` HTTP API as plain functions: JSON-like dicts in, JSON-like dicts out.

A1111's Extras API passes no arguments to extension postprocessing scripts, so GPEN gets its own
routes. The route handlers in ``scripts/gpen_api.py`` only call these, which keeps the request
handling testable without FastAPI or a WebUI.
"""
from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping
from hmac import compare_digest
from typing import Any

import numpy as np
from PIL import Image

from ..errors import GPENError, ImageError
from ..faces.image_files import pil_to_array
from .job_state import restore_in_job
from ..model.download import recorded_sha256
from .model_files import list_models, per_face_files, resolve_model_name
from .options import options_where
from .safe_restore import RestoreOptions
from .settings import Environment, GPENSettings

OPTION_NAMES = tuple(option.name for option in options_where("api"))


def models_response(env: Environment, settings: GPENSettings) -> dict[str, Any]:
    """``GET /gpen/v1/models``: the files a request may name (with the sha256 recorded when GPEN downloaded
    one), which model ``Automatic`` means now (an official one to be downloaded, when none is installed), and
    ``per_face``: the files Automatic chooses among face by face (empty when one file serves every face)."""
    models = list_models(env.model_folders)
    try:
        automatic = resolve_model_name(env.model_folders, settings.model, env.downloads)
    except GPENError:
        automatic = None
    return {
        "models_dir": str(env.models_dir),
        "models": [
            {"name": name, "file": path.name, "size_bytes": path.stat().st_size, "sha256": recorded_sha256(path)}
            for name, path in models.items()
        ],
        "default": automatic,
        "per_face": list(per_face_files(env.model_folders, settings.model)),
    }


def restore_response(payload: Mapping[str, Any], env: Environment, settings: GPENSettings, state: Any) -> dict[str, Any]:
    """``POST /gpen/v1/restore``: ``{"image": base64, options...}`` -> restored image, faces and any warning.

    Options default to the Settings page. A malformed request raises ``GPENError`` (HTTP 422); a
    restoration that cannot run returns the input image with ``warning`` set, like the UI does, and
    so does one cut short by ``/sdapi/v1/interrupt`` (``state``: the WebUI's job state), with the
    faces restored until then.
    """
    image = decode_image(payload.get("image"))
    unknown = sorted(set(payload) - {"image", *OPTION_NAMES})
    if unknown:
        raise GPENError(f"unknown field(s) {unknown}; /gpen/v1/restore takes 'image' and {list(OPTION_NAMES)}.")
    # one image per call: no sequence, whatever Settings' temporal smoothing says
    given = {k: v for k, v in payload.items() if k != "image"}
    options = RestoreOptions.from_settings(settings, **given, temporal_smoothing="off").validate()
    outcome = restore_in_job(image, options, env, state)
    return {
        "image": encode_image(outcome.image),
        "model": outcome.model,
        "restored": outcome.restored,
        "faces": [face.to_dict() for face in outcome.faces],
        "warning": outcome.warning,
    }


def decode_image(data: object) -> np.ndarray:
    """A base64 (optionally ``data:`` URL) PNG/JPEG/WebP as an array the pipeline takes (L, RGB, RGBA, 16-bit L)."""
    if not isinstance(data, str) or not data:
        raise ImageError("'image' must be a base64-encoded image (PNG, JPEG or WebP).")
    try:
        raw = base64.b64decode(data.split(",", 1)[-1], validate=True)
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
    except (binascii.Error, ValueError, OSError) as error:
        raise ImageError(f"'image' is not a readable base64-encoded image ({error}).") from error
    return pil_to_array(image)


def encode_image(image: np.ndarray) -> str:
    """A base64 PNG of ``image``, lossless so that untouched pixels come back bit-identical."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def serves_api(cmd_opts: object) -> bool:
    """Whether the WebUI serves its HTTP API: with ``--api``, and always with ``--nowebui``.

    A1111's ``webui.py`` runs ``api_only()`` for ``--nowebui`` without setting ``cmd_opts.api``, so
    testing ``api`` alone would leave an API-only server without GPEN's routes.
    """
    return bool(getattr(cmd_opts, "api", False) or getattr(cmd_opts, "nowebui", False))


def credentials_accepted(api_auth: str | None, username: str, password: str) -> bool:
    """Whether ``username:password`` is one of ``--api-auth``'s comma-separated pairs (the WebUI's own rule).

    Compared in constant time, as the WebUI does, so response times do not leak passwords.
    """
    for pair in (api_auth or "").split(","):
        user, _, expected = pair.partition(":")
        if compare_digest(user, username) & compare_digest(expected, password):
            return True
    return False

