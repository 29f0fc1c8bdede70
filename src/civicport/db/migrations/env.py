"""Alembic environment: runs against the engine civicport hands over (see db/migrate.py)."""

from __future__ import annotations

from alembic import context

from civicport.db.schema import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        # Per-dataset data tables (d_*) are managed by the datastore, not by migrations.
        include_name=lambda name, type_, _parent: type_ != "table" or not name.startswith("d_"),
    )
    context.run_migrations()
