"""Signatures, allowed producers and bounds on records, without a broker (pure)."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from huabei_watch.errors import InvalidInput
from huabei_watch.events import INCIDENT_RESOLVED, MAINTENANCE_SCHEDULED, Event, EventData, Phase, encode
from huabei_watch.events.auth import (
    PrivateKey,
    Signer,
    SigningKey,
    Unauthenticated,
    Verifier,
    key_id,
    signed_bytes,
)
from huabei_watch.events.base import producers
from huabei_watch.events.bounds import depth_exceeds, parse_json
from huabei_watch.events.codec import check_bounds, decode, headers_dict
from tests.cashier.incident_builders import maintenance_incident
from tests.incidents import factories

KEYS = {name: PrivateKey.generate() for name in ("watcher", "incidents", "cashier", "notify", "attacker")}


def signer(*names: str) -> Signer:
    return Signer(SigningKey(n, KEYS[n]) for n in names)


def verifier(public: dict[str, list[PrivateKey]] | None = None, outside: tuple[str, ...] = ()) -> Verifier:
    keys = public or {n: [KEYS[n]] for n in ("watcher", "incidents", "cashier", "notify")}
    return Verifier({p: [k.verify_key for k in ks] for p, ks in keys.items()}, producers(outside))


def signed(event: Event[EventData], principal: str, by: Signer | None = None) -> tuple[dict[str, bytes], bytes]:
    rec = encode(event)
    assert rec.value is not None
    headers = (by or signer(principal)).sign(principal, rec.headers, rec.value)
    return headers_dict(headers), rec.value


def resolved_incident() -> Event[EventData]:
    inc = maintenance_incident(phase=Phase.RESOLVED).model_copy(update={"revision": 51})
    return Event.build(INCIDENT_RESOLVED, inc, time=inc.updated_at)


def test_an_incident_signed_by_the_incidents_role_is_accepted() -> None:
    headers, value = signed(resolved_incident(), "incidents")
    assert verifier().verify(headers, value) == "incidents"


@pytest.mark.parametrize("principal", ["watcher", "cashier", "notify"])
def test_an_incident_signed_by_another_role_is_unauthenticated(principal: str) -> None:
    headers, value = signed(resolved_incident(), principal)
    with pytest.raises(Unauthenticated, match=f"'{principal}' may not produce 'huabei.incident.resolved'"):
        verifier().verify(headers, value)


def test_an_unsigned_record_is_unauthenticated() -> None:
    rec = encode(factories.maintenance())
    assert rec.value is not None
    with pytest.raises(Unauthenticated, match="no signature") as err:
        verifier().verify(headers_dict(rec.headers), rec.value)
    assert err.value.reason.startswith("unauthenticated: ")


def test_a_key_not_among_the_accepted_ones_is_unauthenticated_even_under_a_role_name() -> None:
    impostor = Signer([SigningKey("incidents", KEYS["attacker"])])
    headers, value = signed(resolved_incident(), "incidents", impostor)
    with pytest.raises(Unauthenticated, match="not among the accepted keys"):
        verifier().verify(headers, value)


@pytest.mark.parametrize("header", ["ce_id", "ce_type", "ce_source", "ce_time", "ce_subject", "value"])
def test_changing_any_signed_part_breaks_the_signature(header: str) -> None:
    headers, value = signed(resolved_incident(), "incidents")
    if header == "value":
        value = re.sub(rb'"revision": ?51', b'"revision": 99', value)
        assert b"99" in value
    elif header == "ce_type":
        headers[header] = b"huabei.incident.updated"
    else:
        headers[header] = headers[header] + b"x"
    with pytest.raises(Unauthenticated):
        verifier().verify(headers, value)


def _v1_signed(event: Event[EventData], principal: str) -> tuple[dict[str, bytes], bytes]:
    """``event`` signed as an outside producer following docs/subscribing.md's v1 recipe (the
    signature over the value itself, no ``ce_sigdigest``), written out here rather than by
    :class:`Signer`, which signs v2."""
    rec = encode(event)
    assert rec.value is not None
    headers = headers_dict(rec.headers)
    headers |= {"ce_signer": principal.encode(), "ce_keyid": key_id(KEYS[principal].verify_key).encode()}
    parts = [b"huabei-watch event signature v1", headers["ce_signer"], headers["ce_keyid"]]
    parts += [headers.get(n, b"") for n in ("ce_id", "ce_type", "ce_source", "ce_time", "ce_subject")] + [rec.value]
    message = b"".join(len(p).to_bytes(4, "big") + p for p in parts)
    headers["ce_signature"] = base64.b64encode(KEYS[principal].sign(message).signature)
    return headers, rec.value


def test_records_are_signed_over_the_sha256_of_the_value_v2() -> None:
    """What :class:`Signer` writes: ``ce_sigdigest: sha256`` and an Ed25519 signature over the v2
    domain, the headers and the value's SHA-256 -- checked here without our Verifier."""
    headers, value = signed(resolved_incident(), "incidents")
    assert headers["ce_sigdigest"] == b"sha256"
    parts = [b"huabei-watch event signature v2", headers["ce_signer"], headers["ce_keyid"]]
    parts += [headers.get(n, b"") for n in ("ce_id", "ce_type", "ce_source", "ce_time", "ce_subject", "huabei_fence")]
    parts.append(hashlib.sha256(value).digest())
    message = b"".join(len(p).to_bytes(4, "big") + p for p in parts)
    KEYS["incidents"].verify_key.verify(message, base64.b64decode(headers["ce_signature"]))  # raises if not
    assert verifier().verify(headers, value) == "incidents"


