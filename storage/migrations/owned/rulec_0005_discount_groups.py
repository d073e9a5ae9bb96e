"""Stacking groups in rulec's own audit table: the group a discount won in
(``rulec_applied_discounts.stacking_group``) and what its percentage was taken
of when that was not the subtotal (``base``). Downgrading drops the columns.

Revision ID: rulec_0005
Revises: rulec_0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rulec.storage.base import Money

revision = "rulec_0005"
#: The revision this one follows (the only place it is said).
down_revision = "rulec_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rulec_applied_discounts") as t:
        t.add_column(sa.Column("stacking_group", sa.String(100), nullable=True))
        t.add_column(sa.Column("base", Money(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rulec_applied_discounts") as t:
        t.drop_column("base")
        t.drop_column("stacking_group")
