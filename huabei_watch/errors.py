"""Errors that say what to do.

Every error raised across a module boundary is one of these. The consumer runner branches on the
class, never on the message:

* :class:`TransientError` -- try again later (with backoff); nothing is wrong with the input.
* :class:`PermanentError` -- retrying cannot help; the message goes to the dead-letter topic with
  the reason.
* :class:`InvalidInput` -- a permanent error caused by the input itself (undecodable, fails
  validation); the reason is written for a person to act on.
* :class:`ConfigError` -- the configuration is wrong; carries every problem with its key path.
"""

from __future__ import annotations


class HuabeiWatchError(Exception):
    """Base class of every error the project raises on purpose."""


class TransientError(HuabeiWatchError):
    """Retry later: a network hiccup, a rate limit, a locked database, a broker that is away.

    ``retry_after`` (seconds) is a hint from the other side (e.g. a 429's Retry-After).
    """

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentError(HuabeiWatchError):
    """Do not retry: the same attempt will fail again. Record it, dead-letter it, go on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidInput(PermanentError):
    """The input cannot be understood (bad bytes, bad JSON, fails the schema)."""


class ConfigError(HuabeiWatchError):
    """The configuration is invalid. ``problems`` holds ``"key.path: message"`` lines."""

    def __init__(self, problems: list[str], *, path: str | None = None) -> None:
        self.problems = problems
        self.path = path
        where = f" in {path}" if path else ""
        super().__init__(f"invalid configuration{where}:\n  " + "\n  ".join(problems))


class BrokerUnavailable(TransientError):
    """The Kafka broker could not be reached or started."""
