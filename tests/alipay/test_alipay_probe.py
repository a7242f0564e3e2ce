"""The pre-order probe against the loopback fake gateway: each answer becomes a clear outcome and,
through the FindingTracker, the right finding; nothing is ever left open."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import aiohttp
import pytest
from pydantic import SecretStr

from huabei_watch.clock import ManualClock
from huabei_watch.events import Cause, MerchantFinding
from tests.alipay.support import START, KeyPair, classify
from tests.fakes.alipay_gateway import FakeAlipayGateway, Mode
from watcher.alipay.client import AlipayClient
from watcher.alipay.config import PrecreateCredentials
from watcher.sources.precreate import PrecreateProbe, make_out_trade_no
from watcher.sources.precreate_core import OUR_CONFIGURATION, FindingTracker, PrecreateOutcome, assess

APP_ID = "2021000000000001"



def make_probe(
    gw: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, *,
    private_key: str, alipay_public_key: str | None = None, url: str | None = None, timeout: float = 5.0,
    merchant_id: str = "m-001",
) -> PrecreateProbe:
    creds = PrecreateCredentials(
        merchant_id=merchant_id, app_id=APP_ID, private_key=SecretStr(private_key),
        alipay_public_key=alipay_public_key or gw.alipay_public_key_pem,
    )
    client = AlipayClient(
        url or gw.url, APP_ID, creds.private_key, creds.alipay_public_key, session, clock, timeout=timeout
    )
    return PrecreateProbe(creds, client, clock, amount="0.01", subject="花呗可用性检测", hb_fq_num=3)


async def probe_until_change(
    probe: PrecreateProbe, clock: ManualClock, tracker: FindingTracker, runs: int = 3
) -> tuple[list[PrecreateOutcome], list[MerchantFinding]]:
    outcomes: list[PrecreateOutcome] = []
    findings: list[MerchantFinding] = []
    for _ in range(runs):
        outcome = await probe.run()
        outcomes.append(outcome)
        finding = tracker.observe(outcome)
        if finding is not None:
            findings.append(finding)
        clock.advance(timedelta(hours=1))
    return outcomes, findings


async def test_success_sends_a_signed_huabei_preorder_and_cancels_it(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    gateway.add_app(APP_ID, merchant_keys.public_pem)
    outcome = await make_probe(gateway, session, clock, private_key=merchant_keys.private_pem).run()

    assert (outcome.ok, outcome.finding, outcome.code, outcome.verified) == (True, "ok", "10000", True)
    assert outcome.cleanup == "cancelled"
    assert gateway.open_orders() == set()
    assert set(gateway.created) == {outcome.out_trade_no}
    pre, cancel = gateway.requests
    assert pre.signature_ok and cancel.signature_ok
    assert pre.method == "alipay.trade.precreate" and cancel.method == "alipay.trade.cancel"
    assert {k: pre.params[k] for k in ("format", "charset", "sign_type", "version", "timestamp")} == {
        "format": "JSON", "charset": "utf-8", "sign_type": "RSA2", "version": "1.0",
        "timestamp": "2026-11-26 17:30:00",  # Asia/Shanghai
    }
    assert pre.biz["enable_pay_channels"] == "pcredit,pcreditpayInstallment"
    assert pre.biz["extend_params"] == {"hb_fq_num": "3", "hb_fq_seller_percent": "0"}
    assert (pre.biz["total_amount"], pre.biz["subject"]) == ("0.01", "花呗可用性检测")
    assert cancel.biz == {"out_trade_no": outcome.out_trade_no}


async def test_seller_blocked_raises_merchant_account_finding_after_two_probes(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    gateway.add_app(APP_ID, merchant_keys.public_pem)
    gateway.set_mode(APP_ID, Mode.SELLER_BLOCKED)
    probe = make_probe(gateway, session, clock, private_key=merchant_keys.private_pem)
    tracker = FindingTracker(classify, raise_after=2, clear_after=2)

    outcomes, findings = await probe_until_change(probe, clock, tracker, runs=2)

    first = outcomes[0]
    assert (first.finding, first.code, first.sub_code, first.verified) == ("error", "40004", "ACQ.SELLER_BEEN_BLOCKED", True)
    assert first.cleanup == "not_needed"
    assert [f.state for f in findings] == ["raised"]
    raised = findings[0]
    assert (raised.cause, raised.origin, raised.finding_id) == (Cause.MERCHANT_ACCOUNT, "precreate", "precreate:m-001")
    assert raised.sub_code == "ACQ.SELLER_BEEN_BLOCKED"
    assert "95188" in raised.advice_zh
    assert raised.observed_at == outcomes[1].at
    assert gateway.open_orders() == set()

    gateway.set_mode(APP_ID, Mode.SUCCESS)
    _, cleared = await probe_until_change(probe, clock, tracker, runs=2)
    assert [(f.state, f.cause) for f in cleared] == [("cleared", Cause.MERCHANT_ACCOUNT)]
    assert gateway.open_orders() == set()


async def test_request_signed_with_the_wrong_merchant_key_is_invalid_signature_integration(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock,
    merchant_keys: KeyPair, other_keys: KeyPair,
) -> None:
    gateway.add_app(APP_ID, merchant_keys.public_pem)
    probe = make_probe(gateway, session, clock, private_key=other_keys.private_pem)
    tracker = FindingTracker(classify)

    outcomes, findings = await probe_until_change(probe, clock, tracker, runs=2)

    first = outcomes[0]
    assert (first.finding, first.code, first.sub_code) == ("error", "40002", "isv.invalid-signature")
    assert first.verified is False  # Alipay sends this rejection unsigned
    assert first.cleanup == "not_needed" and gateway.created == {}
    assert [(f.state, f.cause) for f in findings] == [("raised", Cause.INTEGRATION)]
    assert findings[0].advice_zh  # the merchant's app key registered at Alipay differs: they can act


async def test_system_error_is_outage_evidence_not_a_merchant_finding(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    gateway.add_app(APP_ID, merchant_keys.public_pem)
    gateway.set_mode(APP_ID, Mode.SYSTEM_ERROR)
    probe = make_probe(gateway, session, clock, private_key=merchant_keys.private_pem)
    tracker = FindingTracker(classify)

    outcomes, findings = await probe_until_change(probe, clock, tracker, runs=3)

    assert [o.sub_code for o in outcomes] == ["ACQ.SYSTEM_ERROR"] * 3
    assert findings == []
    evidence = outcomes[0].as_payment_result()
    assert evidence is not None
    assert (evidence.success, evidence.code, evidence.sub_code, evidence.channel) == (
        False, "40004", "ACQ.SYSTEM_ERROR", "pcredit"
    )


async def test_timeout_is_a_timeout_outcome_and_nothing_is_left_behind(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    gateway.add_app(APP_ID, merchant_keys.public_pem)
    gateway.set_mode(APP_ID, Mode.HANG)
    probe = make_probe(gateway, session, clock, private_key=merchant_keys.private_pem, timeout=0.3)
    tracker = FindingTracker(classify, raise_after=1)

    outcome = await probe.run()

    assert (outcome.ok, outcome.finding, outcome.transport_error) == (False, "timeout", "timeout")
    assert tracker.observe(outcome) is None  # a timeout says nothing about the merchant
    assert outcome.cleanup == "cancelled"  # cancel tried anyway: Alipay says there is no such order
    assert [r.method for r in gateway.requests] == ["alipay.trade.precreate", "alipay.trade.cancel"]
    assert gateway.open_orders() == set()
    evidence = outcome.as_payment_result()
    assert evidence is not None and evidence.transport_error == "timeout"


async def test_preorder_created_but_answer_lost_is_still_cancelled(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    gateway.add_app(APP_ID, merchant_keys.public_pem)
    gateway.set_mode(APP_ID, Mode.HANG_AFTER_CREATE)
    probe = make_probe(gateway, session, clock, private_key=merchant_keys.private_pem, timeout=0.3)

    outcome = await probe.run()

    assert outcome.finding == "timeout"
    assert set(gateway.created) == {outcome.out_trade_no}
    assert gateway.open_orders() == set()
    assert outcome.cleanup == "cancelled"


def assert_ours_not_account(findings: list[MerchantFinding]) -> None:
    assert [(f.state, f.cause) for f in findings] == [("raised", Cause.INTEGRATION)]
    assert findings[0].explanation.startswith(OUR_CONFIGURATION)
    assert findings[0].advice_zh == ""  # for ops: the merchant has nothing to fix


async def test_unloadable_merchant_key_is_key_invalid_and_sends_nothing(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    gateway.add_app(APP_ID, merchant_keys.public_pem)
    secret = "-----BEGIN RSA PRIVATE KEY-----\nTOPSECRETnotakeyTOPSECRET\n-----END RSA PRIVATE KEY-----"
    probe = make_probe(gateway, session, clock, private_key=secret)
    tracker = FindingTracker(classify)

    outcomes, findings = await probe_until_change(probe, clock, tracker, runs=2)

    assert (outcomes[0].finding, outcomes[0].detail, outcomes[0].cleanup) == (
        "key_invalid", "merchant_private_key", "not_needed"
    )
    assert gateway.requests == []
    assert_ours_not_account(findings)
    assert "TOPSECRET" not in repr(outcomes[0]) + repr(findings[0]) + repr(probe.credentials)
    assert outcomes[0].as_payment_result() is None


async def test_wrong_platform_public_key_is_signature_invalid_and_preorder_still_cancelled(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock,
    merchant_keys: KeyPair, other_keys: KeyPair,
) -> None:
    gateway.add_app(APP_ID, merchant_keys.public_pem)
    probe = make_probe(
        gateway, session, clock, private_key=merchant_keys.private_pem, alipay_public_key=other_keys.public_pem
    )
    tracker = FindingTracker(classify)

    outcomes, findings = await probe_until_change(probe, clock, tracker, runs=2)

    assert [o.finding for o in outcomes] == ["signature_invalid", "signature_invalid"]
    assert all(not o.ok for o in outcomes)
    assert gateway.open_orders() == set() and len(gateway.created) == 2
    assert outcomes[0].cleanup == "unconfirmed"  # the cancel's answer cannot be verified either
    assert_ours_not_account(findings)


@pytest.mark.parametrize(
    ("mode", "finding"),
    [
        (Mode.TAMPER_BODY, "signature_invalid"),
        (Mode.STRIP_SIGN, "response_tampered"),
        (Mode.DUPLICATE_NODE, "response_tampered"),
    ],
)
async def test_altered_answer_claiming_seller_blocked_never_becomes_account_finding(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair,
    mode: Mode, finding: str,
) -> None:
    gateway.add_app(APP_ID, merchant_keys.public_pem)
    gateway.set_mode(APP_ID, mode)
    probe = make_probe(gateway, session, clock, private_key=merchant_keys.private_pem)
    tracker = FindingTracker(classify)

    outcomes, findings = await probe_until_change(probe, clock, tracker, runs=2)

    assert [o.finding for o in outcomes] == [finding, finding]
    assert all(o.sub_code == "" for o in outcomes)  # the unverified sub_code is not reported as Alipay's
    assert_ours_not_account(findings)
    assert gateway.open_orders() == set()
    assert outcomes[0].as_payment_result() is None


async def test_html_error_page_is_malformed_response_not_a_crash(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    gateway.add_app(APP_ID, merchant_keys.public_pem)
    gateway.set_mode(APP_ID, Mode.NOT_JSON)
    outcome = await make_probe(gateway, session, clock, private_key=merchant_keys.private_pem).run()
    assert (outcome.finding, outcome.transport_error) == ("error", "malformed_response")
    assert FindingTracker(classify, raise_after=1).observe(outcome) is None


async def test_refused_connection_is_a_transport_error(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    probe = make_probe(
        gateway, session, clock, private_key=merchant_keys.private_pem, url=f"http://127.0.0.1:{port}/gateway.do"
    )
    outcome = await probe.run()
    assert (outcome.finding, outcome.transport_error) == ("error", "connection_refused")
    assert outcome.cleanup == "unconfirmed"


def test_unsigned_account_claim_is_not_trusted_as_account_state() -> None:
    unsigned = PrecreateOutcome(
        merchant_id="m", at=START,
        ok=False, finding="error", code="40002", sub_code="ACQ.SELLER_BEEN_BLOCKED", verified=False,
    )
    a = assess(unsigned, classify)
    assert a.cause is Cause.INTEGRATION
    assert a.explanation.startswith(OUR_CONFIGURATION)


@pytest.mark.parametrize(
    ("merchant_id", "expected"),
    [
        ("m1", "hbw_probe_m1_20261126173000000"),
        ("shop_42", "hbw_probe_shop_42_20261126173000000"),
    ],
)
def test_out_trade_no_uses_only_letters_digits_underscore(clock: ManualClock, merchant_id: str, expected: str) -> None:
    assert make_out_trade_no(merchant_id, clock.now()) == expected


@pytest.mark.parametrize("merchant_id", ["m-001", "商户/一号", "x" * 64, "a.b@c"])
def test_out_trade_no_of_unusual_merchant_ids_is_valid_and_distinct(clock: ManualClock, merchant_id: str) -> None:
    otn = make_out_trade_no(merchant_id, clock.now())
    assert len(otn) <= 64
    assert otn.replace("_", "").isalnum() and otn.isascii()
    assert otn != make_out_trade_no(merchant_id + "x", clock.now())


def test_biz_content_is_compact_utf8_json(clock: ManualClock, merchant_keys: KeyPair) -> None:
    client = AlipayClient("http://127.0.0.1:1/gateway.do", APP_ID, SecretStr(merchant_keys.private_pem),
                          merchant_keys.public_pem, None, clock)  # type: ignore[arg-type]  # signing needs no session
    params = client.signed_params("alipay.trade.precreate", {"subject": "花呗", "total_amount": "0.01"})
    assert params["biz_content"] == '{"subject":"花呗","total_amount":"0.01"}'
    assert json.loads(params["biz_content"])["subject"] == "花呗"
    assert "TOP" not in repr(client) and merchant_keys.private_pem[40:80] not in repr(client)


async def test_isv_call_carries_signed_app_auth_token_and_plain_huabei_has_no_installments(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    gateway.add_app(APP_ID, merchant_keys.public_pem)
    client = AlipayClient(
        gateway.url, APP_ID, SecretStr(merchant_keys.private_pem), gateway.alipay_public_key_pem, session, clock,
        app_auth_token=SecretStr("202611BBtoken"),
    )
    resp = await client.precreate("hbw_probe_isv_1", "0.01", "花呗可用性检测", hb_fq_num=None)
    assert resp.ok and resp.signed and resp.qr_code.startswith("https://qr.alipay.com/")
    await client.close("hbw_probe_isv_1")
    pre, close = gateway.requests
    assert pre.signature_ok and pre.params["app_auth_token"] == "202611BBtoken"
    assert "extend_params" not in pre.biz
    assert pre.biz["enable_pay_channels"] == "pcredit,pcreditpayInstallment"
    assert close.method == "alipay.trade.close" and gateway.open_orders() == set()
    assert "202611BBtoken" not in repr(client)


async def test_unloadable_alipay_public_key_is_key_invalid_naming_it(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    gateway.add_app(APP_ID, merchant_keys.public_pem)
    probe = make_probe(
        gateway, session, clock, private_key=merchant_keys.private_pem, alipay_public_key=merchant_keys.private_pem
    )
    outcome = await probe.run()
    assert (outcome.finding, outcome.detail, outcome.cleanup) == ("key_invalid", "alipay_public_key", "not_needed")
    assert gateway.requests == []
