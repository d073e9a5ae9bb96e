"""The shop's Alembic environment. Its metadata and rulec's, so that
autogenerate never offers to drop rulec's tables."""

from __future__ import annotations

from alembic import context
from shop.models import Base

from rulec.storage.owned import OWNED

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=[Base.metadata, OWNED])
    with context.begin_transaction():
        context.run_migrations()
