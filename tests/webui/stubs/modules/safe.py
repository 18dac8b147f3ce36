"""Mirrors ``modules/safe.py``: the WebUI's replacement of ``torch.load``.

A1111 imports this module at start-up (``modules/paths.py``), which sets ``torch.load = load``. The
replacement first checks the file's zip entries against a fixed list and, when one is not on it
(``.format_version`` and ``.storage_alignment``, which current PyTorch writes), prints an error
and returns ``None`` instead of loading. The restricted unpickling of ``data.pkl`` that follows in
the WebUI is left out. The ``webui`` fixture sets ``torch.load = load`` for one test only, so the
rest of a test session keeps PyTorch's own ``torch.load``.
"""
from __future__ import annotations

import re
import zipfile
from typing import Any

import torch

from modules import shared

ALLOWED_ENTRIES = ("version", "byteorder", ".data/serialization_id", "data.pkl")
"""The entries A1111 1.10 accepts below an archive's top folder, besides ``data/<number>``."""

unsafe_torch_load = torch.load


def check_zip_filenames(filename: str, names: list[str]) -> None:
    """Mirrors ``safe.check_zip_filenames``: every entry is ``<top>/data/<number>`` or ``<top>/<allowed>``."""
    for name in names:
        _, _, entry = name.partition("/")
        if not (entry in ALLOWED_ENTRIES or re.fullmatch(r"data/\d+", entry)):
            raise Exception(f"bad file inside {filename}: {name}")


def load(filename, *args, **kwargs) -> Any:
    """Mirrors ``safe.load``/``load_with_extra``: ``None`` for a file that fails the check."""
    if not shared.cmd_opts.disable_safe_unpickle and zipfile.is_zipfile(filename):
        try:
            with zipfile.ZipFile(filename) as archive:
                check_zip_filenames(str(filename), archive.namelist())
        except Exception as error:
            print(f"Error verifying pickled file from {filename}: {error}")
            return None
    return unsafe_torch_load(filename, *args, **kwargs)

