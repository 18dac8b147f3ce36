"""The benchmark entry point end to end, at the smallest size, parsed the way scripts read it."""
from __future__ import annotations

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
