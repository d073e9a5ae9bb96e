"""Alembic environment: runs on the connection handed over by rulec.storage.migrate."""

from __future__ import annotations

from alembic import context

from rulec.storage import models  # noqa: F401 - registers the tables
from rulec.storage.base import Base

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations through rulec.storage.migrate or 'rulec db'")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