def test_a_v1_signature_over_the_whole_value_is_still_accepted_and_still_covers_the_value() -> None:
    headers, value = _v1_signed(resolved_incident(), "incidents")
    assert verifier().verify(headers, value) == "incidents"
    with pytest.raises(Unauthenticated, match="does not match"):
        verifier().verify(headers, value.replace(b"51", b"52"))


@pytest.mark.parametrize("change", ["one-byte-of-the-value", "value-appended", "digest-header-removed",
                                    "digest-header-added-to-v1", "unknown-digest"])
def test_a_forged_or_altered_record_is_refused_whichever_signature_version_it_claims(change: str) -> None:
    """Changing the value breaks a v2 signature as it breaks a v1 one, and a signature of one
    version never passes as the other (their domain strings differ)."""
    headers, value = signed(resolved_incident(), "incidents")
    if change == "one-byte-of-the-value":
        value = value.replace(b"51", b"52", 1)
    elif change == "value-appended":
        value = value + b" "
    elif change == "digest-header-removed":
        del headers["ce_sigdigest"]
    elif change == "digest-header-added-to-v1":
        headers, value = _v1_signed(resolved_incident(), "incidents")
        headers["ce_sigdigest"] = b"sha256"
    else:
        headers["ce_sigdigest"] = b"md5"
    with pytest.raises(Unauthenticated, match="does not match" if change != "unknown-digest" else "unknown signature digest"):
        verifier().verify(headers, value)


def _fenced(fence: bytes) -> tuple[dict[str, bytes], bytes]:
    rec = encode(resolved_incident())
    assert rec.value is not None
    headers = signer("incidents").sign("incidents", (*rec.headers, ("huabei_fence", fence)), rec.value)
    return headers_dict(headers), rec.value


@pytest.mark.parametrize("change", ["removed", "lowered", "raised", "added"])
def test_the_fencing_header_is_covered_by_a_v2_signature(change: str) -> None:
    """Whoever can write to a topic cannot take a superseded leader's fence off its record (so it
    would be acted on), nor put a stale fence on a current leader's record (so it is refused)."""
    headers, value = _fenced(b"incidents:7")
    assert verifier().verify(headers, value) == "incidents"
    if change == "removed":
        del headers["huabei_fence"]
    elif change == "lowered":
        headers["huabei_fence"] = b"incidents:6"
    elif change == "raised":
        headers["huabei_fence"] = b"incidents:8"
    else:
        headers, value = signed(resolved_incident(), "incidents")
        assert "huabei_fence" not in headers and verifier().verify(headers, value) == "incidents"
        headers["huabei_fence"] = b"incidents:1"
    with pytest.raises(Unauthenticated, match="does not match"):
        verifier().verify(headers, value)


def test_re_signing_replaces_the_digest_header_too() -> None:
    headers, value = signed(resolved_incident(), "incidents")
    again = signer("incidents").sign("incidents", list(headers.items()), value)
    assert [k for k, _ in again].count("ce_sigdigest") == 1
    assert verifier().verify(headers_dict(again), value) == "incidents"


