"""Alembic environment: runs against the engine civicport hands over (see db/migrate.py)."""

from __future__ import annotations

from alembic import context

from civicport.db.schema import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration rebuilds a table (copy, drop, rename); with foreign keys on, the drop
        # would cascade to every row that references the table. SQLite ignores this pragma
        # inside a transaction, so it is set before the migration's transaction begins.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=sqlite,
                # Per-dataset data tables (d_*) are managed by the datastore, not by migrations.
                include_name=lambda name, type_, _parent: (
                    type_ != "table" or not name.startswith("d_")
                ),
            )
            context.run_migrations()
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
