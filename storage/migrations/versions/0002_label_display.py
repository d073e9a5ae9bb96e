"""Labels keep the old system's display fields: a colour and a "visible to client" flag.

The description came with 0001. Downgrading drops the two columns (and what
they held); every other row and column is kept. SQLite rebuilds the table
(batch mode); rulec.storage.migrate switches its foreign keys off meanwhile,
so the rebuild does not cascade into customer_labels.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("labels") as batch:
        batch.add_column(sa.Column("color", sa.String(30), nullable=True))
        batch.add_column(
            sa.Column("visible_to_client", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("labels") as batch:
        batch.drop_column("visible_to_client")
        batch.drop_column("color")
