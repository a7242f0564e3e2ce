"""Products named in a notice, mapped to Alipay pay-channel codes.

Mapping (channel codes as ``disable_pay_channels`` takes them):

==================================  ==========================================
花呗                                pcredit, pcreditpayInstallment
花呗分期                            pcreditpayInstallment
信用支付                            credit_group (includes Huabei and credit cards)
信用卡 / 信用卡快捷                 creditCard
借记卡 / 储蓄卡 (快捷)              debitCardExpress
快捷支付                            debitCardExpress, creditCardExpress
银行卡                              debitCardExpress, creditCard
余额 / 账户余额                     balance
余额宝                              moneyFund
网银 / 网上银行 / 网络银行          bankPay
优惠券 / 红包 / 消费券 / 代金券     coupon
集分宝 / 积分                       point
全部支付服务, 所有支付方式, 收银台,  pcredit, pcreditpayInstallment (Huabei goes
交易服务, 支付宝支付服务 ...        down with them; recorded as "broad")
==================================  ==========================================

Banks and clearing houses: online banking and gateway payments (网银支付, 网关支付, B2C网关) are
``bankPay``; card quick pay and "network payment business for payment institutions"
(网络支付业务, 银联在线支付) are the card quick-pay channels; a clearing house's name alone (网联,
银联) names no product: the product said to stop decides the channel. The CNAPS systems (大额/小额支付系统,
网上支付跨行清算系统) carry interbank transfers, not card payments, so they name no pay channel:
their windows stop transfers and withdrawals to bank cards, not Alipay payments. None of these is
Huabei unless Ant's credit services are named (蚂蚁信用支付, 花呗).

A product in a clause that says it is unaffected (不受影响, 可正常使用, ...) is negative, except
what follows 除 ... 外 in that clause.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from huabei_watch.events.common import HUABEI_CHANNELS, PCREDIT_INSTALLMENT


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    channels: tuple[str, ...]
    huabei: str | None = None  # "explicit" | "broad" | None


_HUABEI = Product("花呗", HUABEI_CHANNELS, "explicit")
_TERMS: dict[str, Product] = {
    "花呗分期": Product("花呗分期", (PCREDIT_INSTALLMENT,), "explicit"),
    "蚂蚁花呗": _HUABEI,
    "花呗": _HUABEI,
    "信用支付": Product("信用支付", ("credit_group",), "broad"),
    "信用卡快捷支付": Product("信用卡", ("creditCard",)),
    "信用卡快捷": Product("信用卡", ("creditCard",)),
    "信用卡": Product("信用卡", ("creditCard",)),
    "借记卡快捷支付": Product("借记卡", ("debitCardExpress",)),
    "储蓄卡快捷支付": Product("借记卡", ("debitCardExpress",)),
    "借记卡": Product("借记卡", ("debitCardExpress",)),
    "储蓄卡": Product("借记卡", ("debitCardExpress",)),
    "快捷支付": Product("快捷支付", ("debitCardExpress", "creditCardExpress")),
    "银行卡": Product("银行卡", ("debitCardExpress", "creditCard")),
    "余额宝": Product("余额宝", ("moneyFund",)),
    "账户余额": Product("余额", ("balance",)),
    "余额": Product("余额", ("balance",)),
    "网上银行": Product("网银", ("bankPay",)),
    "网络银行": Product("网银", ("bankPay",)),
    "网路银行": Product("网银", ("bankPay",)),
    "网银": Product("网银", ("bankPay",)),
    "优惠券": Product("优惠券", ("coupon",)),
    "消费券": Product("优惠券", ("coupon",)),
    "代金券": Product("优惠券", ("coupon",)),
    "红包": Product("红包", ("coupon",)),
    "集分宝": Product("积分", ("point",)),
    "积分": Product("积分", ("point",)),
    # bank and clearing wording (see the module docstring for why CNAPS maps to no pay channel)
    "贷记卡": Product("信用卡", ("creditCard",)),
    "网银支付": Product("网银", ("bankPay",)),
    "网关支付": Product("网银", ("bankPay",)),
    "B2C网关": Product("网银", ("bankPay",)),
    "网上银行支付": Product("网银", ("bankPay",)),
    "网络支付业务": Product("快捷支付", ("debitCardExpress", "creditCardExpress")),
    "银联在线支付": Product("快捷支付", ("debitCardExpress", "creditCardExpress")),
    "大额支付系统": Product("大额支付系统", ()),
    "小额支付系统": Product("小额支付系统", ()),
    "网上支付跨行清算系统": Product("网上支付跨行清算系统", ()),
    "蚂蚁信用支付": Product("信用支付", ("credit_group",), "broad"),
}
_BROAD = (
    "全部支付服务", "所有支付服务", "全部支付方式", "所有支付方式", "全部支付渠道", "所有支付渠道",
    "支付宝支付服务", "支付宝交易服务", "支付宝支付", "收银台", "交易服务", "全部交易", "所有交易",
    "全部支付功能", "所有支付功能",
)
for _b in _BROAD:
    _TERMS[_b] = Product(_b, HUABEI_CHANNELS, "broad")

_TERM_RE = re.compile("|".join(sorted(map(re.escape, _TERMS), key=len, reverse=True)))
_NEG_RE = re.compile(
    r"不受影响|不影响|不会影响|不会受到影响|无影响|可正常|正常使用|照常|不涉及|仍可|依然可|可继续|继续可|正常提供|不在.{0,6}范围"
)
_EXCEPT_RE = re.compile(r"除(?:了)?(.{1,40}?)(?:外|以外|之外)")
_CLAUSE_SPLIT_RE = re.compile(r"[,，;。!?\n]")


@dataclass(frozen=True, slots=True)
class Mention:
    product: Product
    pos: int
    positive: bool


def scan(norm: str, lo: int, hi: int) -> list[Mention]:
    """Product mentions in ``norm[lo:hi]`` with their polarity. Never raises."""
    out: list[Mention] = []
    clause_lo = lo
    for part in _CLAUSE_SPLIT_RE.split(norm[lo:hi]):
        clause_hi = clause_lo + len(part)
        negative = _NEG_RE.search(part) is not None
        excepted: list[tuple[int, int]] = []
        if negative:
            excepted = [(clause_lo + m.start(1), clause_lo + m.end(1)) for m in _EXCEPT_RE.finditer(part)]
        cards = False
        for m in _TERM_RE.finditer(norm, clause_lo, clause_hi):
            product = _TERMS[m.group()]
            if product.name == "快捷支付" and cards:
                continue  # "信用卡...的快捷支付" names the card, not every card
            cards = cards or product.name in ("信用卡", "借记卡", "银行卡")
            pos = m.start()
            positive = not negative or _inside(excepted, pos)
            out.append(Mention(product, pos, positive))
        clause_lo = clause_hi + 1
    return out


def _inside(ranges: list[tuple[int, int]], pos: int) -> bool:
    """Whether ``pos`` falls in one of the sorted, non-overlapping ``ranges``."""
    k = bisect.bisect_right(ranges, (pos, 1 << 62)) - 1
    return k >= 0 and ranges[k][0] <= pos < ranges[k][1]


def merge(mentions: list[Mention]) -> tuple[list[Product], list[str]]:
    """Positive products in order of first mention (no duplicates) and their channels."""
    products: list[Product] = []
    channels: list[str] = []
    seen_names: set[str] = set()
    for m in mentions:
        if not m.positive or m.product.name in seen_names:
            continue
        seen_names.add(m.product.name)
        products.append(m.product)
        for c in m.product.channels:
            if c not in channels:
                channels.append(c)
    return products, channels
