"""glibc's malloc arenas, limited at daemon start.

glibc gives threads their own malloc arenas (up to 8 per core), and each keeps the memory it once
held. A daemon's threads (aiosqlite's one per SQLite connection, the default executor's) allocate
little but often, so every arena they touch stays resident. With two arenas the watcher of
2,000 sources ends its first poll 3-4 MB smaller (bench/README.md, "Watcher memory") and its event
loop, which allocates in the main arena, is not slowed.

An operator's own ``MALLOC_ARENA_MAX`` wins (glibc reads it itself); elsewhere than glibc nothing
is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Mapping

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
