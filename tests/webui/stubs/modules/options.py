"""Mirrors ``modules/options.py``: ``OptionInfo`` and ``Options`` (defaults, ``add_option``, attribute access)."""
from __future__ import annotations

from typing import Any


class OptionInfo:
    """Mirrors ``options.OptionInfo.__init__``, ``.info`` and ``.needs_reload_ui`` (same argument order)."""

    def __init__(self, default=None, label="", component=None, component_args=None, onchange=None, section=None,
                 refresh=None, comment_before="", comment_after="", infotext=None, restrict_api=False, category_id=None):
        self.default = default
        self.label = label
        self.component = component
        self.component_args = component_args
        self.onchange = onchange
        self.section = section
        self.category_id = category_id
        self.refresh = refresh
        self.comment_before = comment_before
        self.comment_after = comment_after
        self.infotext = infotext
        self.restrict_api = restrict_api
        self.do_not_save = False

    def info(self, info: str) -> OptionInfo:
        self.comment_after += f"<span class='info'>({info})</span>"
        return self

    def needs_reload_ui(self) -> OptionInfo:
        self.comment_after += " <span class='info'>(requires Reload UI)</span>"
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

    def add_option(self, key: str, info: OptionInfo) -> None:
        """Mirrors ``Options.add_option``: registers the label and stores the default unless a value exists."""
        self.data_labels[key] = info
        if key not in self.data:
            self.data[key] = info.default
