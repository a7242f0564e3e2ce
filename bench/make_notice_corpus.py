"""Write the notice benchmark corpus: ``python -m bench.make_notice_corpus``.

Each page is a portal-style HTML page (navigation, scripts, related links, footer) of about
5-80 KB around one notice body (``div.notice-body``), with its title in ``h1`` and its publication
date in ``span.publish-date``. Notice bodies come from the test table, some lengthened the way
bank notices are (preamble, lists, contact lines). Deterministic (fixed seed).
"""

from __future__ import annotations

import html
import random
from pathlib import Path

from tests.notices.cases import CASES

OUT = Path(__file__).parent / "corpus" / "notices"
_PREAMBLE = "尊敬的客户：\n为进一步提升系统性能与服务质量，保障支付业务安全稳定运行，"
_CLOSING = (
    "\n由此给您带来的不便，敬请谅解。如有疑问，请拨打客服热线95188（服务时间：8:00-22:00）咨询。"
    "\n感谢您一直以来的支持与信任！\n"
)
_TIPS = (
    "\n温馨提示：\n1. 请您提前做好资金安排，避免在上述时段内进行大额交易；\n"
    "2. 维护或升级期间如交易提示失败，请勿重复提交，稍后重试即可；\n"
    "3. 如您是商户，建议提前在收银台设置中调整可用支付方式，并告知您的顾客；\n"
    "4. 我司不会以任何理由向您索取密码、验证码等信息，谨防电信诈骗；\n"
    "5. 本公告内容如有更新，以官方网站及客户端发布的最新公告为准。\n"
    "常见问题\n问：为什么要进行系统升级？\n答：为了给您提供更稳定、更安全的服务，我们会定期对系统进行优化，"
    "升级完成后您将获得更流畅的支付体验。\n问：已经发起的交易会受影响吗？\n答：已完成的交易不受影响，"
    "处理中的交易将在服务恢复后继续处理，资金安全有保障，请您放心。\n"
)
_NAV = ["首页", "公告中心", "商家服务", "开放平台", "帮助中心", "安全中心", "花呗", "余额宝", "信用卡还款", "转账"]


def _filler(rng: random.Random, target: int) -> str:
    parts: list[str] = []
    size = 0
    i = 0
    while size < target:
        i += 1
        kind = rng.randrange(3)
        if kind == 0:
            chunk = "<ul class='nav'>" + "".join(
                f"<li><a href='/c/{i}/{k}'>{rng.choice(_NAV)}</a></li>" for k in range(12)
            ) + "</ul>"
        elif kind == 1:
            values = ",".join(str(rng.random()) for _ in range(40))
            chunk = f"<script>window.__cfg_{i} = [{values}];</script>"
        else:
            chunk = "<div class='related'>" + "".join(
                f"<p><a href='/notice/{rng.randrange(10**6)}'>关于{rng.choice(_NAV)}服务优化的公告（{k}）</a>"
                f"<span>2026-{rng.randrange(1, 12):02d}-{rng.randrange(1, 28):02d}</span></p>"
                for k in range(8)
            ) + "</div>"
        parts.append(chunk)
        size += len(chunk.encode())
    return "\n".join(parts)


def page(title: str, body: str, published: str, rng: random.Random, target: int) -> str:
    paras = "".join(f"<p>{html.escape(line)}</p>" for line in body.split("\n") if line)
    head = _filler(rng, target // 3)
    tail = _filler(rng, target - target // 3)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title>"
        "<style>body{font-family:sans-serif}.notice-body p{line-height:1.8}</style></head><body>"
        f"<header>{head}</header><main><h1>{html.escape(title)}</h1>"
        f"<div class='meta'>发布时间：<span class='publish-date'>{published}</span></div>"
        f"<div class='notice-body'>{paras}</div></main><footer>{tail}</footer></body></html>"
    )


def main() -> None:
    rng = random.Random(20261126)
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.html"):
        old.unlink()
    for n, case in enumerate(CASES):
        if n % 2:
            continue  # every other case keeps the committed corpus near 2.5 MB
        body = case.text
        if n % 3 == 0:
            body = _PREAMBLE + body + _CLOSING
        if n % 4 == 0:
            body = body + _TIPS * (1 + n % 3)
        title = case.title or f"关于{case.id}的公告"
        target = rng.choice([5_000, 12_000, 25_000, 40_000, 60_000, 78_000])
        text = page(title, body, case.published.isoformat(), rng, target)
        (OUT / f"{n:03d}_{case.id}.html").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
