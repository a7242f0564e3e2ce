"""The one HTTP exchange every adapter makes, and the status-code rules they share.

Network failures never escape as aiohttp exceptions: they become :class:`TransientError`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from huabei_watch.clock import Clock
from huabei_watch.errors import PermanentError, TransientError

log = logging.getLogger(__name__)

#: Header that carries the message ref (digest of the dedupe key) on every provider request (providers ignore it; the loopback
#: fakes count by it, and a tracing proxy can too).
DEDUPE_HEADER = "X-Huabei-Dedupe-Ref"

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    body: bytes
    retry_after: float | None

    def parse(self, model: type[M]) -> M | None:
        """The body as ``model``, or None when it is not JSON of that shape."""
        try:
            return model.model_validate_json(self.body)
        except (ValidationError, ValueError):
            return None


def parse_retry_after(value: str | None, clock: Clock) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); None when absent/garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - clock.now()).total_seconds(), 0.0)


async def exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    provider: str,
    clock: Clock,
    timeout_s: float,
    data: bytes | None = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """One request. Connection errors and timeouts raise TransientError; any status is returned."""
    try:
        async with session.request(
            method,
            url,
            data=data,
            params=params,
            headers=dict(headers or {}),
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            allow_redirects=False,
        ) as resp:
            body = await resp.read()
            return HttpAnswer(resp.status, body, parse_retry_after(resp.headers.get("Retry-After"), clock))
    except TimeoutError as exc:
        raise TransientError(f"{provider}: timed out after {timeout_s:g}s") from exc
    except aiohttp.ClientError as exc:
        raise TransientError(f"{provider}: connection failed: {type(exc).__name__}") from exc


def raise_for_status(provider: str, answer: HttpAnswer) -> None:
    """Shared rules for an answer a provider did not explain in its own body.

    429 and 5xx are transient (honouring Retry-After); 408 too; other non-2xx are permanent.
    """
    status = answer.status
    if 200 <= status < 300:
        return
    snippet = answer.body[:200].decode("utf-8", errors="replace")
    if status == 429 or status == 408 or status >= 500:
        raise TransientError(f"{provider}: HTTP {status}: {snippet}", retry_after=answer.retry_after)
    raise PermanentError(f"{provider}: HTTP {status}: {snippet}")


def unexpected_body(provider: str, answer: HttpAnswer) -> TransientError:
    """A 2xx whose body we cannot read: the provider may or may not have sent; treat as retry-later."""
    snippet = answer.body[:200].decode("utf-8", errors="replace")
    log.warning("channel.unexpected_body", extra={"provider": provider, "status": answer.status, "body": snippet})
    return TransientError(f"{provider}: unreadable answer (HTTP {answer.status}): {snippet}")


class AccessToken(BaseModel):
    """The reply of a Tencent token endpoint (WeChat ``stable_token``, WeCom ``gettoken``)."""

    errcode: int = 0
    errmsg: str = ""
    access_token: str = ""
    expires_in: int = 0


def access_token(
    provider: str,
    answer: HttpAnswer,
    *,
    call: str,
    transient: Mapping[int, float | None],
    permanent: Mapping[int, str],
) -> AccessToken:
    """The token of a Tencent token reply, or the error it means: an unreadable body by the status
    rules, an ``errcode`` in ``transient`` as :class:`TransientError` (its retry-after), any other
    as :class:`PermanentError` with the provider's reason (default "credentials rejected")."""
    parsed = answer.parse(AccessToken)
    if parsed is None:
        raise_for_status(provider, answer)
        raise unexpected_body(provider, answer)
    if parsed.errcode != 0 or not parsed.access_token:
        reason = f"{provider}: {call} errcode {parsed.errcode}: {parsed.errmsg}"
        if parsed.errcode in transient:
            raise TransientError(reason, retry_after=transient[parsed.errcode])
        raise PermanentError(f"{reason} ({permanent.get(parsed.errcode, 'credentials rejected')})")
    return parsed
