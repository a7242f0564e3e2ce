"""Checks that span sections, and the secrets a configuration only points at.

Each section validates itself; what is checked here is a *pair* of settings from different
sections whose combination breaks a promise the daemon makes, each problem as
``key.path: message`` naming the other key:

* ``incidents.republish_every`` at most half of ``cashier.off_ttl``: an "off" is renewed by each
  re-assertion and expires ``off_ttl`` after the last one, so one late or lost re-assertion must
  not switch Huabei back on in the middle of an incident.
* ``probes[i].interval`` at most half of ``incidents.outage_stale_after``: a down probe's newest
  check is the evidence that keeps its outage open; checked less often, the outage resolves
  itself while the target is still down.
* ``payments.evaluate_every`` at most ``payments.detection.window_s``: evaluated less often than
  the window, results leave the window unseen.
* ``payments.fetch_max_wait`` at most half of ``payments.evaluate_every``: a result held longer by
  the broker could miss more than one evaluation round.
* ``retention.incidents_in_memory`` at most ``retention.incidents``: an incident the incidents role
  restores at start must still be in the database.

:func:`secret_problems` resolves every secret given by reference (a file, an environment
variable) for the roles a process runs, so ``check-config`` reports a missing one before start.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from huabei_watch.errors import ConfigError

if TYPE_CHECKING:
    from huabei_watch.root.settings import Settings

def _s(x: float) -> str:
    return f"{x:g} s"


def cross_section_problems(s: Settings) -> list[str]:
    """Every broken pair (see the module docstring), as ``key.path: message``; empty when fine."""
    out: list[str] = []
    if s.incidents.republish_every * 2 > s.cashier.off_ttl:
        out.append(
            f"incidents.republish_every: {_s(s.incidents.republish_every)} is not well under cashier.off_ttl "
            f"({_s(s.cashier.off_ttl)}); keep it at most half ({_s(s.cashier.off_ttl / 2)}), or Huabei comes "
            "back on in the middle of an incident when one re-assertion is late"
        )
    for i, probe in enumerate(s.probes):
        if probe.interval * 2 > s.incidents.outage_stale_after:
            out.append(
                f"probes[{i}].interval: {_s(probe.interval)} is too long for incidents.outage_stale_after "
                f"({_s(s.incidents.outage_stale_after)}); at most half of it ({_s(s.incidents.outage_stale_after / 2)}), "
                "or an outage seen by this probe resolves itself between two checks"
            )
    if s.payments.evaluate_every > s.payments.detection.window_s:
        out.append(
            f"payments.evaluate_every: {_s(s.payments.evaluate_every)} must be at most payments.detection.window_s "
            f"({_s(s.payments.detection.window_s)}), or results leave the window before they are evaluated"
        )
    if s.payments.fetch_max_wait * 2 > s.payments.evaluate_every:
        out.append(
            f"payments.fetch_max_wait: {_s(s.payments.fetch_max_wait)} must be at most half of payments.evaluate_every "
            f"({_s(s.payments.evaluate_every / 2)}), or a held result can miss more than one evaluation round"
        )
    if s.retention.incidents_in_memory > s.retention.incidents:
        out.append(
            f"retention.incidents_in_memory: {_s(s.retention.incidents_in_memory)} must be at most "
            f"retention.incidents ({_s(s.retention.incidents)}): an incident restored at start must still be stored"
        )
    return out


def _readable(path: Path | None, key: str) -> Iterable[str]:
    if path is None:
        return
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        yield f"{key}: cannot read {path} ({exc.strerror or type(exc).__name__})"


def secret_problems(s: Settings, roles: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """Secrets given by reference that a process running ``roles`` would fail to read: the
    Alipay pre-order probe's keys (``private_key_env``, ``*_file``; watcher), Kafka's TLS files
    (every role). Values are never shown."""
    env = dict(os.environ if environ is None else environ)
    out: list[str] = []
    for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        out.extend(_readable(getattr(s.kafka, key), f"kafka.{key}"))
    if "watcher" in roles and s.alipay.enabled:
        try:
            s.alipay.credentials(env)
        except ConfigError as exc:
            out.extend(exc.problems)
    return out
