"""Stacking groups in the audit: the group a discount won in, and its base.

* ``applied_discounts.stacking_group``: the group of the rule whose discount
  the row records (``in group Winter``), None for a rule in no group;
* ``applied_discounts.base``: what its percentage was taken of, when that was
  not the subtotal (a group ``after`` others: the subtotal less their
  discounts), so that a row of 20 % and 19.00 on a subtotal of 100.00 reads
  right; None when it was the subtotal.

Downgrading drops the columns; the rows stay.

Revision ID: 0009_discount_groups
Revises: 0008_coupon_audit
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rulec.storage.base import Money

revision = "0009_discount_groups"
#: The revision this one follows (the only place it is said).
down_revision = "0008_coupon_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applied_discounts") as t:
        t.add_column(
            sa.Column(
                "stacking_group", sa.String(100), nullable=True, server_default=sa.text("NULL")
            )
        )
        t.add_column(sa.Column("base", Money(), nullable=True, server_default=sa.text("NULL")))


def downgrade() -> None:
    with op.batch_alter_table("applied_discounts") as t:
        t.drop_column("base")
        t.drop_column("stacking_group")
