"""Mirrors ``modules/script_callbacks.py``: registration (``on_*``) and invocation (``*_callback``) of the callbacks used."""
from __future__ import annotations

from collections.abc import Callable

callback_map: dict[str, list[Callable]] = {"ui_settings": [], "app_started": [], "before_ui": []}


def clear_callbacks() -> None:
    """Mirrors ``script_callbacks.clear_callbacks``, which ``scripts.load_scripts`` calls before loading."""
    for callbacks in callback_map.values():
        callbacks.clear()


def on_ui_settings(callback: Callable[[], None], *, name=None) -> None:
    """Mirrors ``on_ui_settings``."""
    callback_map["ui_settings"].append(callback)


def on_app_started(callback: Callable, *, name=None) -> None:
    """Mirrors ``on_app_started``: ``callback(demo, app)`` with the FastAPI app."""
    callback_map["app_started"].append(callback)


def on_before_ui(callback: Callable[[], None], *, name=None) -> None:
    """Mirrors ``on_before_ui``: after all scripts are loaded, before the UI is built."""
    callback_map["before_ui"].append(callback)


def ui_settings_callback() -> None:
    """Mirrors ``ui_settings_callback`` (called by ``ui.create_ui``)."""
    for callback in callback_map["ui_settings"]:
        callback()


def app_started_callback(demo, app) -> None:
    """Mirrors ``app_started_callback`` (called by ``webui.py`` once the server is up)."""
    for callback in callback_map["app_started"]:
        callback(demo, app)


def before_ui_callback() -> None:
    """Mirrors ``before_ui_callback`` (called by ``webui.py`` before ``ui.create_ui``)."""
    for callback in callback_map["before_ui"]:
        callback()
