"""glibc's malloc: arenas limited at daemon start, freed heap memory handed back now and then.

glibc gives threads their own malloc arenas (up to 8 per core), and each keeps the memory it once
held. A daemon's threads (aiosqlite's one per SQLite connection, the default executor's) allocate
little but often, so every arena they touch stays resident. With two arenas the watcher of
2,000 sources ends its first poll 3-4 MB smaller (bench/README.md, "Watcher memory") and its event
loop, which allocates in the main arena, is not slowed.

An operator's own ``MALLOC_ARENA_MAX`` wins (glibc reads it itself); elsewhere than glibc nothing
is done.

glibc also keeps what was freed in the middle of its heaps; ``malloc_trim(0)`` gives the free pages
back to the system. :func:`trim_every` does that every ``daemon.malloc_trim_every`` seconds (0: never),
so what a burst of polls or messages freed does not stay resident until the next burst.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Awaitable, Callable, Mapping

log = logging.getLogger(__name__)

#: glibc's ``M_ARENA_MAX`` parameter of ``mallopt``.
_M_ARENA_MAX = -8
ARENAS = 2


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name)
    except (OSError, TypeError):
        return None


def limit_malloc_arenas(environ: Mapping[str, str], arenas: int = ARENAS) -> bool:
    """Cap the process's malloc arenas at ``arenas`` (call it before any thread starts). True when
    applied; False when ``MALLOC_ARENA_MAX`` is set in ``environ`` or the C library has no
    ``mallopt`` (not glibc). Never raises."""
    if "MALLOC_ARENA_MAX" in environ:
        return False
    libc = _libc()
    try:
        mallopt = libc.mallopt if libc is not None else None
    except AttributeError:
        return False
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))


def malloc_trimmer() -> Callable[[], bool] | None:
    """A function that hands the free pages of every malloc heap back to the system (glibc's
    ``malloc_trim(0)``; True when some memory was released), or None when the C library has no
    ``malloc_trim`` (not glibc). Never raises."""
    libc = _libc()
    try:
        trim = libc.malloc_trim if libc is not None else None
    except AttributeError:
        return None
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: bool(trim(0))


async def trim_every(
    every: float, trim: Callable[[], bool], *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Call ``trim`` every ``every`` seconds (> 0) until cancelled. A trim takes a few ms of the
    event loop's thread (it walks the heaps); it never raises here."""
    if every <= 0:
        raise ValueError("every must be > 0")
    while True:
        await sleep(every)
        trim()


def start_trimming(every: float) -> asyncio.Task[None] | None:
    """The task of :func:`trim_every` for ``daemon.malloc_trim_every`` (None when it is 0 or the C
    library cannot trim). The caller cancels it at shutdown."""
    trim = malloc_trimmer() if every > 0 else None
    if trim is None:
        return None
    return asyncio.get_running_loop().create_task(trim_every(every, trim), name="malloc-trim")
