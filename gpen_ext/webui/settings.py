"""The extension's settings and run-time environment, read from any WebUI-like options object.

The WebUI keeps settings in ``shared.opts`` and command-line flags in ``shared.cmd_opts``; this
module reads them by attribute name only, so it works the same in A1111, Forge and the tests,
and every script builds its settings through one function instead of repeating the lookups.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..model.download import DownloadSource, mirror_url
from .model_files import ModelFolders
from .options import option_fields, options_where, table_dataclass

REACTOR_MODELS_FOLDER = "facerestore_models"
CPU_FLAGS = ("all", "codeformer", "gpen")
"""``--use-cpu`` values that put GPEN on the CPU. A1111 applies ``all`` and ``codeformer`` to its
face-restoration device already; Forge accepts ``--use-cpu`` but ignores it, so all three are read here."""


def _from_opts(cls: type, opts: Any) -> Any:
    """Read ``opts.gpen_<name>`` for every setting, falling back to the table's default when unset."""
    return cls(**{option.name: getattr(opts, option.key, option.default) for option in options_where("setting")})


GPENSettings = table_dataclass(
    "GPENSettings", "What the user chose in Settings › GPEN (the table's ``setting`` rows).", option_fields("setting"), __name__, from_opts=classmethod(_from_opts)
)


@dataclass(frozen=True)
class Environment:
    """Where models live and where GPEN runs, as the WebUI's flags and settings decide."""

    models_dir: Path
    weights_dir: Path
    device: torch.device
    offload: bool
    shared_models_dirs: tuple[Path, ...] = ()
    """Other extensions' folders whose GPEN ``.onnx`` files are listed too (ReActor's ``models/facerestore_models``)."""
    downloads: DownloadSource = DownloadSource()
    """Whether an official model missing from ``models_dir`` is downloaded there, and from which mirror."""

    @property
    def model_folders(self) -> ModelFolders:
        """Where the model choices come from: ``models_dir``, then the shared folders."""
        return ModelFolders(self.models_dir, self.shared_models_dirs)


def environment_from_webui(shared: Any, devices: Any) -> Environment:
    """Build the environment from the WebUI's ``modules.shared`` and ``modules.devices``.

    The device is the WebUI's face-restoration device (``devices.device_codeformer``), or the CPU
    under ``--use-cpu all``/``codeformer``/``gpen`` (``CPU_FLAGS``: Forge's device ignores them). The
    model goes back to the CPU after use when the user asked for it (GPEN's own setting or the
    WebUI's ``face_restoration_unload``) or when VRAM is scarce (``--lowvram``/``--medvram``).
    facexlib's detector and parser weights are shared with the WebUI's GFPGAN (``--gfpgan-models-path``).
    Missing official models are downloaded as Settings › GPEN says (the mirror: its field, else ``GPEN_MODELS_URL``).
    """
    opts, cmd_opts = shared.opts, shared.cmd_opts
    settings = GPENSettings.from_opts(opts)
    models_path = Path(shared.models_path)
    custom_dir = getattr(cmd_opts, "gpen_models_path", None)
    offload = any(
        (
            settings.unload,
            getattr(opts, "face_restoration_unload", False),
            getattr(cmd_opts, "lowvram", False),
            getattr(cmd_opts, "medvram", False),
        )
    )
    use_cpu = getattr(cmd_opts, "use_cpu", None) or []
    return Environment(
        models_dir=Path(custom_dir) if custom_dir else models_path / "GPEN",
        weights_dir=Path(getattr(cmd_opts, "gfpgan_models_path", None) or models_path / "GFPGAN"),
        device=torch.device("cpu") if set(CPU_FLAGS) & set(use_cpu) else torch.device(devices.device_codeformer or "cpu"),
        offload=offload,
        shared_models_dirs=(models_path / REACTOR_MODELS_FOLDER,),
        downloads=DownloadSource(allowed=bool(settings.download), mirror=mirror_url(str(settings.models_url or ""))),
    )
