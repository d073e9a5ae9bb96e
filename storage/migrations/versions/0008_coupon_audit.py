"""Coupon audit rows: what became of each code entered, which code unlocked a
discount, and the uses counted per code.

* ``order_coupons``: ``outcome`` (the stable reason code: ``applied``,
  ``unknown``, …), ``reason`` (in words), ``rule`` (the rule the outcome
  names) and ``rule_set_version``, written each time the order is decided;
* ``applied_discounts.coupon_code``: the code that unlocked the discount;
* ``usage_claims.code``: the code whose uses a claim counts in (``limit 1 use
  per code``), and ``usage_counters.scope`` long enough for ``code:CODE``.

Downgrading drops the columns, and the counters of uses per code (their
claims say nothing without the code) before the scope is shortened again.

Revision ID: 0008_coupon_audit
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_coupon_audit"
#: The revision this one follows (the only place it is said).
down_revision = "0007_shipping"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_coupons") as t:
        t.add_column(sa.Column("outcome", sa.String(40), nullable=True))
        t.add_column(sa.Column("reason", sa.Text(), nullable=True))
        t.add_column(sa.Column("rule", sa.String(200), nullable=True))
        t.add_column(sa.Column("rule_set_version", sa.String(64), nullable=True))
    with op.batch_alter_table("applied_discounts") as t:
        t.add_column(
            sa.Column("coupon_code", sa.String(100), nullable=True, server_default=sa.text("NULL"))
        )
    with op.batch_alter_table("usage_claims") as t:
        t.add_column(sa.Column("code", sa.String(100), nullable=True))
    with op.batch_alter_table("usage_counters") as t:
        t.alter_column(
            "scope", existing_type=sa.String(60), type_=sa.String(120), existing_nullable=False
        )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM usage_counters WHERE scope LIKE 'code:%'"))
    with op.batch_alter_table("usage_counters") as t:
        t.alter_column(
            "scope", existing_type=sa.String(120), type_=sa.String(60), existing_nullable=False
        )
    with op.batch_alter_table("usage_claims") as t:
        t.drop_column("code")
    with op.batch_alter_table("applied_discounts") as t:
        t.drop_column("coupon_code")
    with op.batch_alter_table("order_coupons") as t:
        t.drop_column("rule_set_version")
        t.drop_column("rule")
        t.drop_column("reason")
        t.drop_column("outcome")
