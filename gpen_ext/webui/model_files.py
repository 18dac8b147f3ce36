"""Which GPEN model files a folder offers, by the name the user picks them with (the file stem).

Besides the GPEN folder, other extensions' folders may hold GPEN ONNX files (ReActor keeps
``GPEN-BFR-*.onnx`` in ``models/facerestore_models``): their ``.onnx`` files named GPEN are listed
too, never moved or changed, and a file of the GPEN folder wins over one of the same name there.
"""
from __future__ import annotations

import importlib.util
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import CheckpointError
from ..model.checkpoint import ONNX_EXTENSION, find_checkpoints

AUTOMATIC_MODEL = "Automatic"
"""The model choice that means the largest file of the folder (GPEN-BFR-2048 when present)."""
DOWNLOAD_HINT = (
    "GPEN-BFR-512 and GPEN-BFR-256 come from the official GPEN release "
    "(https://github.com/yangxy/GPEN, 'Download models'); GPEN-BFR-1024 and GPEN-BFR-2048 from ModelScope "
    "'damo/cv_gpen_image-portrait-enhancement-hires' (pytorch_model.pt is 1024, pytorch_model-2048.pt is 2048)"
)
SHARED_MODEL_MARKER = "gpen"
"""Shared folders also hold other restorers (CodeFormer, GFPGAN): only files with this in their name are GPEN's."""


@dataclass(frozen=True)
class ModelFolders:
    """The GPEN models folder, and other extensions' folders whose GPEN ``.onnx`` files are listed too."""

    own: Path
    shared: tuple[Path, ...] = ()


Folders = ModelFolders | Path
"""Where functions here look: a plain path is the GPEN folder alone."""


def list_models(folders: Folders) -> dict[str, Path]:
    """Model name -> file for every checkpoint of the GPEN folder and GPEN ``.onnx`` file of the shared ones.

    The name is the file stem, or the whole file name where two files share a stem
    (``GPEN-BFR-512.pth`` beside ``GPEN-BFR-512.safetensors``), so that no file hides another.
    Missing folders list nothing.
    """
    folders = _folders(folders)
    files = find_checkpoints(folders.own)
    for folder in folders.shared:
        files += [
            path for path in find_checkpoints(folder)
            if path.suffix.lower() == ONNX_EXTENSION and SHARED_MODEL_MARKER in path.name.lower()
            and path.name not in {listed.name for listed in files}
        ]
    stems = Counter(path.stem for path in files)
    return {path.stem if stems[path.stem] == 1 else path.name: path for path in files}


def resolve_model_name(folders: Folders, name: str) -> str:
    """The listed name of the file ``name`` means; ``Automatic`` (or empty) picks the largest file that can run.

    A file name with its extension is accepted too. Raises ``CheckpointError`` naming the folder
    and where the official files come from.
    """
    return _listed_name(list_models(folders), _folders(folders).own, name)


def resolve_model(folders: Folders, name: str) -> Path:
    """The file for ``name`` (see :func:`resolve_model_name`)."""
    models = list_models(folders)
    return models[_listed_name(models, _folders(folders).own, name)]


def _folders(folders: Folders) -> ModelFolders:
    return folders if isinstance(folders, ModelFolders) else ModelFolders(Path(folders))


def _listed_name(models: dict[str, Path], models_dir: Path, name: str) -> str:
    if not models:
        raise CheckpointError(
            f"No GPEN model found in {models_dir}. Put a GPEN-BFR checkpoint there (GPEN-BFR-2048.pth is the "
            f"best for photos); {DOWNLOAD_HINT}.",
            short="no GPEN model installed. Put a GPEN-BFR checkpoint in models/GPEN (the console says where to get one).",
        )
    if name in ("", None, AUTOMATIC_MODEL):
        # Without onnxruntime an .onnx file cannot run: Automatic then prefers any other file.
        onnx_runs = importlib.util.find_spec("onnxruntime") is not None
        return max(models, key=lambda listed: (
            onnx_runs or models[listed].suffix.lower() != ONNX_EXTENSION, models[listed].stat().st_size
        ))
    if name in models:
        return name
    for listed, path in models.items():
        if path.name == name:
            return listed
    raise CheckpointError(
        f"GPEN model '{name}' is not in {models_dir}; found {', '.join(models)}. "
        "Pick one of those (Settings › GPEN › model) or copy the file into that folder.",
        short=f"GPEN model '{name}' is not installed; pick one of {', '.join(models)}.",
    )


def model_choices(folders: Folders) -> list[str]:
    """What a model dropdown offers: ``Automatic`` first, then every file listed (see :func:`list_models`)."""
    return [AUTOMATIC_MODEL, *list_models(folders)]
