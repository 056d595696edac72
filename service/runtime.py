"""Process-level tuning for serving: how many glibc malloc arenas the request threads may create."""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # glibc's mallopt parameter number


def limit_malloc_arenas(count: int) -> bool:
    """Cap glibc malloc arenas: each allocating thread may get its own arena that keeps freed memory, so RSS
    grew with concurrency (1.87 GB at 64 clients, 1.09 GB with 2 arenas; see docs/benchmarks.md).

    Returns whether the cap was applied (not on a non-glibc C library, or when ``count`` is 0).
    """
    if count <= 0:
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        return bool(ctypes.CDLL(name).mallopt(M_ARENA_MAX, count))
    except (OSError, AttributeError):
        return False
