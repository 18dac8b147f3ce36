"""Fixtures shared by all tests: where the reference data and real photos are."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]


DATA_DIR = REPO_ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The original GPEN's state-dict manifests and golden outputs (in the repository: see tests/data/README.md)."""
    return DATA_DIR / "gpen-reference"


@pytest.fixture(scope="session")
def test_images_dir() -> Path:
    """Real photos with real faces (in the repository: see tests/data/README.md)."""
    return DATA_DIR / "test-images"


NATIVE_BF16_FLAGS = {"avx512_bf16", "amx_bf16"}


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (the test is skipped where there is none)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        pytest.skip("CPU flags are read from /proc/cpuinfo (Linux)")
    return set(next(line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")).split())


@pytest.fixture(scope="session")
def cpu_auto_dtype() -> torch.dtype:
    """What ``auto`` must pick on this CPU, from the CPU's own flags (not from the code that decides).

    bf16 where the CPU computes it natively (AVX512-BF16 or AMX-BF16), fp32 where it has no AVX-512
    at all; AVX-512 CPUs without native bf16 are where oneDNN's own verdict decides, so no claim there.
    """
    flags = cpu_flags()
    if flags & NATIVE_BF16_FLAGS:
        return torch.bfloat16
    if "avx512bw" not in flags:
        return torch.float32
    pytest.skip("AVX-512 without native bf16: auto follows oneDNN's verdict")


@pytest.fixture(scope="session")
def native_bf16_cpu() -> None:
    """Skips a test that needs bf16 computed in hardware (AVX512-BF16 or AMX-BF16, read from the CPU's flags):
    elsewhere bf16 is emulated, many times slower than fp32, and ``auto`` does not choose it."""
    if not cpu_flags() & NATIVE_BF16_FLAGS:
        pytest.skip("needs a CPU with native bf16 (avx512_bf16 or amx_bf16 in /proc/cpuinfo)")


@pytest.fixture(autouse=True)
def no_network_and_fresh_mask_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the network (a test that needs a download serves it itself), and each
    starts with no mask fallback recorded (the notice is once per process)."""
    import urllib.error
    import urllib.request

    from gpen_ext.faces import masks

    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("tests never download")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(masks, "MASK_FALLBACK", masks.FallbackNotice())
