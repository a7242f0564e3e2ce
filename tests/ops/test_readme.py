"""The README stays true: its commands exist, its config sections exist, its quick start is the Makefile's."""

from __future__ import annotations

import re
from pathlib import Path

from huabei_watch.root.cli import build_parser
from huabei_watch.root.settings import Settings

ROOT = Path(__file__).parent.parent.parent
README = (ROOT / "README.md").read_text("utf-8")


def subcommands() -> set[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    assert action.choices is not None  # the subcommands' parser
    return set(action.choices)


def test_every_command_the_readme_names_exists() -> None:
    named = set(re.findall(r"`huabei-watch (?:--config \S+ )?([a-z][a-z-]+)", README))
    assert named, "README names no commands"
    assert named <= subcommands(), named - subcommands()


def test_every_config_section_the_readme_documents_exists_and_every_section_is_documented() -> None:
    documented = set(re.findall(r"^### `\[\[?([a-z_]+)\]\]?`", README, re.MULTILINE))
    assert documented == set(Settings.model_fields), documented ^ set(Settings.model_fields)


def test_quick_start_commands_are_make_targets() -> None:
    block = README.split("## Quick start", 1)[1].split("```", 2)[1]
    targets = re.findall(r"^make (\w+)", block, re.MULTILINE)
    assert targets == ["run", "test"]
    makefile = (ROOT / "Makefile").read_text("utf-8")
    for t in targets:
        assert re.search(rf"^{t}:", makefile, re.MULTILINE)


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text("utf-8")
