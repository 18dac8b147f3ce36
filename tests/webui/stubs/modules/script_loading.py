"""Mirrors ``modules/script_loading.py``: ``load_module`` imports a file by path, named after its basename."""
import importlib.util
import os
from types import ModuleType

loaded_scripts: dict[str, ModuleType] = {}
"""Mirrors ``script_loading.loaded_scripts``: every loaded script module by path."""


def load_module(path: str) -> ModuleType:
    """Mirrors ``script_loading.load_module``: not put in ``sys.modules``, so scripts cannot import each other."""
    spec = importlib.util.spec_from_file_location(os.path.basename(path), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loaded_scripts[path] = module
    return module
