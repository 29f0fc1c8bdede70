"""How every command talks to a person: results on stdout, progress and errors on stderr."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

import sqlalchemy.exc
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from civicport.errors import CivicportError

# Progress bars and errors go to stderr so stdout carries only the result (a dataset id), which
# scripts capture: `id=$(civicport import permits.csv --title Permits)`.
err_console = Console(stderr=True)


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn a domain error, an unreadable file or an unreachable database into a red message
    and exit code 1."""
    try:
        yield
    except CivicportError as error:
        fail(error.message)
    except sqlalchemy.exc.OperationalError as error:
        # The usual first-day failure: PostgreSQL not running, wrong URL or password.
        fail(f"Cannot use the database: {str(error.orig).strip()}")
    except OSError as error:
        fail(f"{error.strerror or error}: {error.filename}" if error.filename else str(error))


def fail(message: str) -> NoReturn:
    """Print `message` to stderr in red and stop with exit code 1 (no traceback)."""
    err_console.print(f"[red]Error: {escape(message)}[/red]", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


@contextmanager
def row_progress(label: str) -> Iterator[Callable[[int], None]]:
    """A live "N rows" counter on stderr; yields the callback a load reports its row total to."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("[bold]{task.completed:,.0f}[/bold] rows"),
        TimeElapsedColumn(),
    )
    # Only on a terminal: in logs and pipes the summary line after the load says it all.
    shown = err_console.is_terminal
    with Progress(*columns, console=err_console, transient=True, disable=not shown) as progress:
        task = progress.add_task(escape(label), total=None)

        def report(rows: int) -> None:
            progress.update(task, completed=rows)

        yield report
