"""The package's shape: each wing imports only the ones below it, and only ``scripts/`` imports the WebUI."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gpen_ext"
FLOORS = {"errors": 0, "allocator": 0, "model": 1, "faces": 2, "webui": 3, "video": 3, "bench": 4, "cli": 4, "cluster": 5, "__main__": 5,
          "__init__": 5}
"""Floor of each top-level part of ``gpen_ext``; a module may import its own floor's part and any lower floor."""
HANDOVERS = {("cli", "cluster")}
"""The one import up: ``restore --ray`` hands the command over to ``cluster`` (imported inside ``run_restore``)."""


def part_of(module: str) -> str:
    return module.split(".")[1] if "." in module else "__init__"


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the ``gpen_ext`` modules and the top-level packages a file imports."""
    module = "gpen_ext." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            names.add(".".join(base + ([node.module] if node.module else [])))
    return names


def test_floors_cover_every_part() -> None:
    parts = {path.stem if path.suffix == ".py" else path.name for path in PACKAGE.iterdir() if path.name != "__pycache__"}
    assert parts == set(FLOORS)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_run_downward(path: Path) -> None:
    own = part_of("gpen_ext." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    for name in imported_modules(path):
        assert name.split(".")[0] != "modules", f"{path.name} imports the WebUI ({name}); only scripts/ may"
        if name.startswith("gpen_ext.") or name == "gpen_ext":
            target = part_of(name)
            allowed = target == own or FLOORS[target] < FLOORS[own] or (own, target) in HANDOVERS
            assert allowed, f"{path.name} ({own}) imports {name} ({target}) above or beside it"
