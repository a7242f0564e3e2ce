"""Test doubles: in-memory stand-ins for our own ports (``bus.py``: a recording publisher and an
in-memory consumer; ``delivery_store.py``; ``incident_book.py``) and loopback fakes of the outside
services (notification providers, the Alipay gateway), for tests and benchmarks.

Each provider fake is a small class around an ``aiohttp.web.Application`` served by
``aiohttp.test_utils.TestServer`` on 127.0.0.1. It checks requests the way the provider does
(signatures recomputed from the raw request, credentials, timestamps), enforces the provider's
rate limits with its error codes, can be told to fail, and counts what it accepted per message
ref and per recipient so tests can assert "no duplicates, nothing lost"::

    async with FakeWeCom(clock, keys={"k1"}) as fake:
        channel = WeComChannel(session, clock, base_url=fake.base_url)
        ...
        assert fake.duplicates() == {}
"""

from tests.fakes.base import Failure, FakeProvider, Received

__all__ = ["Failure", "FakeProvider", "Received"]