def test_a_forged_source_on_a_maintenance_signal_does_not_help_it() -> None:
    rec = encode(factories.maintenance())
    assert rec.value is not None
    headers = headers_dict(rec.headers)
    headers["ce_source"] = b"attacker"
    with pytest.raises(Unauthenticated):
        verifier().verify(headers, rec.value)
    assert decode(rec.key, rec.value, rec.headers).type == MAINTENANCE_SCHEDULED  # well-formed, just not authentic


def test_rotation_accepts_the_old_and_the_new_key_of_a_role() -> None:
    new = PrivateKey.generate()
    keys = {"watcher": [KEYS["watcher"], new], "incidents": [KEYS["incidents"]]}
    v = verifier(keys)
    for key in (KEYS["watcher"], new):
        headers, value = signed(factories.maintenance(), "watcher", Signer([SigningKey("watcher", key)]))
        assert v.verify(headers, value) == "watcher"


def test_keys_and_signatures_match_those_cryptography_makes_from_the_same_seed() -> None:
    """Key files and configured keys written before signing moved to libsodium keep working, and a
    process still signing with OpenSSL is verified: the same seed gives the same key and signature."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    from huabei_watch.events.auth import private_key_from_text, private_key_text, public_key_text

    theirs = Ed25519PrivateKey.generate()
    seed_text = base64.b64encode(theirs.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()
    ours = private_key_from_text(seed_text)
    assert private_key_text(ours) == seed_text
    assert public_key_text(ours.verify_key) == base64.b64encode(
        theirs.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    rec = encode(factories.maintenance())
    assert rec.value is not None
    headers = headers_dict(Signer([SigningKey("watcher", ours)]).sign("watcher", rec.headers, rec.value))
    signature = base64.b64decode(headers["ce_signature"])
    message = signed_bytes(headers, rec.value)
    assert signature == theirs.sign(message)
    Ed25519PublicKey.from_public_bytes(bytes(ours.verify_key)).verify(signature, message)  # raises if not


def test_an_outside_producer_may_send_payment_results_and_nothing_else() -> None:
    from huabei_watch.events import PAYMENT_RESULTS, PaymentResult, PaymentResultBatch

    batch = PaymentResultBatch(merchant_id="m1", results=(PaymentResult(merchant_id="m1", at=factories.T0, success=True),))
    v = Verifier({"platform": [KEYS["attacker"].verify_key]}, producers(["platform"]))
    outside = Signer([SigningKey("platform", KEYS["attacker"])])
    headers, value = signed(Event.build(PAYMENT_RESULTS, batch, time=factories.T0), "platform", outside)
    assert v.verify(headers, value) == "platform"
    headers, value = signed(factories.maintenance(), "platform", outside)
    with pytest.raises(Unauthenticated, match="may not produce"):
        v.verify(headers, value)


# -- bounds -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "deep"),
    [
        (b"[" * 200_000, True),
        (b"[" * 33 + b"]" * 33, True),
        (b"[" * 32 + b"]" * 32, False),
        (b'{"a": "' + b"[" * 5000 + b'"}', False),  # brackets inside a string do not nest
        (b'{"a": "\\"' + b"[" * 5000 + b'"}', False),  # nor after an escaped quote
        (b'{"a": [' * 40 + b"1" + b"]}" * 40, True),
        (b'"unterminated [' + b"[" * 100, True),  # not JSON: over the bound either way
    ],
)
def test_depth_is_measured_outside_strings_without_recursion(raw: bytes, deep: bool) -> None:
    assert depth_exceeds(raw, 32) is deep


@pytest.mark.parametrize("raw", [b"[" * 200_000, b"{" * 100_000, b'{"a":' * 50_000, b"\xff\xfe", b"", b"[1,"])
def test_parse_json_refuses_bombs_and_garbage_with_invalid_input_only(raw: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_json(raw)


def test_a_record_over_its_types_size_bound_is_refused_before_parsing() -> None:
    with pytest.raises(InvalidInput, match="allows at most"):
        check_bounds(b"huabei.incident.resolved", b"[" * (300 * 1024))
    check_bounds(b"huabei.payments.results", b"{}" + b" " * (700 * 1024))  # payment results may be larger


def test_decode_of_a_nesting_bomb_with_valid_headers_is_invalid_input() -> None:
    rec = encode(factories.maintenance())
    with pytest.raises(InvalidInput, match="deeper than 32"):
        decode(rec.key, b"[" * 200_000, rec.headers)
