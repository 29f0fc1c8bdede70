"""The command line: `civicport demo | serve | import | sync | worker | privacy | users | keys |
audit`.

Each command parses its arguments, calls one service function and prints the result; results go
to stdout, progress and errors to stderr. Exit codes: 0 success, 1 a failure the message
explains (bad data, unknown dataset…), 2 a usage error.
"""

from __future__ import annotations

import typer

from civicport import __version__
from civicport.cli.accounts import keys_app, users_app
from civicport.cli.audit import audit_app
from civicport.cli.demo import demo_command
from civicport.cli.importer import import_command
from civicport.cli.privacy import privacy_app
from civicport.cli.rules import rules_app
from civicport.cli.serve import serve_command
from civicport.cli.sync import sync_app
from civicport.cli.versions import versions_app
from civicport.cli.worker import worker_command

app = typer.Typer(
    name="civicport",
    help="civicport: an open data portal with a Socrata-compatible API.\n\n"
    "Settings come from CIVICPORT_* environment variables (CIVICPORT_HOME, "
    "CIVICPORT_DATABASE_URL, …) and civicport.toml; see docs/configuration.md.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo_command)
app.command("serve")(serve_command)
app.command("import")(import_command)
app.add_typer(sync_app, name="sync")
app.command("worker")(worker_command)
app.add_typer(privacy_app, name="privacy")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(versions_app, name="versions")
app.add_typer(rules_app, name="rules")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"civicport {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_show_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """civicport: an open data portal with a Socrata-compatible API."""


def main() -> None:
    """Entry point of the `civicport` script."""
    app()
