"""The docs cover what the code declares: every setting, every command and option.

docs/cli.md embeds the `--help` of each command between two markers. When a command changes,
regenerate it with:

    CIVICPORT_UPDATE_DOCS=1 .venv/bin/pytest tests/test_docs.py
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import click
import pytest
import typer.main
from typer.testing import CliRunner

from civicport.cli import app
from civicport.config import ENV_PREFIX, Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"
BEGIN = "<!-- BEGIN GENERATED HELP -->"
END = "<!-- END GENERATED HELP -->"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def commands() -> dict[str, list[str]]:
    """Each command name (``""`` for the root, ``"users add"`` inside a group) and the options
    it declares."""
    found: dict[str, list[str]] = {}

    def visit(name: str, command: click.Command) -> None:
        found[name] = [opt for p in command.params for opt in p.opts if opt.startswith("-")]
        for sub_name, sub in getattr(command, "commands", {}).items():
            visit(f"{name} {sub_name}".strip(), sub)

    visit("", typer.main.get_command(app))
    return found


def help_text(name: str) -> str:
    args = [*name.split(), "--help"]
    # A fixed width and no colour, so the text is the same on every machine.
    result = CliRunner().invoke(app, args, env={"COLUMNS": "100", "NO_COLOR": "1"}, color=False)
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in ANSI.sub("", result.output).strip("\n").splitlines()]
    return "\n".join(lines).strip("\n")


def generated_help() -> str:
    sections = []
    for name in commands():
        title = f"civicport {name}".strip()
        sections.append(f"### `{title}`\n\n```text\n{help_text(name)}\n```\n")
    return "\n".join(sections)


def test_configuration_doc_lists_every_setting():
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")

    for name in Settings.model_fields:
        assert f"`{name}`" in text, f"docs/configuration.md does not describe setting {name}"
        assert f"`{ENV_PREFIX}{name.upper()}`" in text, f"no environment variable for {name}"


def test_cli_doc_mentions_every_command_and_option():
    text = (DOCS / "cli.md").read_text(encoding="utf-8")

    for name, options in commands().items():
        assert f"civicport {name}".strip() in text
        for option in options:
            assert option in text, f"docs/cli.md does not mention {name} {option}"


def test_cli_doc_help_is_current():
    path = DOCS / "cli.md"
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    current = f"{head}{BEGIN}\n\n{generated_help()}\n{END}{tail}"
    if os.environ.get("CIVICPORT_UPDATE_DOCS"):
        path.write_text(current, encoding="utf-8")
    if text != current:
        pytest.fail(
            "docs/cli.md is out of date with `civicport --help`; regenerate it with "
            "CIVICPORT_UPDATE_DOCS=1 .venv/bin/pytest tests/test_docs.py"
        )


def test_decisions_are_indexed():
    index = (DOCS / "index.md").read_text(encoding="utf-8")

    for note in sorted((DOCS / "decisions").glob("*.md")):
        assert f"decisions/{note.name}" in index, f"docs/index.md does not link {note.name}"
