"""The daemon caps glibc's malloc arenas at start unless the operator chose, and gives the C heap's free
memory back after a burst (huabei_watch.runtime.memory)."""

from __future__ import annotations

import ctypes.util
import os
import platform

import pytest

from huabei_watch.runtime.memory import limit_malloc_arenas, release_free_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc" or ctypes.util.find_library("c") is None, reason="glibc only")
def test_the_arena_cap_is_applied_on_glibc() -> None:
    assert limit_malloc_arenas({}) is True


def test_an_operators_malloc_arena_max_is_left_to_glibc() -> None:
    assert limit_malloc_arenas({"MALLOC_ARENA_MAX": "4"}) is False


def _resident_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc" or ctypes.util.find_library("c") is None, reason="glibc only")
def test_free_heap_memory_left_between_live_blocks_is_given_back() -> None:
    # 24 MB of 2 KB blocks (CPython gives objects this big to malloc's heap), then one in 16 kept:
    # the freed runs between them stay resident until released (the last block keeps the heap's top).
    blocks = [bytearray(2048) for _ in range(12_000)]
    kept = blocks[::16] + blocks[-1:]
    del blocks
    held = _resident_kb()
    assert release_free_memory() is True
    released = held - _resident_kb()
    assert released > 12 * 1024, f"only {released} KB given back"
    assert all(len(b) == 2048 for b in kept)  # the live blocks are untouched
