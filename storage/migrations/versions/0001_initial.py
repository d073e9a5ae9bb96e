"""Customers, labels, orders with their discount fields, and the engine's audit rows.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rulec.storage.base import Money, Percent

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
    )
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("entity_type", sa.String(30), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.UniqueConstraint("name", name=op.f("uq_labels_name")),
    )
    op.create_table(
        "customer_labels",
        sa.Column(
            "customer_id",
            sa.Integer(),
            sa.ForeignKey(
                "customers.id",
                ondelete="CASCADE",
                name=op.f("fk_customer_labels_customer_id_customers"),
            ),
            primary_key=True,
        ),
        sa.Column(
            "label_id",
            sa.Integer(),
            sa.ForeignKey(
                "labels.id", ondelete="CASCADE", name=op.f("fk_customer_labels_label_id_labels")
            ),
            primary_key=True,
        ),
        sa.Column(
            "assigned_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "customer_id",
            sa.Integer(),
            sa.ForeignKey(
                "customers.id", ondelete="SET NULL", name=op.f("fk_orders_customer_id_customers")
            ),
            nullable=True,
        ),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("subtotal", Money(), nullable=False),
        sa.Column("discount_percentage", Percent(), nullable=True),
        sa.Column("discount_amount", Money(), nullable=False),
        sa.Column("discount_description", sa.Text(), nullable=True),
        sa.Column("total_amount", Money(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule_set_version", sa.String(64), nullable=True),
    )
    op.create_index(op.f("ix_orders_customer_id"), "orders", ["customer_id"])
    for table, extra in (
        (
            "applied_discounts",
            [
                sa.Column("rule_set_version", sa.String(64), nullable=False),
                sa.Column("kind", sa.String(20), nullable=False),
                sa.Column("percentage", Percent(), nullable=True),
                sa.Column("amount", Money(), nullable=False),
                sa.Column("description", sa.Text(), nullable=False),
            ],
        ),
        ("rule_errors", [sa.Column("message", sa.Text(), nullable=False)]),
    ):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column(
                "order_id",
                sa.Integer(),
                sa.ForeignKey(
                    "orders.id", ondelete="CASCADE", name=op.f(f"fk_{table}_order_id_orders")
                ),
                nullable=False,
            ),
            sa.Column("rule_name", sa.String(200), nullable=False),
            sa.Column("rule_file", sa.String(500), nullable=False),
            sa.Column("rule_line", sa.Integer(), nullable=False),
            *extra,
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        )
        op.create_index(op.f(f"ix_{table}_order_id"), table, ["order_id"])


def downgrade() -> None:
    for table in ("rule_errors", "applied_discounts"):
        op.drop_index(op.f(f"ix_{table}_order_id"), table_name=table)
        op.drop_table(table)
    op.drop_index(op.f("ix_orders_customer_id"), table_name="orders")
    op.drop_table("orders")
    op.drop_table("customer_labels")
    op.drop_table("labels")
    op.drop_table("customers")
