"""Which event loop a daemon process runs on (``daemon.event_loop``), chosen once at start-up.

uvloop (libuv) runs the same asyncio code with markedly less CPU per socket operation and callback:
most of what an unchanged poll costs (an aiohttp request and its 304) is event-loop work.

* ``"auto"`` (the default): uvloop when it is installed, else the standard asyncio loop, and
  :func:`run` logs one ``daemon.event_loop`` line naming the loop either way (with why, when
  uvloop was wanted but is missing).
* ``"uvloop"``: uvloop or nothing: :func:`choose` raises :class:`~huabei_watch.errors.ConfigError`
  saying how to install it.
* ``"asyncio"``: the standard loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from huabei_watch.errors import ConfigError

log = logging.getLogger(__name__)

EventLoopSetting = Literal["auto", "uvloop", "asyncio"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LoopChoice:
    """The loop to run on: ``name`` (``"uvloop"`` or ``"asyncio"``), its factory (None: asyncio's
    default) and, when ``auto`` fell back to asyncio, why."""

    name: str
    factory: Callable[[], asyncio.AbstractEventLoop] | None
    fallback_reason: str | None = None


def choose(setting: EventLoopSetting) -> LoopChoice:
    """The loop ``setting`` asks for on this installation. Raises ConfigError for ``"uvloop"``
    when uvloop cannot be imported."""
    if setting == "asyncio":
        return LoopChoice("asyncio", None)
    try:
        import uvloop
    except ImportError as exc:
        if setting == "uvloop":
            raise ConfigError([
                f"daemon.event_loop: \"uvloop\" asked but uvloop cannot be imported ({exc}); install it "
                "(pip install uvloop) or set it to \"auto\" or \"asyncio\""
            ]) from None
        return LoopChoice("asyncio", None, fallback_reason=f"uvloop not importable: {exc}")
    return LoopChoice("uvloop", uvloop.new_event_loop)


def run(main: Coroutine[Any, Any, T], choice: LoopChoice) -> T:
    """Run ``main`` to completion on the chosen loop (like :func:`asyncio.run`), after logging
    which loop it is."""
    extra: dict[str, Any] = {"loop": choice.name}
    if choice.fallback_reason is not None:
        extra["reason"] = choice.fallback_reason
    log.info("daemon.event_loop", extra=extra)
    with asyncio.Runner(loop_factory=choice.factory) as runner:
        return runner.run(main)
