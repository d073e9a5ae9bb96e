"""An order's shipping charge and the shipping discount rules took off it.

* ``orders.shipping_amount``: the order's shipping charge, before any
  shipping discount (an input, as the subtotal is); not null, 0 for every
  order stored before, which had no shipping charge.
* ``orders.shipping_discount``: what the shipping discounts took off it
  (written by the engine); not null, 0.
* CHECK constraints: neither is ever negative.

The total written on an order is its subtotal less its discount, plus its
shipping charge less its shipping discount: an order stored before keeps
its total, as both are 0.

Downgrading drops the two columns (and their checks): the shipping charges
are lost with them, and a total that included one is left as it is. On
SQLite, ``orders`` is rebuilt (batch mode), with foreign keys off meanwhile
(rulec.storage.migrate).

Revision ID: 0007_shipping
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rulec.storage.base import Money

revision = "0007_shipping"
down_revision = "0006"
branch_labels = None
depends_on = None

#: The columns this revision adds to ``orders``.
COLUMNS = ("shipping_amount", "shipping_discount")


def _check_name(column: str) -> str:
    return f"ck_orders_{column}_not_negative"


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for column in COLUMNS:
            batch.add_column(
                sa.Column(column, Money(), nullable=False, server_default=sa.text("0"))
            )
            batch.create_check_constraint(op.f(_check_name(column)), f"{column} >= 0")


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for column in reversed(COLUMNS):
            batch.drop_constraint(op.f(_check_name(column)), type_="check")
            batch.drop_column(column)
