"""Which GPEN model files a folder offers, by the name the user picks them with (the file stem).

Besides the GPEN folder, other extensions' folders may hold GPEN ONNX files (ReActor keeps
``GPEN-BFR-*.onnx`` in ``models/facerestore_models``): their ``.onnx`` files named GPEN are listed
too, never moved or changed, and a file of the GPEN folder wins over one of the same name there.
An official model that is not on disk (Automatic with no model installed: GPEN-BFR-2048) is
downloaded into the GPEN folder on first use, when downloads are on (``model/download``).
"""
from __future__ import annotations

import importlib.util
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import CheckpointError, GPENError
from ..faces.model_choice import file_model_size
from ..model.checkpoint import ONNX_EXTENSION, find_checkpoints
from ..model.download import AUTOMATIC_DOWNLOAD, OFFICIAL_MODELS, DownloadSource, OfficialModel, fetch_model

AUTOMATIC_MODEL = "Automatic"
"""The model choice that means, face by face, the smallest file of the folder that keeps the face's detail when the
folder holds several model sizes (``per_face_files``); else its largest file (GPEN-BFR-2048 when present, or
downloaded when none is)."""
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


def resolve_model_name(folders: Folders, name: str, downloads: DownloadSource | None = None) -> str:
    """The listed name of the file ``name`` means; ``Automatic`` (or empty) picks the largest file that can run.

    A file name with its extension is accepted too. With ``downloads``, an official model that is
    not on disk resolves to its official name (the file :func:`resolve_model` fetches). Raises
    ``CheckpointError`` naming the folder and where the official files come from.
    """
    official = _to_download(folders, name, downloads)
    return official.name if official else _listed_name(list_models(folders), _folders(folders).own, name)


def resolve_model(folders: Folders, name: str, downloads: DownloadSource | None = None) -> Path:
    """The file for ``name`` (see :func:`resolve_model_name`), downloaded into the GPEN folder first if need be."""
    official = _to_download(folders, name, downloads)
    if official is not None:
        return fetch_model(official, _folders(folders).own, downloads)
    models = list_models(folders)
    return models[_listed_name(models, _folders(folders).own, name)]


def missing_official_model(folders: Folders, name: str) -> OfficialModel | None:
    """The official model ``name`` means when it is not on disk: GPEN-BFR-2048 for Automatic in a folder without
    models, an official name that no file answers to; None when a file is there (or ``name`` is no official model)."""
    models = list_models(folders)
    if name in ("", None, AUTOMATIC_MODEL):
        return None if models else AUTOMATIC_DOWNLOAD
    official = OFFICIAL_MODELS.get(name)
    if official is None or name in models or (_folders(folders).own / official.filename).exists():
        return None
    return official


def _to_download(folders: Folders, name: str, downloads: DownloadSource | None) -> OfficialModel | None:
    """The official model to fetch for ``name``, if any (never without ``downloads``); a ``DownloadError`` when one is
    needed but downloads are off, so that the name check and the restoration say the same."""
    official = missing_official_model(folders, name) if downloads is not None else None
    if official is not None and not downloads.allowed:
        fetch_model(official, _folders(folders).own, downloads)  # raises the "turned off" error with the URLs
    return official


def per_face_files(folders: Folders, name: str) -> dict[str, Path]:
    """The files ``Automatic`` chooses among face by face (``faces.model_choice``): every listed file that can run
    here, when they hold more than one model size; empty when one file serves every face (an explicit ``name``, a
    single size, or nothing installed)."""
    if name not in ("", None, AUTOMATIC_MODEL):
        return {}
    files = {listed: path for listed, path in list_models(folders).items() if _runs(path)}
    sizes = set()
    for path in files.values():
        try:
            sizes.add(file_model_size(path))
        except GPENError:
            continue  # left out with a warning when the choice is made
    return files if len(sizes) > 1 else {}


def _runs(path: Path) -> bool:
    """Whether the file can run here: an ``.onnx`` file needs onnxruntime."""
    return path.suffix.lower() != ONNX_EXTENSION or importlib.util.find_spec("onnxruntime") is not None


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
        return max(models, key=lambda listed: (_runs(models[listed]), models[listed].stat().st_size))
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
    """What a model dropdown offers: ``Automatic`` first, then every file listed (see :func:`list_models`).

    With no model installed, the official models instead, each downloaded when picked: once one is
    there, the dropdowns (and an X/Y/Z axis over them) offer only what is on disk, so that no grid
    downloads a gigabyte; a request may still name any official model.
    """
    return [AUTOMATIC_MODEL, *(list_models(folders) or OFFICIAL_MODELS)]
