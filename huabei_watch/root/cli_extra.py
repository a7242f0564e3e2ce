"""Subcommands contributed by the capability modules (merchants, parse-notice, eval-notices, diagnose, incident, asyncapi);
the commands for people (``incident``, ``merchants``) live in :mod:`huabei_watch.root.cli_ops`."""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path
from typing import Any

from huabei_watch.errors import ConfigError
from huabei_watch.root import cli_ops
from huabei_watch.root.settings import load_settings


def _settings(args: argparse.Namespace) -> Any:
    return load_settings(Path(args.config) if args.config else None)


def cmd_parse_notice(args: argparse.Namespace) -> int:
    from datetime import date

    from huabei_watch.clock import SHANGHAI
    from watcher.notices.cli import parse_notice_json

    try:
        published = date.fromisoformat(args.published) if args.published else None
    except ValueError:
        print(f"--published must be YYYY-MM-DD, got {args.published!r}", file=sys.stderr)
        return 2
    if published is None:
        from datetime import UTC, datetime

        published = datetime.now(UTC).astimezone(SHANGHAI).date()
    if args.file:
        try:
            raw = Path(args.file).read_bytes()
        except OSError as exc:
            print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return 2
    else:
        raw = sys.stdin.buffer.read()
    text = _decode(raw)
    print(json.dumps(parse_notice_json(text, published), ensure_ascii=False))
    return 0


def cmd_eval_notices(args: argparse.Namespace) -> int:
    from watcher.notices.corpus import CorpusError, parse_corpus
    from watcher.notices.evaluate import render, score

    path = Path(args.corpus)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        lines = raw.decode("utf-8-sig").splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        print(f"cannot read {args.corpus}: {exc}", file=sys.stderr)
        return 2
    try:
        golds = parse_corpus(lines)
    except CorpusError as exc:
        print(f"{args.corpus}: {exc}", file=sys.stderr)
        return 2
    report = score(golds)
    if args.summary:
        # Scores only: a held-out set can be scored without anyone reading its notices.
        report.misses.clear()
    if args.json:
        out = report.to_json()
        if args.summary:
            del out["misses"]
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(render(report).lstrip("\n"))
    return 0


def _decode(raw: bytes) -> str:
    """Notice files come as UTF-8 (with or without BOM) or GB18030/GBK."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def cmd_diagnose(args: argparse.Namespace) -> int:
    from watcher.payments.diagnosis import diagnosis_json

    print(json.dumps(diagnosis_json(args.code, args.sub_code or ""), ensure_ascii=False))
    return 0


def cmd_asyncapi(args: argparse.Namespace) -> int:
    """Write the AsyncAPI document: YAML for a .yaml/.yml FILE (when PyYAML is there), JSON otherwise."""
    from huabei_watch.events import Topics
    from huabei_watch.events.asyncapi import asyncapi_document, dump_json

    topics = Topics()
    if args.config:
        try:
            topics = Topics(_settings(args).kafka.topic_prefix)
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    document = asyncapi_document(topics)
    if args.file is None:
        sys.stdout.write(dump_json(document))
        return 0
    path = Path(args.file)
    text = dump_json(document)
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            print("PyYAML is not installed: writing JSON (which YAML parsers read too)", file=sys.stderr)
        else:
            text = yaml.safe_dump(document, allow_unicode=True, sort_keys=True, width=100)
    try:
        path.write_text(text, "utf-8")
    except OSError as exc:
        print(f"cannot write {path}: {exc.strerror}", file=sys.stderr)
        return 1
    print(path)
    return 0


def register(sub: Any) -> None:
    """Add subcommands to the ``huabei-watch`` parser. ``sub`` is argparse's subparsers action."""
    cli_ops.register_merchants(sub)

    pn = sub.add_parser("parse-notice", help="understand a notice text (file or stdin) and print JSON")
    pn.add_argument("file", nargs="?", help="notice text file (UTF-8 or GBK); stdin when absent")
    pn.add_argument("--published", metavar="YYYY-MM-DD", help="publication date (default: today, Asia/Shanghai)")
    pn.set_defaults(fn=cmd_parse_notice)

    ev = sub.add_parser("eval-notices", help="score notice understanding on an annotated corpus (JSONL)")
    ev.add_argument("corpus", help="annotated corpus, one JSON notice per line (tests/notices/corpus/ format; .gz read as gzip)")
    ev.add_argument("--json", action="store_true", help="print the scores as JSON")
    ev.add_argument("--summary", action="store_true",
                    help="scores and categories only, no line per miss (for a held-out set nobody may read)")
    ev.set_defaults(fn=cmd_eval_notices)

    dg = sub.add_parser("diagnose", help="explain an Alipay result code: cause, advice (Chinese), explanation")
    dg.add_argument("code")
    dg.add_argument("sub_code", nargs="?")
    dg.set_defaults(fn=cmd_diagnose)

    inc = sub.add_parser("incident", help="list, open, resolve, silence incidents, force Huabei on, on a running daemon")
    inc.add_argument("--url", help="admin server base URL (default: from admin.listen)")
    isub = inc.add_subparsers(dest="action", required=True)
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--json", action="store_true", help="print JSON (the default when stdout is not a terminal)")
    ls = isub.add_parser("list", help="open incidents (all with --all): a table on a terminal, JSON lines otherwise",
                         parents=[out])
    ls.add_argument("--all", action="store_true")
    op = isub.add_parser("open", help="open a manual incident (switches Huabei off unless --notify-only)", parents=[out])
    op.add_argument("--title", required=True)
    op.add_argument("--summary", help="one line for merchants, in Chinese")
    op.add_argument("--merchant", action="append", help="limit to these merchants (repeatable); default: platform")
    op.add_argument("--kind", choices=["maintenance", "outage", "merchant_account", "integration"])
    op.add_argument("--starts-at", help="ISO time with offset (default: now)")
    op.add_argument("--ends-at", help="ISO time with offset (default: until resolved)")
    op.add_argument("--notify-only", action="store_true", help="tell people but never switch Huabei")
    rs = isub.add_parser("resolve", help="resolve an incident early", parents=[out])
    rs.add_argument("incident_id")
    rs.add_argument("--by", default="ops")
    si = isub.add_parser("silence", help="silence an incident's notifications", parents=[out])
    si.add_argument("incident_id")
    g = si.add_mutually_exclusive_group(required=True)
    g.add_argument("--for", dest="duration", help="a duration such as 2h")
    g.add_argument("--until", help="ISO time with offset")
    fo = isub.add_parser("force-on", help="keep Huabei on for one merchant (one incident, or all with no --incident)", parents=[out])
    fo.add_argument("merchant_id")
    fo.add_argument("--incident", help="only this incident (default: every incident)")
    fo.add_argument("--until", help="ISO time with offset (default: until the incident ends)")
    fo.add_argument("--by", default="ops")
    inc.set_defaults(fn=cli_ops.cmd_incident)

    aa = sub.add_parser("asyncapi", help="write the AsyncAPI 3 document of every topic and event type")
    aa.add_argument("file", nargs="?", help="output file: YAML if it ends in .yaml/.yml, else JSON (default: stdout, JSON)")
    aa.set_defaults(fn=cmd_asyncapi)
