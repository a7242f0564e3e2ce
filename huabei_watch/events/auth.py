"""Authentic events: Ed25519 signatures per producing principal, and who may produce what.

Every record huabei-watch publishes carries three CloudEvents extension attributes (binary mode,
so ``ce_``-prefixed Kafka headers):

* ``signer``: the principal that signed it (a role name, ``watcher``, ``incidents``, ``cashier``,
  ``notify``, or a configured outside producer);
* ``keyid``: which of the signer's keys (first 16 hex digits of SHA-256 of the raw public key);
* ``signature``: base64 (standard alphabet, padded) of the Ed25519 signature over
  :func:`signed_bytes`: the signer, the key id, the ``id``, ``type``, ``source``, ``time`` and
  ``subject`` headers exactly as sent, and the record value (the JSON data), each length-prefixed;
* ``sigdigest`` (signature v2, what :class:`Signer` writes): ``sha256``, when the signature covers
  the SHA-256 digest of the value instead of the value itself (the same parts otherwise, under its
  own domain string). Ed25519 hashes what it signs twice with SHA-512; over a 60 KB batch that was
  the largest cost of signing (12 ms per 10,000 payment results against 2.5 ms for the digest and a
  signature over 250 bytes; bench/README.md, round ``pay9``). Without the header (signature v1,
  what outside producers may still write) the signature covers the value itself. The domain strings
  differ, so a signature of one version never checks as the other, and a consumer accepts either.
  Signature v2 also covers the fencing header ``huabei_fence`` (empty when absent), so whoever
  can write to a topic cannot take a superseded leader's fence off its record, or put a stale
  one on a current leader's record to have it refused.

A consumer accepts a record only when its ``type`` may be produced by the signer
(:meth:`Verifier.verify`) and the signature checks with one of the signer's accepted public keys
(several per principal: key rotation). Verification works on the raw headers and bytes, before
any JSON is parsed, so an unauthenticated record is never decoded.

Ed25519, not HMAC: a consumer holds only public keys, so a process that may verify incidents
cannot forge one. Keys are made, read, used for signing and checked with libsodium (PyNaCl), which
takes about half the CPU time of OpenSSL for a check (75 vs 140-200 us here), the largest part of a
consumer's cost per record, and refuses small-order keys and non-canonical encodings. Not
``cryptography``: its bindings add about 7 MB to every process's RSS, and a daemon needs it only
for Alipay's RSA and TLS certificates (loaded when those are configured). RFC 8032 signatures are
deterministic: a key's 32-byte seed signs the same bytes identically in either library.
Pure: no I/O (key files are :mod:`huabei_watch.bus.keys`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import nacl.signing
from nacl.exceptions import BadSignatureError

from huabei_watch.errors import PermanentError

SIGNER_HEADER = "ce_signer"
KEYID_HEADER = "ce_keyid"
SIGNATURE_HEADER = "ce_signature"
#: Signature v2: the signature covers the value's digest, named by this header (``sha256``).
DIGEST_HEADER = "ce_sigdigest"
DIGEST_SHA256 = b"sha256"
AUTH_HEADERS = (SIGNER_HEADER, KEYID_HEADER, SIGNATURE_HEADER, DIGEST_HEADER)
_SIGNED_HEADERS: tuple[str, ...] = ("ce_id", "ce_type", "ce_source", "ce_time", "ce_subject")
#: Header naming the lease and fencing token of the process that published a record
#: (:mod:`huabei_watch.lease`, stamped by ``huabei_watch.bus.kafka``): ``<lease name>:<token>``.
#: Signature v2 covers it.
FENCE_HEADER = "huabei_fence"
_SIGNED_HEADERS_V2 = (*_SIGNED_HEADERS, FENCE_HEADER)
_DOMAIN = b"huabei-watch event signature v1"
_DOMAIN_DIGEST = b"huabei-watch event signature v2"

#: An Ed25519 private key (its 32-byte seed is ``bytes(key)``); ``key.verify_key`` is its public half.
PrivateKey = nacl.signing.SigningKey
#: An Ed25519 public key (32 raw bytes: ``bytes(key)``).
PublicKey = nacl.signing.VerifyKey


class Unauthenticated(PermanentError):
    """A record that is unsigned, signed by an unknown key, badly signed, or signed by a principal
    that may not produce its type. Dead-lettered with reason ``unauthenticated: ...``; changes nothing."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"unauthenticated: {detail}")
        self.detail = detail


class KeyFormatError(ValueError):
    """A key in the configuration or a key file is not what it should be (the message says which)."""


def key_id(public: PublicKey) -> str:
    return hashlib.sha256(bytes(public)).hexdigest()[:16]


def private_key_from_text(text: str) -> PrivateKey:
    """A private key written as base64 of its 32-byte seed (what ``huabei-watch keys generate`` prints)."""
    raw = _b64(text, "private key")
    if len(raw) != 32:
        raise KeyFormatError(f"an Ed25519 private key is 32 bytes; this one decodes to {len(raw)}")
    return PrivateKey(raw)


def public_key_from_text(text: str) -> PublicKey:
    """A public key written as base64 of its 32 raw bytes."""
    raw = _b64(text, "public key")
    if len(raw) != 32:
        raise KeyFormatError(f"an Ed25519 public key is 32 bytes; this one decodes to {len(raw)}")
    return PublicKey(raw)


