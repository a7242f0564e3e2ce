"""The daemon caps glibc's malloc arenas at start unless the operator chose (huabei_watch.root.memory)."""

from __future__ import annotations

import ctypes.util
import platform

import pytest

from huabei_watch.root.memory import limit_malloc_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc" or ctypes.util.find_library("c") is None, reason="glibc only")
def test_the_arena_cap_is_applied_on_glibc() -> None:
    assert limit_malloc_arenas({}) is True


def test_an_operators_malloc_arena_max_is_left_to_glibc() -> None:
    assert limit_malloc_arenas({"MALLOC_ARENA_MAX": "4"}) is False
