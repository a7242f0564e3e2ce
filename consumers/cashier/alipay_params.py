"""Apply a Huabei policy to Alipay trade request parameters (a helper merchants' code can call).

Alipay trade APIs (page/wap/app pay, precreate, create) take ``disable_pay_channels`` or
``enable_pay_channels`` -- comma-separated channel codes, mutually exclusive -- usually inside
``biz_content`` (a JSON string in the signed request, or a dict before signing).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from huabei_watch.errors import InvalidInput, PermanentError

DISABLE = "disable_pay_channels"
ENABLE = "enable_pay_channels"
BIZ_CONTENT = "biz_content"
#: ``credit_group`` stands for these channels (Alipay's channel list).
CREDIT_GROUP = "credit_group"
CREDIT_GROUP_MEMBERS: tuple[str, ...] = ("creditCardCartoon", "creditCardExpress", "pcredit", "pcreditpayInstallment")
#: The Huabei instalment channel, and the ``extend_params`` keys that ask for instalments on it
#: (number of instalments, share of the fee the seller pays): meaningless once it is disabled.
INSTALMENTS = "pcreditpayInstallment"
EXTEND_PARAMS = "extend_params"
INSTALMENT_KEYS: tuple[str, ...] = ("hb_fq_num", "hb_fq_seller_percent")


class NoPayChannelLeft(PermanentError):
    """``enable_pay_channels`` held only channels the policy disables: the shopper could not pay.

    The caller must choose (offer other channels, or drop ``enable_pay_channels``); the helper will
    not guess.
    """


def split_channels(value: Any) -> list[str]:
    """Channel codes from a comma-separated string or a list, trimmed, empties and repeats dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        raise InvalidInput(f"pay channels must be a comma-separated string, got {type(value).__name__}")
    out: list[str] = []
    for item in (i.strip() for i in items):
        if item and item not in out:
            out.append(item)
    return out


def apply_policy(params: Mapping[str, Any], disable: Sequence[str]) -> dict[str, Any]:
    """A copy of ``params`` in which the channels in ``disable`` cannot be used.

    * Channel keys at the top level (a flat request dict) are changed there; otherwise, when
      ``biz_content`` is present (a JSON string or a dict), inside it, keeping its type; otherwise a
      ``disable_pay_channels`` key is added at the top level.
    * ``disable_pay_channels`` present: merged, order kept, no repeats.
    * ``enable_pay_channels`` present and non-empty: the disabled channels are removed from it
      (``credit_group`` is expanded first if it covers one of them) and no disable key is added,
      since Alipay rejects both. Raises :class:`NoPayChannelLeft` if nothing would be left.
    * Raises :class:`~huabei_watch.errors.InvalidInput` for a ``biz_content`` that is not a JSON object.
    """
    out = dict(params)
    wanted = split_channels(list(disable))
    if not wanted:
        return out
    if DISABLE in out or ENABLE in out or BIZ_CONTENT not in out:
        return _apply(out, wanted)
    biz = out[BIZ_CONTENT]
    if isinstance(biz, str):
        try:
            parsed = json.loads(biz) if biz.strip() else {}
        except ValueError as exc:
            raise InvalidInput(f"biz_content is not valid JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise InvalidInput("biz_content must be a JSON object")
        out[BIZ_CONTENT] = json.dumps(_apply(parsed, wanted), ensure_ascii=False, separators=(",", ":"))
    elif isinstance(biz, Mapping):
        out[BIZ_CONTENT] = _apply(dict(biz), wanted)
    else:
        raise InvalidInput(f"biz_content must be a JSON string or an object, got {type(biz).__name__}")
    return out


def _json_object(value: Any, name: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value) if value.strip() else {}
        except ValueError as exc:
            raise InvalidInput(f"{name} is not valid JSON: {exc}") from exc
        if isinstance(parsed, dict):
            return parsed
    raise InvalidInput(f"{name} must be a JSON object (or its JSON string), got {type(value).__name__}")


def _drop_instalments(fields: dict[str, Any]) -> None:
    """Remove the instalment keys from ``fields["extend_params"]`` (in place), keeping its type."""
    raw = fields.get(EXTEND_PARAMS)
    if raw is None:
        return
    extend = _json_object(raw, EXTEND_PARAMS)
    if not any(k in extend for k in INSTALMENT_KEYS):
        return
    for key in INSTALMENT_KEYS:
        extend.pop(key, None)
    if not extend:
        del fields[EXTEND_PARAMS]
    else:
        fields[EXTEND_PARAMS] = (json.dumps(extend, ensure_ascii=False, separators=(",", ":"))
                                 if isinstance(raw, str) else extend)


def _apply(fields: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    if INSTALMENTS in wanted or CREDIT_GROUP in wanted:
        _drop_instalments(fields)
    enabled = split_channels(fields.get(ENABLE))
    if enabled:
        expanded: list[str] = []
        for channel in enabled:
            if channel == CREDIT_GROUP and any(c in CREDIT_GROUP_MEMBERS for c in wanted):
                expanded.extend(c for c in CREDIT_GROUP_MEMBERS if c not in expanded)
            elif channel not in expanded:
                expanded.append(channel)
        kept = [c for c in expanded if c not in wanted]
        if not kept:
            raise NoPayChannelLeft(
                f"enable_pay_channels {','.join(enabled)} has no channel left once {','.join(wanted)} "
                "are disabled: offer other channels or drop enable_pay_channels"
            )
        fields[ENABLE] = ",".join(kept)
        return fields
    fields.pop(ENABLE, None)  # an empty enable list means nothing; Alipay rejects it beside disable
    merged = split_channels(fields.get(DISABLE))
    merged.extend(c for c in wanted if c not in merged)
    fields[DISABLE] = ",".join(merged)
    return fields
