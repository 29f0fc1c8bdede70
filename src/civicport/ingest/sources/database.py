"""Kind "sql": a query on a department's database, streamed into a CSV file.

The query only reads: anything but SELECT or WITH is refused before connecting, the
transaction is read-only where the database can say so (PostgreSQL, SQLite) and is rolled back
in every case, so even a data-changing CTE leaves nothing behind.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from civicport.ingest.sources.files import check_allowed
from civicport.ingest.sources.output import Target, new_output
from civicport.ingest.sources.spec import MASK, SourceError, SourceSpec, is_secret

OPTIONS: frozenset[str] = frozenset()
BATCH_ROWS = 1000
# The query's first word, after comments and opening parentheses: one of READING_WORDS.
_FIRST_WORD = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*(\w*)", re.S)
READING_WORDS = ("select", "with")


def check(spec: SourceSpec, allowed_dirs: Sequence[Path] | None) -> None:
    url = database_url(spec.location)
    if not spec.query or not spec.query.strip():
        raise SourceError("A sql source needs a query, such as: SELECT * FROM permits.")
    first_word = _FIRST_WORD.match(spec.query)
    if first_word is None or first_word.group(1).lower() not in READING_WORDS:
        raise SourceError(
            "The query of a sql source must read data only: it must start with SELECT or WITH."
        )
    if url.get_backend_name() == "sqlite":
        _check_sqlite_file(url, allowed_dirs)


def describe(spec: SourceSpec) -> str:
    return f"SQL query on {masked(spec.location)}"


def masked(location: str) -> str:
    """The database URL without its password or credential-like query parameters."""
    try:
        url = sa.make_url(location)
    except ArgumentError:
        return "a database"
    query = {k: MASK if is_secret(k) else v for k, v in url.query.items()}
    shown = url.set(query=query).render_as_string(hide_password=True)
    return shown.replace(quote(MASK), MASK)  # the URL renderer percent-encodes the mask


def database_url(location: str) -> sa.URL:
    try:
        return sa.make_url(location)
    except ArgumentError:
        raise SourceError(
            "The database address is not a database URL; write it like "
            "postgresql+psycopg://user:password@host/database or sqlite:////path/to/file.db."
        ) from None


def fetch(spec: SourceSpec, target: Target) -> Path:
    url = database_url(spec.location)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise SourceError("there is no database file at that path.")
    engine = _engine(url, target.timeout)
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            try:
                _read_only(conn, target.timeout)
                streamed = conn.execution_options(stream_results=True, yield_per=BATCH_ROWS)
                # Run as written: an escaped colon is not a :name bind parameter to SQLAlchemy.
                result = streamed.execute(sa.text((spec.query or "").replace(":", r"\:")))
                if not result.returns_rows:
                    raise SourceError("the query returned no table; it must be a SELECT.")
                path = _write_csv(result, target)
            finally:
                transaction.rollback()
    except DBAPIError as exc:
        raise SourceError(f"the database said: {_database_message(exc)}") from None
    except SQLAlchemyError as exc:  # SQLAlchemy's own words come first, its links after
        raise SourceError(f"the query could not run: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
    return path


def _engine(url: sa.URL, timeout: float) -> sa.Engine:
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, round(timeout))
    try:
        return sa.create_engine(url, poolclass=sa.NullPool, connect_args=connect_args)
    except NoSuchModuleError:
        raise SourceError(
            f"civicport cannot speak to {url.drivername} databases: the URL's database kind is "
            "unknown (postgresql, mysql, sqlite, mssql, oracle are known)."
        ) from None
    except ImportError as exc:
        raise SourceError(
            f"the driver for {url.drivername} is not installed on this server ({exc.name}); "
            "ask the administrator to install it."
        ) from None


def _read_only(conn: sa.Connection, timeout: float) -> None:
    """Tell the database the transaction only reads, and how long the query may run."""
    backend = conn.dialect.name
    if backend == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))}")
    elif backend == "sqlite":
        conn.exec_driver_sql("PRAGMA query_only = ON")


def _write_csv(result: sa.CursorResult[Any], target: Target) -> Path:
    with new_output(target, "query", ".csv") as output:
        writer = csv.writer(output.text())
        writer.writerow(result.keys())
        for rows in result.partitions():
            writer.writerows([_cell(value) for value in row] for row in rows)
    return output.path


def _cell(value: Any) -> Any:
    """A value as CSV text the readers read back as its type."""
    if value is None:
        return ""
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value


def _database_message(exc: DBAPIError) -> str:
    """The database's own words, without SQLAlchemy's wrapping (the statement, the link)."""
    said = str(exc.orig).strip() if exc.orig is not None else str(exc)
    return said.splitlines()[0] if said else type(exc.orig).__name__


def _check_sqlite_file(url: sa.URL, allowed_dirs: Sequence[Path] | None) -> None:
    """SQLite would quietly create a missing file; a source must name one that exists."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise SourceError("A sqlite source must name a database file by its absolute path.")
    path = Path(database)
    if not path.is_absolute():
        raise SourceError(
            "The sqlite database must be named by its absolute path: sqlite:////path/to/file.db "
            "(four slashes)."
        )
    check_allowed(path, allowed_dirs)
