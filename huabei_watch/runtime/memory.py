"""glibc's malloc, kept small: arenas limited at daemon start, free heap memory given back after a burst.

glibc gives threads their own malloc arenas (up to 8 per core), and each keeps the memory it once
held. A daemon's threads (aiosqlite's one per SQLite connection, the default executor's) allocate
little but often, so every arena they touch stays resident. With two arenas the watcher of
2,000 sources ends its first poll 3-4 MB smaller (bench/README.md, "Watcher memory") and its event
loop, which allocates in the main arena, is not slowed (:func:`limit_malloc_arenas`).

CPython's larger objects, lxml's trees and the drivers' buffers live in the C heap. After a burst
of them (a watcher's first poll of thousands of sources: pages, parsed lists, records waiting for
their flush) glibc keeps the freed pages resident for reuse: 2-4 MB of the watcher's RSS after its
first poll of 2,000 sources (bench/README.md, round ``perf10``). :func:`release_free_memory`
(``malloc_trim(0)``) hands them back.

An operator's own ``MALLOC_ARENA_MAX`` wins (glibc reads it itself); elsewhere than glibc nothing
is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable, Mapping

#: glibc's ``M_ARENA_MAX`` parameter of ``mallopt``.
_M_ARENA_MAX = -8
ARENAS = 2


def limit_malloc_arenas(environ: Mapping[str, str], arenas: int = ARENAS) -> bool:
    """Cap the process's malloc arenas at ``arenas`` (call it before any thread starts). True when
    applied; False when ``MALLOC_ARENA_MAX`` is set in ``environ`` or the C library has no
    ``mallopt`` (not glibc). Never raises."""
    if "MALLOC_ARENA_MAX" in environ:
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))


_trim: Callable[[int], int] | None = None
_looked_up = False


def release_free_memory() -> bool:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim(0)``; a few ms for a
    heap of tens of MB, so once after a burst, not on every poll). False when the C library has no
    such call (not glibc), else True. Never raises."""
    global _trim, _looked_up
    if not _looked_up:
        _looked_up = True
        try:
            _trim = ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
        except (OSError, AttributeError, TypeError):
            _trim = None
    if _trim is None:
        return False
    _trim(0)
    return True
