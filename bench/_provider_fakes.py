"""One loopback provider fake in a child process, for ``bench_fanout`` (its CPU and memory are not
the client's): ``python -m bench._provider_fakes wecom|aliyun_sms --limit L --window W [--robots R]``.

Wraps the test fakes (``tests.fakes``), which check requests as the providers do and answer with
their rate-limit error codes, with two bench changes: accepted messages are counted per ref
(not kept whole: 100,000 bodies would measure the fake's memory), and rate windows are kept as
trimmed deques (the test fakes rescan up to 10,000 stamps per request). Rate limits:

* ``wecom``: robots ``r0``..``r<R-1>``, each at most ``L`` messages per ``W`` seconds (45009 past it);
* ``wecom_app``: one application reaching members ``u0``..``u<R-1>`` (``--robots`` is the member
  count), at most ``L`` calls per ``W`` seconds (45033 past it);
* ``aliyun_sms``: the account at most ``L`` SendSms per ``W`` seconds (``isv.BUSINESS_LIMIT_CONTROL``),
  plus the fake's per-number limits.

Prints ``{"base_url": ...}`` once listening; when stdin closes, prints the counts as one JSON line
and exits (or after ``--max-seconds``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from huabei_watch.clock import SystemClock
from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.fakes.base import FakeProvider
from tests.fakes.wecom import FakeWeCom
from tests.fakes.wecom_app import FakeWeComApp

ACCESS_KEY_ID = "bench-key-id"
ACCESS_KEY_SECRET = "bench-key-secret"
SIGN_NAME = "花呗助手"
TEMPLATE = "SMS_900001"
CORP_ID, CORP_SECRET, AGENT_ID = "bench-corp", "bench-corp-secret", 1000002


class Counting:
    """Mixin for a FakeProvider: count accepted refs and times; fast sliding windows."""

    refs: Counter[str]
    recipients: Counter[str]
    times: list[float]
    fast: dict[str, deque[float]]

    def _setup_counting(self) -> None:
        self.refs = Counter()
        self.recipients = Counter()
        self.times = []
        self.fast = {}

    async def accept(self, ref: str, recipient: str, body: Mapping[str, Any]) -> None:
        self.refs[ref] += 1
        self.recipients[recipient] += 1
        self.times.append(time.monotonic())

    def window_allows(self, key: str, limit: int, per_seconds: float) -> bool:
        now = time.monotonic()
        stamps = self.fast.setdefault(key, deque())
        while stamps and now - stamps[0] >= per_seconds:
            stamps.popleft()
        return len(stamps) < limit

    def window_count(self, key: str) -> None:
        self.fast.setdefault(key, deque()).append(time.monotonic())


class BenchWeCom(Counting, FakeWeCom):
    def __init__(self, robots: int, limit: int, window: float) -> None:
        super().__init__(SystemClock(), keys={f"r{i}" for i in range(robots)}, per_minute=limit)
        self._setup_counting()
        self.window = window

    def window_allows(self, key: str, limit: int, per_seconds: float) -> bool:
        return super().window_allows(key, limit, self.window)  # the fake's 60 s window, scaled


class BenchWeComApp(Counting, FakeWeComApp):
    def __init__(self, members: int, limit: int, window: float) -> None:
        super().__init__(SystemClock(), corp_id=CORP_ID, corp_secret=CORP_SECRET, agent_id=AGENT_ID,
                         members={f"u{i}" for i in range(members)})
        self._setup_counting()
        self.limit = limit
        self.window = window
        self.app.middlewares.append(self._call_limit)

    @web.middleware
    async def _call_limit(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.endswith("/message/send"):
            if not Counting.window_allows(self, "app", self.limit, self.window):
                return self._answer(45033, "api concurrent out of limit")
            Counting.window_count(self, "app")
        return await handler(request)


class BenchAliyunSms(Counting, FakeAliyunSms):
    def __init__(self, limit: int, window: float) -> None:
        super().__init__(
            SystemClock(), access_key_id=ACCESS_KEY_ID, access_key_secret=ACCESS_KEY_SECRET,
            sign_names={SIGN_NAME}, templates=None,
        )
        self._setup_counting()
        self.limit = limit
        self.window = window
        self.app.middlewares.append(self._account_limit)

    @web.middleware
    async def _account_limit(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not Counting.window_allows(self, "account", self.limit, self.window):
            return self._error(200, "isv.BUSINESS_LIMIT_CONTROL", "触发账号级流控")
        Counting.window_count(self, "account")
        return await handler(request)


def stats(fake: FakeProvider, counting: Counting) -> dict[str, Any]:
    times = counting.times
    return {
        "requests": fake.requests,
        "accepted": sum(counting.refs.values()),
        "distinct": len(counting.refs),
        "duplicates": sum(n - 1 for n in counting.refs.values() if n > 1),
        "distinct_recipients": len(counting.recipients),
        "recipient_duplicates": sum(n - 1 for n in counting.recipients.values() if n > 1),
        "rejected": dict(Counter(code for code, _ in fake.rejected)),
        "first": times[0] if times else None,
        "last": times[-1] if times else None,
    }


async def serve(args: argparse.Namespace) -> None:
    fake: BenchWeCom | BenchWeComApp | BenchAliyunSms
    if args.provider == "wecom":
        fake = BenchWeCom(args.robots, args.limit, args.window)
    elif args.provider == "wecom_app":
        fake = BenchWeComApp(args.robots, args.limit, args.window)
    else:
        fake = BenchAliyunSms(args.limit, args.window)
    await fake.start()
    print(json.dumps({"base_url": fake.base_url}), flush=True)
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()
    loop.add_reader(sys.stdin.fileno(), lambda: closed.set() if not sys.stdin.readline() else None)
    try:
        await asyncio.wait_for(closed.wait(), args.max_seconds)
    except TimeoutError:
        pass
    finally:
        loop.remove_reader(sys.stdin.fileno())
        print(json.dumps(stats(fake, fake)), flush=True)
        await fake.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("provider", choices=["wecom", "wecom_app", "aliyun_sms"])
    ap.add_argument("--limit", type=int, required=True, help="messages per window (per robot / per account)")
    ap.add_argument("--window", type=float, required=True, help="window in seconds")
    ap.add_argument("--robots", type=int, default=1)
    ap.add_argument("--max-seconds", type=float, default=1800.0)
    asyncio.run(serve(ap.parse_args()))


if __name__ == "__main__":
    main()
