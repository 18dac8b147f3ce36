"""Mirrors ``modules/scripts.py``: ``Script``, ``AlwaysVisible``, ``PostprocessImageArgs``, ``scripts_data``,
``load_scripts`` and the parts of ``ScriptRunner`` that build an AlwaysVisible script's UI and call it."""
from __future__ import annotations

import inspect
import re
import sys
from collections import namedtuple

import gradio as gr

from modules import script_callbacks, script_loading, scripts_postprocessing

AlwaysVisible = object()
ScriptFile = namedtuple("ScriptFile", ["basedir", "filename", "path"])
ScriptClassData = namedtuple("ScriptClassData", ["script_class", "path", "basedir", "module"])
scripts_data: list[ScriptClassData] = []
postprocessing_scripts_data: list[ScriptClassData] = []


class PostprocessImageArgs:
    """Mirrors ``scripts.PostprocessImageArgs`` (A1111; Forge adds an ``index``)."""

    def __init__(self, image):
        self.image = image


class Script:
    """Mirrors ``scripts.Script``: the attributes and hooks an AlwaysVisible script uses."""

    filename = None
    args_from = None
    args_to = None
    alwayson = False
    is_txt2img = False
    is_img2img = False
    infotext_fields = None
    paste_field_names = None

    def title(self):
        raise NotImplementedError()

    def ui(self, is_img2img):
        pass

    def show(self, is_img2img):
        return True

    def process(self, p, *args):
        pass

    def postprocess_image(self, p, pp: PostprocessImageArgs, *args):
        pass

    def elem_id(self, item_id: str) -> str:
        """Mirrors ``Script.elem_id``: ``script_<tab>_<title>_<item_id>`` for scripts shown on both tabs."""
        need_tabname = self.show(True) == self.show(False)
        tabkind = "img2img" if self.is_img2img else "txt2img"
        tabname = f"{tabkind}_" if need_tabname else ""
        title = re.sub(r"[^a-z_0-9]", "", re.sub(r"\s", "_", self.title().lower()))
        return f"script_{tabname}{title}_{item_id}"


def load_scripts(script_files: list[ScriptFile]) -> None:
    """Mirrors ``scripts.load_scripts``: clears callbacks and registries, then imports each file with its
    extension's folder first on ``sys.path`` (only during the import) and registers its script classes."""
    scripts_data.clear()
    postprocessing_scripts_data.clear()
    script_callbacks.clear_callbacks()
    syspath = sys.path
    for script_file in script_files:
        try:
            sys.path = [script_file.basedir] + sys.path
            module = script_loading.load_module(script_file.path)
        finally:
            sys.path = syspath
        for script_class in module.__dict__.values():
            if not inspect.isclass(script_class):
                continue
            data = ScriptClassData(script_class, script_file.path, script_file.basedir, module)
            if issubclass(script_class, Script):
                scripts_data.append(data)
            elif issubclass(script_class, scripts_postprocessing.ScriptPostprocessing):
                postprocessing_scripts_data.append(data)


class ScriptRunner:
    """Mirrors ``scripts.ScriptRunner``: ``initialize_scripts``, ``setup_ui`` for AlwaysVisible scripts,
    and ``process``/``postprocess_image``, which hand each script its slice of ``p.script_args``."""

    def __init__(self):
        self.scripts: list[Script] = []
        self.alwayson_scripts: list[Script] = []
        self.infotext_fields: list = []
        self.paste_field_names: list[str] = []
        self.inputs: list = [None]

    def initialize_scripts(self, is_img2img: bool) -> None:
        for data in scripts_data:
            script = data.script_class()
            script.filename = data.path
            script.is_txt2img, script.is_img2img = not is_img2img, is_img2img
            if script.show(is_img2img) is AlwaysVisible:
                script.alwayson = True
                self.scripts.append(script)
                self.alwayson_scripts.append(script)

    def setup_ui(self) -> list:
        """Mirrors ``ScriptRunner.create_script_ui_inner`` + ``setup_ui``: controls become ``inputs``."""
        for script in self.alwayson_scripts:
            with gr.Group():
                controls = script.ui(script.is_img2img)
            script.args_from = len(self.inputs)
            self.inputs.extend(controls)
            script.args_to = len(self.inputs)
            self.infotext_fields += script.infotext_fields or []
            self.paste_field_names += script.paste_field_names or []
        return self.inputs

    def process(self, p) -> None:
        for script in self.alwayson_scripts:
            script.process(p, *p.script_args[script.args_from:script.args_to])

    def postprocess_image(self, p, pp: PostprocessImageArgs) -> None:
        for script in self.alwayson_scripts:
            script.postprocess_image(p, pp, *p.script_args[script.args_from:script.args_to])
