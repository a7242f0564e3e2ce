"""The commands people run by hand: ``incident ...`` (against a running daemon) and ``merchants ...``.

Output: a table or a sentence on a terminal; JSON (one object per line) with ``--json`` or when
stdout is not a terminal, so scripts and pipes get something to parse. Exit codes, the same for
every command here:

* ``0``: done;
* ``1``: failed or done only in part at run time (daemon unreachable, database error, some CSV
  rows rejected);
* ``2``: refused as asked (bad arguments, invalid configuration, unreadable file, the daemon
  answering 4xx such as an unknown incident).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from huabei_watch.errors import ConfigError, HuabeiWatchError
from huabei_watch.root.settings import Settings, load_settings

OK, FAILED, REFUSED = 0, 1, 2


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(Path(args.config) if args.config else None)


def wants_json(args: argparse.Namespace, stream: TextIO) -> bool:
    return bool(getattr(args, "json", False)) or not stream.isatty()


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], max_col: int = 40) -> str:
    """A plain aligned table; cells longer than ``max_col`` columns are cut with an ellipsis."""

    def cut(cell: str) -> str:
        if width(cell) <= max_col:
            return cell
        out = ""
        for ch in cell:
            if width(out + ch) > max_col - 1:
                break
            out += ch
        return out + "…"

    cells = [[cut(c) for c in r] for r in [list(headers), *rows]]
    widths = [max(width(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c + " " * (w - width(c)) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _sh(value: str | None) -> str:
    if not value:
        return "—"
    from huabei_watch.clock import to_shanghai

    try:
        return to_shanghai(datetime.fromisoformat(value)).strftime("%m-%d %H:%M")
    except ValueError:
        return value


# -- incident ----------------------------------------------------------------------------------------
def _request(args: argparse.Namespace, settings: Settings) -> tuple[str, str, dict[str, Any] | None]:
    if args.action == "list":
        return "GET", "/v1/incidents" + ("?all=1" if args.all else ""), None
    if args.action == "open":
        body: dict[str, Any] = {"title": args.title, "summary_zh": args.summary or "", "toggle": not args.notify_only}
        for key, value in (("merchants", args.merchant), ("ends_at", args.ends_at), ("starts_at", args.starts_at),
                           ("kind", args.kind)):
            if value:
                body[key] = value
        return "POST", "/v1/incidents", body
    if args.action == "resolve":
        return "POST", f"/v1/incidents/{args.incident_id}/resolve", {"by": args.by}
    if args.action == "force-on":
        return "POST", f"/v1/merchants/{args.merchant_id}/force-on", {
            "incident_id": args.incident or "*", "until": args.until, "by": args.by}
    return "POST", f"/v1/incidents/{args.incident_id}/silence", (
        {"for": args.duration} if args.duration else {"until": args.until})


def _said(action: str, payload: dict[str, Any]) -> str:
    """One sentence saying what the daemon did."""
    iid = payload.get("incident_id", "")
    if action == "open":
        return f"opened incident {iid} ({payload.get('kind')}, {payload.get('phase')})"
    if action == "resolve":
        return f"incident {iid} is now {payload.get('phase')}"
    if action == "silence":
        return f"incident {iid} silenced until {_sh(payload.get('silenced_until'))} (Asia/Shanghai)"
    until = _sh(payload.get("until")) if payload.get("until") else "the incident ends"
    which = "every incident" if payload.get("forced_on") == "*" else f"incident {payload.get('forced_on')}"
    return f"Huabei kept on for {payload.get('merchant_id')} during {which}, until {until}"


def cmd_incident(args: argparse.Namespace) -> int:
    """Talk to a running daemon's admin API (like amtool does with Alertmanager)."""
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return REFUSED
    host, _, port = settings.admin.listen.rpartition(":")
    base = args.url or f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
    headers = {"Content-Type": "application/json"}
    if settings.admin.ops_token is not None:
        headers["Authorization"] = f"Bearer {settings.admin.ops_token.get_secret_value()}"
    method, path, body = _request(args, settings)
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            payload = json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        print(f"huabei-watch incident {args.action}: HTTP {exc.code}: {exc.read().decode('utf-8', 'replace')}",
              file=sys.stderr)
        return REFUSED if 400 <= exc.code < 500 else FAILED
    except (urllib.error.URLError, OSError) as exc:
        print(f"huabei-watch incident {args.action}: cannot reach the daemon at {base}: {exc} "
              "(is `huabei-watch run` running? --url overrides the address)", file=sys.stderr)
        return FAILED
    as_json = wants_json(args, sys.stdout)
    if args.action == "list":
        incidents = payload.get("incidents", [])
        keys = ("incident_id", "kind", "phase", "title", "starts_at", "ends_at", "silenced_until")
        if as_json:
            for inc in incidents:
                print(json.dumps({k: inc.get(k) for k in keys}, ensure_ascii=False))
        elif not incidents:
            print("no open incidents" if not args.all else "no incidents")
        else:
            rows = [[i.get("incident_id", ""), i.get("kind", ""), i.get("phase", ""), i.get("title", ""),
                     f"{_sh(i.get('starts_at'))} → {_sh(i.get('ends_at'))}", _sh(i.get("silenced_until"))]
                    for i in incidents]
            print(table(["ID", "KIND", "PHASE", "TITLE", "WINDOW (Asia/Shanghai)", "SILENCED UNTIL"], rows))
            print(f"{len(incidents)} incident(s)")
    elif as_json:
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(_said(args.action, payload))
    return OK


