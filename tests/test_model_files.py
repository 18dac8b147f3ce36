"""How the files of the models folder are named, listed and picked (dropdowns, API, infotext)."""
from __future__ import annotations

from pathlib import Path

import pytest

from gpen_ext.errors import CheckpointError
from gpen_ext.webui.model_files import list_models, model_choices, resolve_model, resolve_model_name


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    for name, size in [("GPEN-BFR-512.pth", 30), ("GPEN-BFR-512.safetensors", 20), ("GPEN-BFR-2048.pth", 90)]:
        (tmp_path / name).write_bytes(b"x" * size)
    return tmp_path


def test_files_sharing_a_stem_are_named_by_file_name(models_dir: Path) -> None:
    assert list_models(models_dir) == {
        "GPEN-BFR-2048": models_dir / "GPEN-BFR-2048.pth",
        "GPEN-BFR-512.pth": models_dir / "GPEN-BFR-512.pth",
        "GPEN-BFR-512.safetensors": models_dir / "GPEN-BFR-512.safetensors",
    }
    assert model_choices(models_dir) == ["Automatic", "GPEN-BFR-2048", "GPEN-BFR-512.pth", "GPEN-BFR-512.safetensors"]


def test_names_resolve_to_their_files(models_dir: Path) -> None:
    assert resolve_model(models_dir, "GPEN-BFR-512.safetensors") == models_dir / "GPEN-BFR-512.safetensors"
    assert resolve_model(models_dir, "GPEN-BFR-2048.pth") == models_dir / "GPEN-BFR-2048.pth", "file names work too"
    assert resolve_model_name(models_dir, "GPEN-BFR-2048.pth") == "GPEN-BFR-2048"
    assert resolve_model_name(models_dir, "Automatic") == "GPEN-BFR-2048", "the largest file"
    assert resolve_model_name(models_dir, "") == "GPEN-BFR-2048"


def test_an_ambiguous_or_unknown_name_is_refused_with_the_choices(models_dir: Path) -> None:
    with pytest.raises(CheckpointError, match="GPEN-BFR-512.pth, GPEN-BFR-512.safetensors") as caught:
        resolve_model(models_dir, "GPEN-BFR-512")
    assert str(models_dir) in str(caught.value)


def test_an_empty_folder_says_where_the_models_come_from(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="No GPEN model found .* ModelScope"):
        resolve_model(tmp_path, "Automatic")
    assert list_models(tmp_path / "missing") == {}
