"""Mirrors ``modules/options.py``: ``OptionInfo`` and ``Options`` (defaults, ``add_option``, attribute access)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class OptionInfo:
    """Mirrors ``options.OptionInfo``: its constructor's parameters in their order, ``info`` and ``needs_reload_ui``."""

    def __init__(
        self,
        default: Any = None,
        label: str = "",
        component: Any = None,
        component_args: Any = None,
        onchange: Any = None,
        section: Any = None,
        refresh: Any = None,
        comment_before: str = "",
        comment_after: str = "",
        infotext: str | None = None,
        restrict_api: bool = False,
        category_id: str | None = None,
    ) -> None:
        self.__dict__.update({name: value for name, value in locals().items() if name != "self"})
        self.do_not_save = False

    def info(self, info: str) -> OptionInfo:
        """A note after the label (the WebUI renders it as HTML)."""
        self.comment_after += f" ({info})"
        return self

    def needs_reload_ui(self) -> OptionInfo:
        self.comment_after += " (requires Reload UI)"
        return self


class Options:
    """Mirrors ``options.Options``: values in ``data``, defaults from ``data_labels`` when unset."""

    def __init__(self, data_labels: dict[str, OptionInfo]):
        object.__setattr__(self, "data_labels", data_labels)
        object.__setattr__(self, "data", {k: v.default for k, v in data_labels.items()})

    def __getattr__(self, item: str) -> Any:
        """Mirrors ``Options.__getattr__``: a stored value, else the registered default, else AttributeError."""
        if item in self.data:
            return self.data[item]
        if item in self.data_labels:
            return self.data_labels[item].default
        raise AttributeError(item)

    def __setattr__(self, key: str, value: Any) -> None:
        self.data[key] = value

    def load(self, filename: str | Path) -> None:
        """Mirrors ``Options.load`` (run at start-up, before any extension adds its settings): ``data``
        becomes the file's JSON as it is, so an extension's saved values come back unchecked (an int
        where the default is a float, a choice that no longer exists); a missing file gives no data."""
        try:
            data = json.loads(Path(filename).read_text(encoding="utf8"))
        except FileNotFoundError:
            data = {}
        object.__setattr__(self, "data", data)

    def add_option(self, key: str, info: OptionInfo) -> None:
        """Mirrors ``Options.add_option``: registers the label and stores the default unless a value exists."""
        self.data_labels[key] = info
        if key not in self.data:
            self.data[key] = info.default
