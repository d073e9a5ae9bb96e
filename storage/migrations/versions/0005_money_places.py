"""Money keeps its currency's places, and is never negative.

* On PostgreSQL the money columns become NUMERIC without a fixed scale, so
  a value is read back with the places it was written with (12.50 EUR, 1799
  JPY), not NUMERIC(14, 4)'s 12.5000; the models write every amount with
  its currency's places (rulec.storage.currencies) and the Money type checks
  the old limits (10 digits before the point, 4 after) on every database.
  SQLite keeps its decimal text.
* Stored amounts are rewritten with their currency's places where that
  loses nothing (12.5000 and 12.5 EUR become 12.50; a unit price 1.4790
  becomes 1.479). An amount finer than its currency's minor unit (a
  subtotal of 10.005 EUR stored by an older rulec) is kept as it is, and
  logged (10.0050 reads 10.005): deciding that order again refuses it until
  it is corrected.
* CHECK constraints: an order's subtotal, discount and total, and an order
  line's unit price, total and share, are never negative. The upgrade
  refuses (and changes nothing) when a stored amount is negative.

Downgrading drops the CHECK constraints and gives PostgreSQL its
NUMERIC(14, 4) back (every value fits: the Money type never wrote more);
the amounts keep their values. On SQLite, ``orders`` and ``order_items``
are rebuilt (batch mode), with foreign keys off meanwhile
(rulec.storage.migrate).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-16
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

from rulec.storage.base import Money
from rulec.storage.currencies import AmountError, amount
from rulec.storage.migrate import MigrationError

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

logger = logging.getLogger("rulec.storage")

#: The money columns, by table: (column, whether it may be finer than the minor unit).
MONEY: dict[str, tuple[tuple[str, bool], ...]] = {
    "orders": (("subtotal", False), ("discount_amount", False), ("total_amount", False)),
    "order_items": (("unit_price", True), ("line_total", False), ("discount_amount", False)),
    "applied_discounts": (("amount", False),),
    "items": (("unit_price", True),),
    "prices": (("amount", True),),
}
#: The CHECK constraints: (table, column) never negative.
NOT_NEGATIVE = (
    ("orders", "subtotal"),
    ("orders", "discount_amount"),
    ("orders", "total_amount"),
    ("order_items", "unit_price"),
    ("order_items", "line_total"),
    ("order_items", "discount_amount"),
)


def _check_name(table: str, column: str) -> str:
    return f"ck_{table}_{column}_not_negative"


def _refuse_negative_amounts() -> None:
    """Refuse to add CHECKs the stored rows break: nothing is guessed or lost."""
    bind = op.get_bind()
    found = []
    for table, column in NOT_NEGATIVE:
        t = sa.table(table, sa.column(column))
        n = bind.execute(sa.select(sa.func.count()).where(t.c[column] < 0)).scalar_one()
        if n:
            found.append(f"{table}.{column} ({n})")
    if found:
        raise MigrationError(
            f"negative amounts in {', '.join(found)}; amounts are never negative. "
            "Correct those rows, then upgrade again; nothing was changed"
        )


def _rows(table: str) -> sa.Select[Any]:
    """(id, currency, amounts…) of every row of ``table``; a line's and an audit
    row's currency is its order's."""
    columns = [sa.column(name, Money()) for name, _ in MONEY[table]]
    t = sa.table(table, sa.column("id"), *columns)
    if table in ("order_items", "applied_discounts"):
        orders = sa.table("orders", sa.column("id"), sa.column("currency"))
        t.append_column(sa.column("order_id"))
        return sa.select(t.c.id, orders.c.currency, *(t.c[c.name] for c in columns)).join_from(
            t, orders, orders.c.id == t.c.order_id
        )
    t.append_column(sa.column("currency"))
    return sa.select(t.c.id, t.c.currency, *(t.c[c.name] for c in columns))


def _rewrite_places() -> None:
    """Every stored amount with its currency's places (12.5000 EUR -> 12.50)."""
    bind = op.get_bind()
    for table, columns in MONEY.items():
        names = [name for name, _ in columns]
        t = sa.table(table, sa.column("id"), *(sa.column(n, Money()) for n in names))
        changed, finer = [], []
        for row in bind.execute(_rows(table)):
            rid, currency = row[0], row[1] or "EUR"
            values: list[Any] = list(row[2:])
            now = list(values)
            for n, ((name, may_be_finer), value) in enumerate(zip(columns, values, strict=True)):
                try:
                    now[n] = amount(value, currency, "amount", finer=may_be_finer)
                except AmountError:  # finer than the minor unit (none is negative by now)
                    now[n] = value.normalize()  # kept, without NUMERIC(14, 4)'s zeros
                    finer.append(f"{table} {rid} {name} {now[n]} {currency}")
            if [str(v) for v in now] != [str(v) for v in values]:
                changed.append(
                    {"_id": rid, **{f"_{k}": v for k, v in zip(names, now, strict=True)}}
                )
        if changed:
            update = sa.update(t).where(t.c.id == sa.bindparam("_id"))
            bind.execute(update.values({k: sa.bindparam(f"_{k}") for k in names}), changed)
        if finer:
            logger.warning(
                "%d amount(s) of %s are finer than their currency's minor unit and were "
                "kept as they are (first: %s); deciding such an order again refuses it "
                "until it is corrected",
                len(finer),
                table,
                finer[0],
            )


def _retype(new: sa.types.TypeEngine[Decimal], old: sa.types.TypeEngine[Decimal]) -> None:
    if op.get_bind().dialect.name == "sqlite":  # decimal text, whatever the type says
        return
    for table, columns in MONEY.items():
        for name, _ in columns:
            op.alter_column(table, name, type_=new, existing_type=old)


def upgrade() -> None:
    _refuse_negative_amounts()
    _retype(sa.Numeric(asdecimal=True), sa.Numeric(14, 4, asdecimal=True))
    _rewrite_places()
    for table in ("orders", "order_items"):
        with op.batch_alter_table(table) as batch:
            for t, column in NOT_NEGATIVE:
                if t == table:
                    batch.create_check_constraint(
                        op.f(_check_name(table, column)), f"{column} >= 0"
                    )


def downgrade() -> None:
    for table in ("order_items", "orders"):
        with op.batch_alter_table(table) as batch:
            for t, column in NOT_NEGATIVE:
                if t == table:
                    batch.drop_constraint(op.f(_check_name(table, column)), type_="check")
    _retype(sa.Numeric(14, 4, asdecimal=True), sa.Numeric(asdecimal=True))