def private_key_text(key: PrivateKey) -> str:
    """The 32-byte seed in base64 (what :func:`private_key_from_text` reads)."""
    return base64.b64encode(bytes(key)).decode()


def public_key_text(key: PublicKey) -> str:
    return base64.b64encode(bytes(key)).decode()


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError(f"the {what} is not base64 (give the text `huabei-watch keys generate` prints)") from None


def signed_bytes(headers: Mapping[str, bytes], value: bytes, *, value_sha256: bytes | None = None) -> bytes:
    """What the signature covers: a domain string, the signer and key id, the CloudEvents id,
    type, source, time and subject headers as sent (absent = empty), and the value -- or, with
    ``sigdigest: sha256`` (v2), the same headers and the fencing header, and the value's SHA-256
    digest, under the v2 domain; each prefixed by its length. ``value_sha256``: that digest when the signer's caller made it already (never
    passed by a verifier, which hashes what it received). Raises :class:`Unauthenticated` for a
    digest it does not know."""
    digest = headers.get(DIGEST_HEADER)
    if digest is None:
        domain, last, signed = _DOMAIN, value, _SIGNED_HEADERS
    elif digest == DIGEST_SHA256:
        domain, last, signed = _DOMAIN_DIGEST, value_sha256 or hashlib.sha256(value).digest(), _SIGNED_HEADERS_V2
    else:
        raise Unauthenticated(f"unknown signature digest {digest[:32]!r} (only {DIGEST_SHA256.decode()})")
    parts = [domain, headers.get(SIGNER_HEADER, b""), headers.get(KEYID_HEADER, b"")]
    parts += [headers.get(name, b"") for name in signed]
    parts.append(last)
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


@dataclass(frozen=True, slots=True)
class SigningKey:
    principal: str
    key: PrivateKey

    @property
    def key_id(self) -> str:
        return key_id(self.key.verify_key)


class Signer:
    """Signs records for the principals whose private keys this process holds."""

    def __init__(self, keys: Iterable[SigningKey]) -> None:
        self._keys = {k.principal: k for k in keys}
        #: principal -> its key id as sent, worked out once (it hashes the public key).
        self._key_ids = {k.principal: k.key_id.encode() for k in self._keys.values()}

    @property
    def principals(self) -> frozenset[str]:
        return frozenset(self._keys)

    def holds(self, principal: str) -> bool:
        return principal in self._keys

    def sign(
        self, principal: str, headers: Sequence[tuple[str, bytes]], value: bytes, *, value_sha256: bytes | None = None
    ) -> tuple[tuple[str, bytes], ...]:
        """The headers with this principal's signature attributes (any old ones replaced), signed
        over the value's SHA-256 digest (v2, ``sigdigest: sha256``); ``value_sha256`` is that
        digest when the caller made it already (a payment batch's event id hashes the same bytes).
        Raises :class:`PermanentError` when this process holds no key of ``principal``."""
        sk = self._keys.get(principal)
        if sk is None:
            raise PermanentError(
                f"this process holds no signing key of {principal!r}: run that role here or configure "
                f"security.principals.{principal}.private_key"
            )
        out = [(k, v) for k, v in headers if k not in AUTH_HEADERS]
        out += [(SIGNER_HEADER, principal.encode()), (KEYID_HEADER, self._key_ids[principal]),
                (DIGEST_HEADER, DIGEST_SHA256)]
        signature = sk.key.sign(signed_bytes(dict(out), value, value_sha256=value_sha256)).signature
        out.append((SIGNATURE_HEADER, base64.b64encode(signature)))
        return tuple(out)


class Verifier:
    """Checks who signed a record and whether that principal may produce its type.

    ``public_keys``: principal -> accepted public keys (old and new during a rotation).
    ``producers``: event type -> principals allowed to produce it. A type not listed is refused.
    """

    def __init__(
        self, public_keys: Mapping[str, Iterable[PublicKey]], producers: Mapping[str, Iterable[str]]
    ) -> None:
        self._keys = {p: {key_id(k): k for k in keys} for p, keys in public_keys.items()}
        self._producers = {t: frozenset(ps) for t, ps in producers.items()}

    def verify(self, headers: Mapping[str, bytes], value: bytes) -> str:
        """The signer's name, or raise :class:`Unauthenticated` saying what is wrong."""
        signer = headers.get(SIGNER_HEADER)
        signature = headers.get(SIGNATURE_HEADER)
        if signer is None or signature is None:
            raise Unauthenticated("the record carries no signature (ce_signer/ce_signature headers)")
        name = signer.decode("ascii", "replace")[:64]
        etype = headers.get("ce_type", b"").decode("ascii", "replace")[:200]
        allowed = self._producers.get(etype)
        if allowed is None:
            raise Unauthenticated(f"no principal may produce event type {etype!r}")
        if name not in allowed:
            raise Unauthenticated(f"{name!r} may not produce {etype!r} (only {', '.join(sorted(allowed))})")
        keys = self._keys.get(name, {})
        kid = headers.get(KEYID_HEADER, b"").decode("ascii", "replace")[:64]
        key = keys.get(kid)
        if key is None:
            raise Unauthenticated(f"key {kid!r} of {name!r} is not among the accepted keys")
        message = signed_bytes(headers, value)
        try:
            raw = base64.b64decode(signature, validate=True)
            key.verify(message, raw)
        except (binascii.Error, ValueError, BadSignatureError):
            raise Unauthenticated(f"the signature of {name!r} does not match the record") from None
        return name
