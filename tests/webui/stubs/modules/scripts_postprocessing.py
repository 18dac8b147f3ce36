"""Mirrors ``modules/scripts_postprocessing.py``: ``PostprocessedImage``, ``ScriptPostprocessing`` and the
``ScriptPostprocessingRunner`` that builds the Extras UI and passes each script its controls by name."""
from __future__ import annotations

import gradio as gr

from modules import shared


class PostprocessedImage:
    """Mirrors ``PostprocessedImage``: the image plus ``info`` (written to the saved file's infotext)."""

    def __init__(self, image):
        self.image = image
        self.info: dict = {}
        self.extra_images: list = []


class ScriptPostprocessing:
    """Mirrors ``ScriptPostprocessing``: ``ui()`` returns name -> component; ``process(pp, **args)``."""

    filename = None
    controls = None
    args_from = None
    args_to = None
    order = 1000
    name = None

    def ui(self):
        pass

    def process(self, pp: PostprocessedImage, **args):
        pass


class ScriptPostprocessingRunner:
    """Mirrors ``ScriptPostprocessingRunner.initialize_scripts``/``scripts_in_preferred_order``/``setup_ui``/
    ``run``/``create_args_for_run``."""

    def __init__(self, scripts_data):
        self.scripts = []
        for data in scripts_data:
            script = data.script_class()
            script.filename = data.path
            self.scripts.append(script)

    def scripts_in_preferred_order(self) -> list:
        """Mirrors ``scripts_in_preferred_order``: the scripts not in ``postprocessing_disable_in_extras``, those
        named in ``postprocessing_operation_order`` first in its order, then the rest by ``order``, then name."""
        wanted = list(shared.opts.postprocessing_operation_order)
        shown = [script for script in self.scripts if script.name not in shared.opts.postprocessing_disable_in_extras]

        def rank(script) -> tuple:
            return (wanted.index(script.name) if script.name in wanted else len(self.scripts), script.order, script.name)

        return sorted(shown, key=rank)

    def setup_ui(self) -> list:
        inputs = []
        for script in self.scripts_in_preferred_order():
            with gr.Row():
                script.args_from = len(inputs)
                script.controls = script.ui()
                inputs += list(script.controls.values())
                script.args_to = len(inputs)
        return inputs

    def run(self, pp: PostprocessedImage, args: list) -> None:
        for script in self.scripts_in_preferred_order():
            values = args[script.args_from:script.args_to]
            script.process(pp, **dict(zip(script.controls, values)))

    def create_args_for_run(self, scripts_args: dict[str, dict]) -> list:
        """Mirrors ``create_args_for_run``: named values per script name, ``None`` for the rest."""
        scripts = self.scripts_in_preferred_order()
        args = [None] * max(s.args_to for s in scripts)
        for script in scripts:
            for i, name in enumerate(script.controls):
                args[script.args_from + i] = scripts_args.get(script.name, {}).get(name)
        return args
