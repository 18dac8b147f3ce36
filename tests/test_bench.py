"""The benchmark entry point end to end, at the smallest size, parsed the way scripts read it."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_bench_prints_json_summary_last() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "gpen_ext.bench", "--size", "256", "--repeat", "1", "--dtype", "fp32", "--threads", "1"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=600,
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert (result["size"], result["device"], result["dtype"], result["threads"]) == (256, "cpu", "float32", 1)
    assert result["ms_per_face"] > 0
    # The recipe weights alone are 75 MB in fp32: a peak below that is not a real measurement.
    assert result["peak_rss_mb"] > 75
    assert "speedup" not in result
    # The roofline ran in the same invocation, on the original's 17 GFLOP of dense convs at 256.
    assert 16 < result["gflop"] < 18
    assert result["roofline_ms"] == pytest.approx(sum(result["roofline_ms_per_kind"].values()), abs=0.5)
    assert result["roofline_fraction"] == pytest.approx(result["roofline_ms"] / result["ms_per_face"], abs=0.002)


def test_profile_puts_every_convolution_of_a_real_forward_in_its_kind() -> None:
    """Profiled at 256 on this machine (fused oneDNN ops on x86, plain ops elsewhere): the time is split into
    the kinds the README discusses, and no convolution falls into "other"."""
    import torch

    from gpen_ext.bench.profile import profile_forward
    from gpen_ext.bench.recipe import recipe_input, recipe_state_dict
    from gpen_ext.model.arch import build_generator
    from gpen_ext.model.arch.config import RELEASED_CONFIGS

    config = RELEASED_CONFIGS[256]
    model = build_generator(config, recipe_state_dict(config), dtype=torch.float32)
    image = recipe_input(256)
    model(image)
    kinds = profile_forward(model, image, torch.device("cpu"), lambda device: None)
    for kind in ("dense conv 3x3", "blur (depthwise conv)", "noise half (depthwise 1x1 + bias + activation)",
                 "dense conv 1x1 (ToRGB, first encoder layer)"):
        assert kinds.get(kind, 0) > 0, kind
    upsampling = kinds.get("dense conv upsampling (transposed)", 0) + kinds.get("dense conv upsampling phases", 0)
    assert upsampling > kinds["dense conv 3x3"] / 10, kinds


def test_pipeline_bench_times_the_same_random_parser_in_every_run(tmp_path: Path) -> None:
    """The paste's time follows the parsing mask's extent, so ``--random-parser`` saves the same weights
    whatever the random state before it."""
    import torch

    from gpen_ext.bench.pipeline import random_parser_dir
    from gpen_ext.faces.facexlib_models import PARSENET_WEIGHTS

    saved = []
    for name in ("first", "second"):
        folder = tmp_path / name
        folder.mkdir()
        torch.rand(7)  # the random state moves on between runs
        saved.append(torch.load(random_parser_dir(folder, "parsing") / PARSENET_WEIGHTS.filename, weights_only=True))
    assert saved[0].keys() == saved[1].keys()
    assert all(torch.equal(saved[0][key], saved[1][key]) for key in saved[0])


def bench_imports() -> dict[str, set[str]]:
    """Which ``gpen_ext.bench`` modules each one imports, at the top or inside a function (read with ``ast``)."""
    folder = REPO_ROOT / "gpen_ext" / "bench"
    names = {path.stem for path in folder.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        graph[path.stem] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level == 1 or base.startswith("gpen_ext.bench"):
                    base = base.removeprefix("gpen_ext.bench").lstrip(".")
                    targets = [base.split(".")[0]] if base else [alias.name for alias in node.names]
                    graph[path.stem] |= {target for target in targets if target in names}
            elif isinstance(node, ast.Import):
                graph[path.stem] |= {alias.name.split(".")[2] for alias in node.names
                                     if alias.name.startswith("gpen_ext.bench.")}
    return graph


def test_bench_modules_import_each_other_without_a_loop() -> None:
    """network and onnx_backend once imported each other (network lazily): the timing helpers now live in
    ``timing``, which both import. A depth-first walk finds any cycle, lazy imports included."""
    graph = bench_imports()
    assert graph["network"] >= {"onnx_backend", "timing"}  # the lazy import in run() is seen
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        assert module not in path, f"import loop: {' -> '.join(path[path.index(module):] + [module])}"
        if module not in done:
            for imported in sorted(graph[module]):
                visit(imported, path + [module])
            done.add(module)

    for module in sorted(graph):
        visit(module, [])
