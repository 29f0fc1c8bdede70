"""Write transactions that cover DDL too, so a failed load leaves nothing behind.

Python's sqlite3 module (before 3.12) opens a transaction only before INSERT/UPDATE/DELETE, so a
CREATE TABLE issued first would commit on its own and a failed load would leave its table behind.
An explicit BEGIN IMMEDIATE makes the whole write one transaction and takes SQLite's single write
lock up front, so two writers queue instead of failing half-way; the write turn
(db.writer) lets a second writer wait as long as a long load takes rather than the busy
timeout. PostgreSQL's DDL is transactional already.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from civicport.db.writer import write_turn


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection inside one transaction: committed if the block returns, rolled back if not.

    >>> with write_transaction(engine) as conn:  # doctest: +SKIP
    ...     conn.exec_driver_sql("CREATE TABLE t (a INTEGER)")
    """
    with write_turn(engine.url), engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
