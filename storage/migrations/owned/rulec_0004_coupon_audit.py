"""Coupon audit in rulec's own tables: the code that unlocked a discount
(``rulec_applied_discounts.coupon_code``), the code whose uses a claim counts in
(``rulec_usage_claims.code``), and ``rulec_usage_counters.scope`` long enough
for ``code:CODE``. What became of each code entered is written on the
backend's own rows of codes, in the columns its binding maps (none: nothing is
written). Downgrading drops the columns, and the counters of uses per code.

Revision ID: rulec_0004
Revises: rulec_0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rulec_0004"
#: The revision this one follows (the only place it is said).
down_revision = "rulec_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rulec_applied_discounts") as t:
        t.add_column(sa.Column("coupon_code", sa.String(100), nullable=True))
    with op.batch_alter_table("rulec_usage_claims") as t:
        t.add_column(sa.Column("code", sa.String(100), nullable=True))
    with op.batch_alter_table("rulec_usage_counters") as t:
        t.alter_column(
            "scope", existing_type=sa.String(60), type_=sa.String(120), existing_nullable=False
        )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM rulec_usage_counters WHERE scope LIKE 'code:%'"))
    with op.batch_alter_table("rulec_usage_counters") as t:
        t.alter_column(
            "scope", existing_type=sa.String(120), type_=sa.String(60), existing_nullable=False
        )
    with op.batch_alter_table("rulec_usage_claims") as t:
        t.drop_column("code")
    with op.batch_alter_table("rulec_applied_discounts") as t:
        t.drop_column("coupon_code")
