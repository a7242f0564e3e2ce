"""The ``huabei-watch`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from huabei_watch.errors import ConfigError, HuabeiWatchError
from huabei_watch.root.settings import ROLES, Settings, load_settings

log = logging.getLogger("huabei_watch")


def _load(path: str | None) -> Settings:
    return load_settings(Path(path) if path else None)


def cmd_check_config(args: argparse.Namespace) -> int:
    from huabei_watch.bus.keys import problems as key_problems
    from huabei_watch.root.checks import secret_problems

    path = args.path or args.config
    try:
        settings = _load(path)
        roles = list(ROLES) if args.role == "all" else [args.role]
        missing = key_problems(settings.daemon, settings.security, embedded=settings.kafka.embedded, roles=roles)
        missing += secret_problems(settings, roles)
        if missing:
            raise ConfigError(missing, path=path or "config/default.toml")
    except ConfigError as exc:
        print(f"{exc.path or path}: invalid", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    print(f"{path or 'config/default.toml'}: ok ({len(settings.merchants)} merchants configured)")
    return 0


def cmd_keys_generate(args: argparse.Namespace) -> int:
    """Print a fresh Ed25519 key pair per principal as TOML (see docs/operations.md, "Event signing")."""
    from huabei_watch.events.auth import PrivateKey, key_id, private_key_text, public_key_text

    for name in args.principals or ROLES:
        key = PrivateKey.generate()
        env = f"HUABEI_WATCH_SECURITY__PRINCIPALS__{name.upper()}__PRIVATE_KEY"
        print(f"# {name}: key id {key_id(key.verify_key)}")
        print(f"# private_key is a secret for the {name} process only (e.g. {env});")
        print("# public_keys goes into every process's configuration (keep the old one there while rotating)")
        print(f"[security.principals.{name}]")
        print(f'private_key = "{private_key_text(key)}"')
        print(f'public_keys = ["{public_key_text(key.verify_key)}"]')
        print()
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from huabei_watch.events.schema import write_schemas

    written = write_schemas(Path(args.dir))
    for p in written:
        print(p)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import os

    from huabei_watch.logs import setup_logging
    from huabei_watch.root.daemon import run_daemon
    from huabei_watch.runtime import loop as event_loop
    from huabei_watch.runtime.memory import limit_malloc_arenas

    limit_malloc_arenas(os.environ)  # before any thread starts
    try:
        settings = _load(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    setup_logging(settings.daemon.log_level, settings.daemon.log_format)
    roles = list(ROLES) if args.role == "all" else [args.role]
    try:
        loop = event_loop.choose(settings.daemon.event_loop)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    try:
        return event_loop.run(run_daemon(settings, roles), loop)
    except HuabeiWatchError as exc:
        log.error("daemon.failed", extra={"reason": str(exc)})
        print(f"huabei-watch: {exc}", file=sys.stderr)
        return 1


def cmd_tail(args: argparse.Namespace) -> int:
    from huabei_watch.bus.tail import tail

    try:
        settings = _load(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    loop_stop = asyncio.Event()

    async def main() -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, loop_stop.set)
        return await tail(
            settings,
            args.topics,
            from_beginning=args.from_beginning,
            bootstrap=args.bootstrap,
            stop=loop_stop,
            limit=args.limit,
            until_end=args.until_end,
            out=sys.stdout,
        )

    try:
        return asyncio.run(main())
    except HuabeiWatchError as exc:
        print(f"huabei-watch tail: {exc}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="huabei-watch",
        description="Keeps Huabei (花呗) working at merchants' cashiers.",
    )
    p.add_argument("--config", "-c", metavar="PATH", help="TOML configuration (default: config/default.toml)")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--role", choices=["all", *ROLES], default="all", help="run every role (default) or one")
    run.set_defaults(fn=cmd_run)

    chk = sub.add_parser("check-config", help="validate a configuration file and print every error")
    chk.add_argument("path", nargs="?", help="file to check (default: --config or config/default.toml)")
    chk.add_argument("--role", choices=["all", *ROLES], default="all",
                     help="the roles the checked process runs (their signing keys must be there)")
    chk.set_defaults(fn=cmd_check_config)

    keys = sub.add_parser("keys", help="event-signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    gen = keys_sub.add_parser("generate", help="print a new key pair per principal as TOML")
    gen.add_argument("principals", nargs="*", metavar="PRINCIPAL", help="role or outside producer (default: every role)")
    gen.set_defaults(fn=cmd_keys_generate)

    sch = sub.add_parser("schema", help="write a JSON Schema for every event type into DIR")
    sch.add_argument("dir")
    sch.set_defaults(fn=cmd_schema)

    tl = sub.add_parser("tail", help="print events from topics as JSON lines")
    tl.add_argument("topics", nargs="+", metavar="TOPIC", help="topic names, or short names: signals, incidents, ...")
    tl.add_argument("--from-beginning", action="store_true")
    tl.add_argument("--bootstrap", help="override kafka.bootstrap_servers")
    tl.add_argument("--limit", type=int, default=None, help="exit after this many records")
    tl.add_argument("--until-end", action="store_true",
                    help="exit once every partition is read up to its end as it was at start (with --from-beginning:"
                         " everything the topic holds now)")
    tl.set_defaults(fn=cmd_tail)

    from huabei_watch.root import cli_db, cli_extra

    cli_extra.register(sub)
    cli_db.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.fn(args)
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as other command-line tools do.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return code


if __name__ == "__main__":
    sys.exit(main())