# -- merchants ---------------------------------------------------------------------------------------
class Progress:
    """``imported N / ~M rows (P%)`` rewritten in place on a terminal; silent elsewhere."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self._stream = stream
        self._total = max(total, 1)
        self._on = stream.isatty()
        self.shown = 0

    def __call__(self, line: int, imported: int) -> None:
        if not self._on:
            return
        rows = max(line - 1, 0)
        pct = min(99, rows * 100 // self._total) if rows < self._total else 100
        self._stream.write(f"\rimporting: {rows:,} / ~{self._total:,} rows read, {imported:,} saved ({pct}%)")
        self._stream.flush()
        self.shown += 1

    def done(self) -> None:
        if self._on and self.shown:
            self._stream.write("\n")
            self._stream.flush()


def cmd_merchants(args: argparse.Namespace) -> int:
    from huabei_watch.db.engine import Database
    from huabei_watch.db.migrate import SchemaNotCurrent
    from huabei_watch.merchants.registry import MerchantRegistry, dump_json
    from huabei_watch.root import schema

    schema.load_tables()
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return REFUSED
    if args.action == "link":
        return _link(args, settings)

    text = ""
    if args.action == "import":
        try:
            text = Path(args.file).read_text("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"cannot read {args.file}: {exc} (give a UTF-8 CSV file with a header row)", file=sys.stderr)
            return REFUSED

    async def main() -> int:
        db = await Database.open(settings.database_url())
        try:
            try:
                await schema.prepare_database(db)
            except SchemaNotCurrent as exc:
                print(f"huabei-watch merchants: {exc}", file=sys.stderr)
                return FAILED
            reg = MerchantRegistry(db)
            if args.action == "import":
                progress = Progress(sys.stderr, max(text.count("\n") - 1, 1))
                try:
                    report = await reg.import_csv(text, progress=progress)
                finally:
                    progress.done()
                for p in report.problems:
                    print(f"{args.file}: {p}", file=sys.stderr)
                hint = " (listed above by line; fix those rows and import again)" if report.problems else ""
                print(f"imported {report.imported} merchants, {len(report.problems)} problems from {args.file}{hint}")
                return FAILED if report.problems else OK
            async for m in reg.iter_all():
                print(dump_json(m))
            return OK
        finally:
            await db.close()

    settings.daemon.state_dir.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(main())
    except HuabeiWatchError as exc:
        print(f"huabei-watch merchants {args.action}: {exc}", file=sys.stderr)
        return FAILED


def _link(args: argparse.Namespace, settings: Settings) -> int:
    from huabei_watch.merchants.links import merchant_link

    secret = settings.pages.link_secret
    if secret is None:
        print("set pages.link_secret (or HUABEI_WATCH_PAGES__LINK_SECRET) to sign merchant links", file=sys.stderr)
        return REFUSED
    base = args.base_url or settings.pages.public_url
    if not base:
        host, _, port = settings.admin.listen.rpartition(":")
        base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
    from huabei_watch.clock import SystemClock

    ttl = timedelta(seconds=settings.pages.link_ttl)
    print(merchant_link(base, args.merchant_id, secret.get_secret_value(), SystemClock().now() + ttl))
    return OK


def register_merchants(sub: Any) -> None:
    mer = sub.add_parser("merchants", help="merchant registry: import a CSV, list, sign a page link")
    msub = mer.add_subparsers(dest="action", required=True)
    imp = msub.add_parser("import", help="import or update merchants from a CSV file (header row required)")
    imp.add_argument("file")
    msub.add_parser("list", help="print every merchant as a JSON line")
    ln = msub.add_parser("link", help="print a signed link to a merchant's page (/m/ID), valid pages.link_ttl")
    ln.add_argument("merchant_id")
    ln.add_argument("--base-url", help="what people reach the admin server at (default: pages.public_url)")
    mer.set_defaults(fn=cmd_merchants)
