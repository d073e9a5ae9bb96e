"""A view of each purchase with the discounts rulec applied to it: it needs
rulec's tables, so it depends on rulec's branch.

Revision ID: shop_0002
Revises: shop_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "shop_0002"
down_revision = "shop_0001"
branch_labels = None
depends_on = "rulec_0001"


def upgrade() -> None:
    op.execute(
        "CREATE VIEW purchase_discounts AS "
        "SELECT a.order_key, a.rule_name, a.description, a.amount "
        "FROM rulec_applied_discounts AS a"
    )


def downgrade() -> None:
    op.execute("DROP VIEW purchase_discounts")
