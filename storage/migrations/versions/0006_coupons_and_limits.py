"""Coupon codes on orders, and the counters and claims of usage limits.

* ``order_coupons``: the codes a customer entered on an order (upper case),
  one row per (order, code), gone with their order.
* ``usage_counters``: how much of a rule's usage limit or budget is used,
  one row per (rule, scope): ``total``, ``customer:KEY``, ``budget:EUR``
  (money in minor units, exact on every database).
* ``usage_claims``: the use each order holds of a limited rule, one row per
  (order, rule), so that deciding the order again claims nothing twice and a
  cancelled order can give its use back.

Downgrading drops the three tables (the codes and the counts go with them).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_coupons",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name="fk_order_coupons_order_id_orders",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "code", name="pk_order_coupons"),
    )
    op.create_table(
        "usage_counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(60), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("spent_minor", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("id", name="pk_usage_counters"),
        sa.UniqueConstraint("rule", "scope", name="uq_usage_counters_rule_scope"),
    )
    op.create_table(
        "usage_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("total", sa.Boolean(), nullable=False),
        sa.Column("customer", sa.String(36), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("spent_minor", sa.BigInteger(), nullable=False),
        sa.Column("give_back", sa.Boolean(), nullable=False),
        sa.Column("rule_set_version", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name="fk_usage_claims_order_id_orders",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_usage_claims"),
        sa.UniqueConstraint("order_id", "rule", name="uq_usage_claims_order_rule"),
    )
    op.create_index("ix_usage_claims_order_id", "usage_claims", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_usage_claims_order_id", table_name="usage_claims")
    op.drop_table("usage_claims")
    op.drop_table("usage_counters")
    op.drop_table("order_coupons")
