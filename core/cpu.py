"""What the running CPU can do: the instruction-set flags that decide which compiled kernels are worth using."""

from __future__ import annotations

import platform
from functools import lru_cache
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The running CPU's instruction-set flags (empty off Linux x86-64, where none of them is relied on)."""
    if cpuinfo == CPUINFO:
        return _machine_flags()
    return _read_flags(cpuinfo)


@lru_cache(maxsize=1)
def _machine_flags() -> frozenset[str]:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return frozenset()
    return _read_flags(CPUINFO)


def _read_flags(cpuinfo: Path) -> frozenset[str]:
    if not cpuinfo.is_file():
        return frozenset()
    for line in cpuinfo.read_text(errors="replace").splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def has_bfloat16() -> bool:
    """Whether the CPU computes bfloat16 dot products natively (AVX512-BF16): half-precision inference pays."""
    return "avx512_bf16" in cpu_flags()
