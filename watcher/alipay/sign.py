"""Alipay open-API (v2 gateway) RSA2 signing and response verification. Pure: no I/O.

Request signing, as the open platform documents it: take every request parameter except ``sign``
whose value is not empty, sort by key (byte order), join as ``key=value`` with ``&`` (values raw,
not URL-encoded), sign the UTF-8 bytes with SHA256withRSA (PKCS#1 v1.5) and base64 the result.

Response verification: the gateway answers ``{"<method_with_underscores>_response": {...},
"sign": "..."}``; the signature covers the *exact characters* of the response node as sent, so the
node is cut out of the raw body by position (never re-serialised) and the dict returned is parsed
from that same substring.

RSA comes from ``cryptography``; nothing here is hand-written crypto. Keys are accepted as PEM
(PKCS#1 or PKCS#8 / SubjectPublicKeyInfo) or as the bare base64 the Alipay console and key tool
hand out. No error message or repr carries key material.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from huabei_watch.errors import PermanentError

#: Response codes the gateway may answer without a signature (request-level rejections such as
#: ``40002 isv.invalid-signature``). Success (10000) and business failures (40004) are signed.
SIGNED_CODES: frozenset[str] = frozenset({"10000", "40004"})
ERROR_NODE = "error_response"

KeyRole = Literal["merchant_private_key", "alipay_public_key"]


class KeyInvalid(PermanentError):
    """A configured key cannot be loaded (not PEM/base64 DER, not RSA, or the wrong kind).

    ``role`` says which: our merchant application private key, or the Alipay platform public key.
    Retrying cannot help; fix the configuration. The message never contains key material.
    """

    def __init__(self, role: KeyRole, problem: str) -> None:
        super().__init__(f"{role} cannot be loaded: {problem}")
        self.role: KeyRole = role


class SignatureInvalid(PermanentError):
    """The response signature does not verify with the configured Alipay public key.

    Either the configured platform key is wrong (e.g. the app public key was pasted instead of the
    Alipay public key) or the response was altered on the way. Its content must not be trusted.
    """


class ResponseTampered(SignatureInvalid):
    """The response is structurally inconsistent in a way only alteration explains.

    E.g. two response nodes (one signed, one not), or a success/business answer whose signature
    was stripped.
    """


class ResponseMalformed(PermanentError):
    """The body is not an Alipay gateway answer (not JSON, no response node)."""


def canonical_string(params: Mapping[str, str | None]) -> str:
    """The string to sign: non-empty params except ``sign``, sorted by key, ``k=v`` joined by ``&``.

    Values are taken verbatim (no URL encoding, no trimming). ``sign_type`` is included, as the
    open-API gateway requires for requests.
    """
    items = sorted((k, v) for k, v in params.items() if k != "sign" and v is not None and v != "")
    return "&".join(f"{k}={v}" for k, v in items)


def _der_from_text(text: str) -> bytes | None:
    """Bare base64 (whitespace allowed) to DER bytes; None if it is not base64."""
    compact = "".join(text.split())
    if not compact:
        return None
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """Load our application private key (PEM PKCS#1/PKCS#8, or bare base64 DER). Raises KeyInvalid."""
    role: KeyRole = "merchant_private_key"
    stripped = text.strip()
    if not stripped:
        raise KeyInvalid(role, "empty")
    try:
        if stripped.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(stripped.encode("ascii"), password=None)
        else:
            der = _der_from_text(stripped)
            if der is None:
                raise KeyInvalid(role, "neither PEM nor base64")
            key = serialization.load_der_private_key(der, password=None)
    except KeyInvalid:
        raise
    except (ValueError, TypeError, UnsupportedAlgorithm, UnicodeError):
        # The library's message could quote the input; say only what kind of problem it is.
        raise KeyInvalid(role, "not a readable unencrypted private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyInvalid(role, "not an RSA key")
    return key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """Load the Alipay platform public key (PEM, or bare base64 SubjectPublicKeyInfo). Raises KeyInvalid."""
    role: KeyRole = "alipay_public_key"
    stripped = text.strip()
    if not stripped:
        raise KeyInvalid(role, "empty")
    try:
        if stripped.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(stripped.encode("ascii"))
        else:
            der = _der_from_text(stripped)
            if der is None:
                raise KeyInvalid(role, "neither PEM nor base64")
            key = serialization.load_der_public_key(der)
    except KeyInvalid:
        raise
    except (ValueError, TypeError, UnsupportedAlgorithm, UnicodeError):
        raise KeyInvalid(role, "not a readable public key (a private key or certificate given?)") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyInvalid(role, "not an RSA key")
    return key


def sign_content(content: str, private_key: str | rsa.RSAPrivateKey) -> str:
    """Base64 SHA256withRSA (PKCS#1 v1.5) signature of ``content``'s UTF-8 bytes."""
    key = load_private_key(private_key) if isinstance(private_key, str) else private_key
    signature = key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def sign_rsa2(params: Mapping[str, str | None], private_key_pem: str | rsa.RSAPrivateKey) -> str:
    """The ``sign`` value for a request with ``params`` (sign_type=RSA2). Raises KeyInvalid."""
    return sign_content(canonical_string(params), private_key_pem)


def verify_content(content: str, signature_b64: str, public_key: str | rsa.RSAPublicKey) -> bool:
    """True when ``signature_b64`` is a valid RSA2 signature of ``content``. Never raises on bad input
    (a non-base64 signature is simply invalid); raises KeyInvalid for an unloadable key."""
    key = load_public_key(public_key) if isinstance(public_key, str) else public_key
    try:
        signature = base64.b64decode("".join(signature_b64.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        key.verify(signature, content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True, slots=True)
class ResponseNode:
    """One response node cut out of a raw gateway body.

    ``raw`` is the exact substring the signature covers; ``node`` is parsed from it.
    """

    key: str
    raw: str
    node: Mapping[str, Any]
    sign: str | None


def _skip_ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t\r\n":
        i += 1
    return i


def _top_level_members(body: str) -> list[tuple[str, int, int, Any]]:
    """(key, start, end, value) of each member of the top-level object, positions into ``body``.

    Raises ResponseMalformed when ``body`` is not one JSON object.
    """
    decoder = json.JSONDecoder()
    members: list[tuple[str, int, int, Any]] = []
    try:
        i = _skip_ws(body, 0)
        if i >= len(body) or body[i] != "{":
            raise ResponseMalformed("body is not a JSON object")
        i = _skip_ws(body, i + 1)
        if i < len(body) and body[i] == "}":
            return members
        while True:
            if i >= len(body) or body[i] != '"':
                raise ResponseMalformed("body is not a JSON object")
            key, i = json.decoder.scanstring(body, i + 1)  # type: ignore[attr-defined]
            i = _skip_ws(body, i)
            if i >= len(body) or body[i] != ":":
                raise ResponseMalformed("body is not a JSON object")
            start = _skip_ws(body, i + 1)
            value, end = decoder.raw_decode(body, start)
            members.append((key, start, end, value))
            i = _skip_ws(body, end)
            if i < len(body) and body[i] == ",":
                i = _skip_ws(body, i + 1)
                continue
            if i < len(body) and body[i] == "}":
                break
            raise ResponseMalformed("body is not a JSON object")
        if _skip_ws(body, i + 1) != len(body):
            raise ResponseMalformed("trailing data after the JSON object")
    except json.JSONDecodeError:
        raise ResponseMalformed("body is not valid JSON") from None
    return members


def response_key(method: str) -> str:
    """``alipay.trade.precreate`` -> ``alipay_trade_precreate_response``."""
    return method.replace(".", "_") + "_response"


def extract_response_node(raw_body: str, method: str) -> ResponseNode:
    """Cut the response node for ``method`` (or ``error_response``) out of ``raw_body`` by position.

    Raises ResponseMalformed (no JSON object, no node, node not an object) or ResponseTampered
    (the node or the sign appears twice: what is verified would differ from what is read).
    """
    wanted = response_key(method)
    members = _top_level_members(raw_body)
    names = [m[0] for m in members]
    for name in (wanted, ERROR_NODE, "sign"):
        if names.count(name) > 1:
            raise ResponseTampered(f"{name!r} appears {names.count(name)} times in the response")
    found = [m for m in members if m[0] == wanted] or [m for m in members if m[0] == ERROR_NODE]
    if not found:
        raise ResponseMalformed(f"no {wanted!r} node in the response")
    key, start, end, value = found[0]
    if not isinstance(value, dict):
        raise ResponseMalformed(f"{key!r} is not an object")
    signs = [m[3] for m in members if m[0] == "sign"]
    sign = signs[0] if signs else None
    if sign is not None and not isinstance(sign, str):
        raise ResponseMalformed("'sign' is not a string")
    return ResponseNode(key=key, raw=raw_body[start:end], node=value, sign=sign or None)


@dataclass(frozen=True, slots=True)
class OpenedResponse:
    """A response node that passed the signature policy. ``signed`` is False only for the
    request-level rejections the gateway sends unsigned (see :data:`SIGNED_CODES`)."""

    key: str
    node: Mapping[str, Any]
    signed: bool


def open_response(raw_body: str, method: str, public_key: str | rsa.RSAPublicKey) -> OpenedResponse:
    """Extract and verify a gateway response.

    Policy: a present signature must verify over the exact node substring (one retry with ``\\/``
    unescaped to ``/``, as Alipay's own SDKs do) else SignatureInvalid; an absent signature is
    accepted only on a node whose code is not 10000/40004, else ResponseTampered.
    Raises KeyInvalid, SignatureInvalid, ResponseTampered, ResponseMalformed.
    """
    key = load_public_key(public_key) if isinstance(public_key, str) else public_key
    found = extract_response_node(raw_body, method)
    code = str(found.node.get("code", ""))
    if found.sign is None:
        if code in SIGNED_CODES or not code:
            raise ResponseTampered(f"unsigned response with code {code or '(none)'}; Alipay signs these")
        return OpenedResponse(key=found.key, node=found.node, signed=False)
    if verify_content(found.raw, found.sign, key):
        return OpenedResponse(key=found.key, node=found.node, signed=True)
    if "\\/" in found.raw and verify_content(found.raw.replace("\\/", "/"), found.sign, key):
        return OpenedResponse(key=found.key, node=found.node, signed=True)
    raise SignatureInvalid("response signature does not verify with the configured Alipay public key")


def verify_response(raw_body: str, method: str, public_key_pem: str | rsa.RSAPublicKey) -> dict[str, Any]:
    """Verify ``raw_body`` (see :func:`open_response`) and return the response node as a dict.

    The dict is parsed from the very substring that was verified.
    """
    return dict(open_response(raw_body, method, public_key_pem).node)
