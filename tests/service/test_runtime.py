"""The malloc arena cap is applied on glibc and skipped when turned off."""

from __future__ import annotations

import platform

from service.runtime import limit_malloc_arenas


def test_arena_cap_applies_on_glibc_and_zero_turns_it_off() -> None:
    assert limit_malloc_arenas(0) is False
    if platform.libc_ver()[0] == "glibc":
        assert limit_malloc_arenas(2) is True
