"""Alembic environment: runs on the connection and metadata that :mod:`huabei_watch.db.migrate` hands in.

Run migrations with ``huabei-watch db upgrade`` (it opens the configured database); the ``alembic``
command line is not set up. SQLite gets batch mode, so a later revision can change a column there
(SQLite's ALTER TABLE cannot).
"""

from __future__ import annotations

from alembic import context

from huabei_watch.db.migrate import context_options

config = context.config
connection = config.attributes.get("connection")
metadata = config.attributes.get("metadata")
if connection is None or metadata is None:
    raise RuntimeError("run migrations through `huabei-watch db upgrade`, which opens the configured database")

context.configure(
    connection=connection,
    render_as_batch=connection.dialect.name == "sqlite",
    **context_options(metadata),
)
with context.begin_transaction():
    context.run_migrations()
