"""The shop's tables.

Revision ID: shop_0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rulec.storage.base import Money, Percent

revision = "shop_0001"
down_revision = None
branch_labels = ("shop",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("holder_type", sa.String(20), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.create_table(
        "customers",
        sa.Column("uuid", sa.Uuid(), primary_key=True),
        sa.Column("full_name", sa.String(100), nullable=False),
    )
    op.create_table(
        "purchases",
        sa.Column("purchase_key", sa.Uuid(), primary_key=True),
        sa.Column("buyer_key", sa.Uuid(), sa.ForeignKey("customers.uuid"), index=True),
        sa.Column("net_amount", Money(), nullable=False),
        sa.Column("currency_code", sa.String(3), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True)),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("discount_percentage", Percent()),
        sa.Column("discount_amount", Money(), nullable=False),
        sa.Column("discount_description", sa.Text()),
        sa.Column("total_amount", Money(), nullable=False),
        sa.Column("rule_set_version", sa.String(64)),
    )
    op.create_table(
        "purchase_lines",
        sa.Column("no", sa.Integer(), primary_key=True),
        sa.Column(
            "purchase_key",
            sa.Uuid(),
            sa.ForeignKey("purchases.purchase_key", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("price", Money(), nullable=False),
        sa.Column("share", Money(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("purchase_lines")
    op.drop_table("purchases")
    op.drop_table("customers")
    op.drop_table("tags")
