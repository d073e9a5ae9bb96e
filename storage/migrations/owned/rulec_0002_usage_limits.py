"""rulec's counters and claims of usage limits in a backend's database.

``rulec_usage_counters``: how much of a rule's usage limit or budget is used,
one row per (rule, scope); ``rulec_usage_claims``: the use each order (by its
key as text) holds of a limited rule. Downgrading drops both.

Revision ID: rulec_0002
Revises: rulec_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rulec_0002"
down_revision = "rulec_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rulec_usage_counters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(60), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("spent_minor", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_rulec_usage_counters"),
        sa.UniqueConstraint("rule", "scope", name="uq_rulec_usage_counters_rule"),
    )
    op.create_table(
        "rulec_usage_claims",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_key", sa.String(36), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("total", sa.Boolean(), nullable=False),
        sa.Column("customer", sa.String(36), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("spent_minor", sa.BigInteger(), nullable=False),
        sa.Column("give_back", sa.Boolean(), nullable=False),
        sa.Column("rule_set_version", sa.String(64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rulec_usage_claims"),
        sa.UniqueConstraint("order_key", "rule", name="uq_rulec_usage_claims_order_key"),
    )
    op.create_index("ix_rulec_usage_claims_order_key", "rulec_usage_claims", ["order_key"])


def downgrade() -> None:
    op.drop_index("ix_rulec_usage_claims_order_key", table_name="rulec_usage_claims")
    op.drop_table("rulec_usage_claims")
    op.drop_table("rulec_usage_counters")
