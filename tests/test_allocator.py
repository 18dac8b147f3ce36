"""glibc tuning for the CLI and benchmarks: freed memory is kept for reuse, and given back on request."""
from __future__ import annotations

import subprocess
import sys

import pytest

CHILD = """
import torch
from gpen_ext.allocator import keep_freed_memory, release_freed_memory

def rss_mb():
    return int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0]) // 1024

assert keep_freed_memory()
before = rss_mb()
block = torch.ones(64, 2**20, dtype=torch.float32)  # 256 MB, touched
del block
kept = rss_mb()
assert release_freed_memory()
print(before, kept, rss_mb())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_freed_memory_is_kept_until_released() -> None:
    """In a fresh process (the tuning is process-wide): a freed 256 MB block stays resident, then goes back."""
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=120)
    before, kept, released = map(int, result.stdout.split())
    assert kept - before > 200
    assert kept - released > 200
