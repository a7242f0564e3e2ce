"""Signing and response verification (watcher.alipay.sign)."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from huabei_watch.errors import PermanentError
from tests.alipay.support import KeyPair
from tests.fakes.alipay_gateway import envelope
from watcher.alipay.sign import (
    KeyInvalid,
    ResponseMalformed,
    ResponseTampered,
    SignatureInvalid,
    canonical_string,
    extract_response_node,
    load_private_key,
    load_public_key,
    open_response,
    sign_rsa2,
    verify_response,
)

# Known-answer vector: key generated with `openssl genrsa -traditional 2048` (PKCS#1 PEM, test only),
# signature computed with `openssl dgst -sha256 -sign k.pem c.txt | base64` over KAT_CANONICAL.
KAT_PRIVATE_KEY = """-----BEGIN RSA PRIVATE KEY-----
MIIEpQIBAAKCAQEAwZASvsA7Ihhj8JWcYQqtGIsTy5Fj7qUkvfNDjzKIJ7wvvKKo
auRcKi/YPnsxnAINLu9gL48qn4G8akzg8UhDI4cu9vRRnxNzHdqnA/BfJkl0Rl4B
FOP/JirfSHWHzxF+Knu3SZIGBi1Mj8DA3V1IJ/vOgn3sPfhPqTXeGQsoahQx83ee
1P8FyqB3i57cfUq1yiW8XxIcL6sW8DT9vz/fxmN8RPSESMrtSA+7IC2JzaKIPYly
HQVjW+BpANdZfdxtF/to1/SOCnFzv35S32R9eRI7ETOKnBThnrIcZTv4Jl/peAMx
jJVabTwGNekGWbu9oOfGTJHLuS09RVqiG15yVQIDAQABAoIBACyqBJFMhTicXS9O
Lov77S49JV+zWFZgeAZ2xC+eTumwVGmYNPmZYSUA7kqYnb1sgcNDTDQdOo4c3y++
Nqemb4uarX0hqlXlJIqOgjx38lTA3VpBZcl+xMj3Wpd7O0/OLwk5i/Ung0lYmZKQ
PVC3Lie/xIq66NDx49vdSLcJqpUzVbyxl7A1GgS492s/rDH2vC6pwjmBOaRulP3v
RAHuRqVEDbViSLerxzU65z2gCIogktZBhl9NbAcm4Ug4mpcmXmSjxaWlAjV2bfDj
+gjUqmrtCiL3uBbbC1WX3qakGoq4dJgrzWRhhCpTVyCho4BTmd8ZYenR4u1tQHhB
07fy5JECgYEA8Fh088hUEUY7p0S/MOaC8MoC5kL9O73Wiu53r1OpCmkLHHq4wZVE
5OLkGFd/H8+eZS5TmXv1sT7DC8RBSFHKLbEG9xcJTygROjy68nJ9uVPVTbH/3nXa
ToXZ1/hX9USEtkYgmHSqTcKyKLhcPxzkV+0JKWyMoEzz17a3JD4q0p0CgYEAziuO
fYydx/BsOdA84QvvRP9+aZxqrzSn1xnZgpLKZWhnkV/WpTifkkTAKpMhz/Dgtv/v
TaZWhvHsZDN0iyVESY8figwalqRFiePVBptBqudU3OrWnbDyS6X5OzL9vUaL6RAs
iCUdi9F09Zr+DXLotjGgYjtLC8LlCSLmsqi9FRkCgYEA02GI4otS3Kp/dppw6Koj
iXCx4iASpgNNeH1JCAs1RbGjExYf/imxIPkoEPyLEshAD88RuZCbQprnYibmH5vH
jC4A6Tn6dwLPPAADj44AYwmHNUESv225ZYw1TsvdWBo9+i1tJ4ib664LkOKsRtm7
PlV71FHi0G09nH/XTOncMcUCgYEAgk37MBTIwE6PSHb5k08kudo1PnCy6OuBzSy0
UZePPkqfcr08/43rJNo5Dm+Rpkha7q6Rw+UGuSF8Q9RVq4AxScCgsXJ295D5tm39
/L/x4B93fm0ame31JaTQAf93acKFuRcU3jN/GhiXMIf2W++tb0GsWYmaI+PZOE4L
uw10/DkCgYEA5e8PvkLTNEk8iVFln6aVPCyaO5acke2N5Er7dk+hS53M+eLqUXS4
bEx8FD/oOM95Jz4gnUu/MS9ggd4H3z6ramN/LoJ+No2Q++hoQaIVUryOlblrXK05
MNycnH2h99SzJyjF99nbu0BNsDePVNVbi0mTKPM8uttPXmerFXuvqF8=
-----END RSA PRIVATE KEY-----"""
KAT_PARAMS = {
    "app_id": "2021000000000001",
    "method": "alipay.trade.precreate",
    "format": "JSON",
    "charset": "utf-8",
    "sign_type": "RSA2",
    "timestamp": "2026-11-26 17:30:00",
    "version": "1.0",
    "biz_content": '{"out_trade_no":"hbw_probe_m1_20261126173000000","total_amount":"0.01","subject":"花呗可用性检测"}',
    "notify_url": "",
    "sign": "ignored",
}
KAT_CANONICAL = (
    "app_id=2021000000000001"
    '&biz_content={"out_trade_no":"hbw_probe_m1_20261126173000000","total_amount":"0.01","subject":"花呗可用性检测"}'
    "&charset=utf-8&format=JSON&method=alipay.trade.precreate&sign_type=RSA2&timestamp=2026-11-26 17:30:00&version=1.0"
)
KAT_SIGNATURE = "APmLErMmiPT7tQFQ+gRMfdVq5O8cKEosdyd9XRV1jDr+KJjXDuH9qkCYiZhvCEftHFWMOx2q+S0M7gVhlS5ojqeHKuQFnLrPiezWeUiU7vGK0xlB5Teg7hPpY4MveTq+t2oMKeYcKFH3GJuTEtY2MMb00fGyuFnXmdRcKF+P/t3u+Hk3eyzzLp4LQVUH1bAusSNzEVa2IM60nNf4GwTSBwuhgBTjeFWxfcXJ8jCNrpB07csp+53r8sVZOx3TN+j0/zdQ+6YSdv1y706mGqj/wP278NdZnG2WN2VhOopJ+FdhH8I+rw6A62h1LSX89Z7H1QydoQrRdgsSkkwdLJLodg=="


def test_canonical_string_of_known_vector_sorts_and_drops_empty_and_sign() -> None:
    assert canonical_string(KAT_PARAMS) == KAT_CANONICAL


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ""),
        ({"b": "2", "a": "1"}, "a=1&b=2"),
        ({"sign": "x", "a": "1"}, "a=1"),
        ({"a": "", "b": None, "c": "3"}, "c=3"),
        ({"a": " spaced value ", "b": "x&y=z"}, "a= spaced value &b=x&y=z"),  # values verbatim, never encoded
        ({"B": "upper", "a": "lower", "_": "u"}, "B=upper&_=u&a=lower"),  # byte order: 'B' < '_' < 'a'
        ({"sign_type": "RSA2", "sign": "s"}, "sign_type=RSA2"),  # sign_type is signed for requests
        ({"k": "花呗"}, "k=花呗"),
    ],
)
def test_canonical_string_table(params: dict[str, str | None], expected: str) -> None:
    assert canonical_string(params) == expected


def test_sign_rsa2_matches_openssl_known_answer() -> None:
    assert sign_rsa2(KAT_PARAMS, KAT_PRIVATE_KEY) == KAT_SIGNATURE


def test_sign_rsa2_matches_cryptography_computed_independently(merchant_keys: KeyPair) -> None:
    expected = base64.b64encode(
        merchant_keys.key.sign(KAT_CANONICAL.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    assert sign_rsa2(KAT_PARAMS, merchant_keys.private_pem) == expected


def _bare(pem: str) -> str:
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


def test_private_key_accepted_as_pkcs1_pem_pkcs8_pem_and_bare_base64(merchant_keys: KeyPair) -> None:
    pkcs1 = merchant_keys.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    forms = [pkcs1, merchant_keys.private_pem, _bare(pkcs1), _bare(merchant_keys.private_pem)]
    signatures = {sign_rsa2({"a": "1"}, form) for form in forms}
    assert len(signatures) == 1


def test_public_key_accepted_as_pem_and_bare_base64(merchant_keys: KeyPair) -> None:
    n = merchant_keys.key.public_key().public_numbers().n
    assert load_public_key(merchant_keys.public_pem).public_numbers().n == n
    assert load_public_key(_bare(merchant_keys.public_pem)).public_numbers().n == n


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a key at all",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END RSA PRIVATE KEY-----",
        base64.b64encode(b"0123456789abcdef" * 8).decode(),
    ],
)
def test_unloadable_private_key_raises_key_invalid_without_key_material(text: str) -> None:
    with pytest.raises(KeyInvalid) as info:
        load_private_key(text)
    assert isinstance(info.value, PermanentError)
    assert info.value.role == "merchant_private_key"
    for fragment in ("MIIBOgIBAAJBAKj34GkxFhD9", "0123456789abcdef", "MDEyMzQ1"):
        assert fragment not in str(info.value) and fragment not in repr(info.value)


def test_public_key_given_where_private_key_expected_is_key_invalid(merchant_keys: KeyPair) -> None:
    with pytest.raises(KeyInvalid):
        load_private_key(merchant_keys.public_pem)


def test_private_key_given_where_alipay_public_key_expected_is_key_invalid(merchant_keys: KeyPair) -> None:
    with pytest.raises(KeyInvalid) as info:
        load_public_key(merchant_keys.private_pem)
    assert info.value.role == "alipay_public_key"
    assert _bare(merchant_keys.private_pem)[30:60] not in str(info.value)


def _signed(platform: KeyPair, key: str, node_json: str, *, spacer: str = "") -> str:
    sig = base64.b64encode(platform.key.sign(node_json.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())).decode()
    return "{" + spacer + '"' + key + '"' + spacer + ":" + spacer + node_json + "," + spacer + '"sign":"' + sig + '"}'


KEY = "alipay_trade_precreate_response"
METHOD = "alipay.trade.precreate"


def test_verify_response_uses_exact_raw_node_including_spacing_and_unicode(platform_keys: KeyPair) -> None:
    node = '{ "code" : "10000", "msg":"Success",\n "out_trade_no":"o1","qr_code":"https:\\/\\/qr.alipay.com\\/x","s":"花呗"}'
    body = _signed(platform_keys, KEY, node, spacer="\n  ")
    parsed = verify_response(body, METHOD, platform_keys.public_pem)
    assert parsed["qr_code"] == "https://qr.alipay.com/x"
    assert parsed["s"] == "花呗"
    # Re-serialising would have changed the bytes, and the signature would not hold:
    reserialised = json.dumps(json.loads(node), ensure_ascii=False)
    assert reserialised != node


def test_verify_response_accepts_slash_unescaped_signature_like_alipay_sdks(platform_keys: KeyPair) -> None:
    escaped = '{"code":"10000","msg":"Success","qr_code":"https:\\/\\/qr.alipay.com\\/y"}'
    signed_over = escaped.replace("\\/", "/")
    sig = base64.b64encode(platform_keys.key.sign(signed_over.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
    body = envelope(KEY, escaped, sig)
    assert verify_response(body, METHOD, platform_keys.public_pem)["qr_code"] == "https://qr.alipay.com/y"


def test_verify_response_with_wrong_platform_key_is_signature_invalid(platform_keys: KeyPair, other_keys: KeyPair) -> None:
    body = _signed(platform_keys, KEY, '{"code":"10000","msg":"Success"}')
    with pytest.raises(SignatureInvalid) as info:
        verify_response(body, METHOD, other_keys.public_pem)
    assert not isinstance(info.value, ResponseTampered)


def test_altered_node_is_signature_invalid(platform_keys: KeyPair) -> None:
    body = _signed(platform_keys, KEY, '{"code":"10000","msg":"Success"}').replace("10000", "40004")
    with pytest.raises(SignatureInvalid):
        verify_response(body, METHOD, platform_keys.public_pem)


def test_second_response_node_after_signed_one_is_tampered(platform_keys: KeyPair) -> None:
    body = _signed(platform_keys, KEY, '{"code":"10000","msg":"Success"}')
    body = body[:-1] + "," + envelope(KEY, '{"code":"40004","sub_code":"ACQ.SELLER_BEEN_BLOCKED"}')[1:]
    with pytest.raises(ResponseTampered):
        verify_response(body, METHOD, platform_keys.public_pem)


@pytest.mark.parametrize("code", ["10000", "40004", ""])
def test_unsigned_success_or_business_failure_is_tampered(platform_keys: KeyPair, code: str) -> None:
    body = envelope(KEY, '{"code":"' + code + '","msg":"x","sub_code":"ACQ.SELLER_BEEN_BLOCKED"}')
    with pytest.raises(ResponseTampered):
        verify_response(body, METHOD, platform_keys.public_pem)


def test_unsigned_request_rejection_is_accepted_as_unsigned(platform_keys: KeyPair) -> None:
    body = envelope(KEY, '{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}')
    opened = open_response(body, METHOD, platform_keys.public_pem)
    assert opened.signed is False
    assert opened.node["sub_code"] == "isv.invalid-signature"


def test_error_response_node_is_used_when_method_node_is_absent(platform_keys: KeyPair) -> None:
    body = '{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-method"}}'
    found = extract_response_node(body, METHOD)
    assert found.key == "error_response"
    assert found.node["sub_code"] == "isv.invalid-method"


@pytest.mark.parametrize(
    "body",
    [
        "<html>502 Bad Gateway</html>",
        "",
        "[]",
        '{"other_response":{"code":"10000"}}',
        envelope(KEY, '"not an object"', "x"),
        envelope(KEY, '{"code":"10000"}', "x") + " trailing",
        envelope(KEY, '{"code":"10000"')[:-1],
    ],
)
def test_not_a_gateway_answer_is_malformed(platform_keys: KeyPair, body: str) -> None:
    with pytest.raises(ResponseMalformed):
        verify_response(body, METHOD, platform_keys.public_pem)


def test_non_base64_sign_is_signature_invalid_not_a_crash(platform_keys: KeyPair) -> None:
    body = envelope(KEY, '{"code":"10000"}', "@@@not base64@@@")
    with pytest.raises(SignatureInvalid):
        verify_response(body, METHOD, platform_keys.public_pem)
