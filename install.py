"""Run by the WebUI when the extension is installed and at start-up: pip-installs only what is missing.

The WebUI itself skips every extension's installer under ``--skip-install``
(``launch_utils.prepare_environment``), so that flag needs nothing here.

The WebUI pins torch, numpy, gradio, pydantic, fastapi and opencv; an extension that moves any of
them breaks the WebUI. So pip runs only when a requirement is missing or too old, and always
with a constraints file that holds those packages at their installed versions.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version

from packaging.requirements import Requirement

REQUIREMENTS = ("facexlib>=0.3.0", "safetensors>=0.4")
WEBUI_PINNED = ("torch", "torchvision", "numpy", "gradio", "pydantic", "fastapi", "opencv-python", "Pillow")


def installed_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or None."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def missing_requirements(requirements: tuple[str, ...]) -> list[str]:
    """The requirements that are not installed, or installed at a version outside their range."""
    missing = []
    for line in requirements:
        requirement = Requirement(line)
        found = installed_version(requirement.name)
        if found is None or not requirement.specifier.contains(found, prereleases=True):
            missing.append(line)
    return missing


def pinned_constraints(names: tuple[str, ...] = WEBUI_PINNED) -> list[str]:
    """``name==version`` for each WebUI-pinned package present, so pip can neither up- nor downgrade it."""
    return [f"{name}=={found}" for name in names if (found := installed_version(name)) is not None]


def install(requirements: list[str]) -> None:
    """pip-install ``requirements`` with the WebUI's pinned packages held where they are."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        constraints.write("\n".join(pinned_constraints()) + "\n")
    print(f"sd-webui-gpen: installing {', '.join(requirements)}")
    try:
        subprocess.run([sys.executable, "-m", "pip", "install", "--prefer-binary", "-c", constraints.name, *requirements], check=True)
    finally:
        os.unlink(constraints.name)


def main() -> None:
    requirements = missing_requirements(REQUIREMENTS)
    if requirements:
        install(requirements)


if __name__ == "__main__":
    main()
