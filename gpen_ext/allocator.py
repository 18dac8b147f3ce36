"""Opt-in glibc malloc tuning for processes whose main job is running GPEN (CLI, benchmark).

At 1024/2048 every layer allocates and frees feature maps of 64-512 MB. glibc serves blocks
over its mmap threshold with fresh mappings and unmaps them on free, so each forward pass
page-faults gigabytes again: at 2048 that costs as much time as the convolutions. tcmalloc
and jemalloc keep such blocks; glibc does too once told to.

This changes the allocator of the whole process, which a library imported by a host must not
do behind its back (the WebUI's launcher preloads tcmalloc itself), so only entry points call it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
NEVER_TRIM = 2**31 - 1  # the largest value mallopt takes (an int)


def glibc_function(name: str) -> ctypes._CFuncPtr | None:
    """The C library's function ``name`` on Linux, None elsewhere or where the library lacks it (musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None


def keep_freed_memory() -> bool:
    """Make glibc serve large blocks from its heap and keep freed memory for reuse.

    Returns whether it was applied: False (and nothing changed) off glibc, e.g. macOS, Windows, musl.
    The process keeps its peak heap until exit, which is what a one-job CLI wants.
    """
    mallopt = glibc_function("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, NEVER_TRIM))


def release_freed_memory() -> bool:
    """Return the heap's free pages to the OS now (glibc ``malloc_trim``); False off glibc.

    With :func:`keep_freed_memory` nothing is ever trimmed, so the ~300 MB of temporaries of
    loading a checkpoint would stay in the process beside the model for good; entry points call
    this once after loading, before the forward passes set the heap's working size.
    """
    malloc_trim = glibc_function("malloc_trim")
    if malloc_trim is None:
        return False
    malloc_trim.argtypes, malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    malloc_trim(0)
    return True
