"""Which GPEN model files a folder offers, by the name the user picks them with (the file stem)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..errors import CheckpointError
from ..model.checkpoint import find_checkpoints

AUTOMATIC_MODEL = "Automatic"
"""The model choice that means the largest file of the folder (GPEN-BFR-2048 when present)."""
DOWNLOAD_HINT = (
    "GPEN-BFR-512 and GPEN-BFR-256 come from the official GPEN release "
    "(https://github.com/yangxy/GPEN, 'Download models'); GPEN-BFR-1024 and GPEN-BFR-2048 from ModelScope "
    "'damo/cv_gpen_image-portrait-enhancement-hires' (pytorch_model.pt is 1024, pytorch_model-2048.pt is 2048)"
)


def list_models(models_dir: Path) -> dict[str, Path]:
    """Model name -> file for every checkpoint in ``models_dir`` (empty when the folder is missing).

    The name is the file stem, or the whole file name where two files share a stem
    (``GPEN-BFR-512.pth`` beside ``GPEN-BFR-512.safetensors``), so that no file hides another.
    """
    if not Path(models_dir).is_dir():
        return {}
    files = find_checkpoints(models_dir)
    stems = Counter(path.stem for path in files)
    return {path.stem if stems[path.stem] == 1 else path.name: path for path in files}


def resolve_model_name(models_dir: Path, name: str) -> str:
    """The listed name of the file ``name`` means; ``Automatic`` (or empty) picks the largest file.

    A file name with its extension is accepted too. Raises ``CheckpointError`` naming the folder
    and where the official files come from.
    """
    return _listed_name(list_models(models_dir), models_dir, name)


def resolve_model(models_dir: Path, name: str) -> Path:
    """The file for ``name`` (see :func:`resolve_model_name`)."""
    models = list_models(models_dir)
    return models[_listed_name(models, models_dir, name)]


def _listed_name(models: dict[str, Path], models_dir: Path, name: str) -> str:
    if not models:
        raise CheckpointError(
            f"No GPEN model found in {models_dir}. Put a GPEN-BFR checkpoint there (GPEN-BFR-2048.pth is the "
            f"best for photos); {DOWNLOAD_HINT}.",
            short="no GPEN model installed. Put a GPEN-BFR checkpoint in models/GPEN (the console says where to get one).",
        )
    if name in ("", None, AUTOMATIC_MODEL):
        return max(models, key=lambda listed: models[listed].stat().st_size)
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


def model_choices(models_dir: Path) -> list[str]:
    """What a model dropdown offers: ``Automatic`` first, then every file in the folder."""
    return [AUTOMATIC_MODEL, *list_models(models_dir)]
