"""Alembic's entry: migrations run on the connection `archlab.store.db.migrate` hands over (online
only), against the tables every knowledge module registers."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from archlab.store import db  # noqa: F401 - registers every table in SQLModel.metadata
from archlab.store.db import migrated

MIGRATION_LOCK = 7_291_042  # a PostgreSQL advisory lock id: several runs starting at once migrate one at a time


connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata, compare_type=True,
                  include_name=migrated,  # not the pgvector mirror: made on first use
                  render_as_batch=connection.dialect.name == "sqlite")  # SQLite alters tables by copying them
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    context.run_migrations()
