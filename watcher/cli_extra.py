"""Subcommands contributed by the capability modules (parse-notice, diagnose, incident, merchants)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add subcommands to the ``huabei-watch`` parser. ``sub`` is argparse's subparsers action."""
    _ = (sub, argparse)
