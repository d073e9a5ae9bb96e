"""What does a back-test cost? ``rulec simulate`` over a million stored orders.

Creates ``--count`` orders (default 1,000,000) in a database of its own
with bulk inserts (``COPY`` on PostgreSQL, ``executemany`` in chunks on
SQLite): a customer for every four orders (2% of them with one of 30
campaign labels, 10% ``Trial``), one to three lines per order sold from a
catalog of 200 items (15 item category labels), order labels (``Rush``,
``Gift``), two currencies, two years of creation instants, a discount
stored on some orders. Then a 100-rule set (campaign labels, item
categories, dated sales with a validity window, first orders, big baskets,
currencies, statuses, exclusive and prioritised rules) is back-tested:

* **simulate**: the library call behind ``rulec simulate``: the database
  selects the orders a rule can hold for, the engine decides those;
* **row by row**: what a back-test without SQL does: every order read and
  decided as the engine decides one order (``Engine.evaluate``: the
  single-row fact reader, then ``decide``), over the first ``--python``
  orders (the cost of an order does not depend on how many there are),
  scaled to all of them;
* **batched, every order**: every order decided, its facts read by the
  batch readers (no SQL selection), over the same first orders, scaled.

It prints both times, their ratio (target: simulate 20 times faster than
row by row) and the Python heap's peak (tracemalloc) of simulate at two
order counts (the period's first tenth, then all of it): streamed, the
peak does not grow with the orders (target: under 1.5 times the smaller's).
The two paths' decisions are compared on the orders both decided.

    .venv/bin/python bench/backtest.py                          # 1,000,000 on PostgreSQL
    .venv/bin/python bench/backtest.py --count 200000 --reuse   # keep the seeded orders
    .venv/bin/python bench/backtest.py --db sqlite --count 2000 --python 500 --check
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import sqlalchemy
from benchlib import bench_database
from sqlalchemy import Engine as DbEngine
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

import rulec
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.db.attach import Engine
from rulec.engine.db.backtest import (
    Period,
    decide_stored,
    every_order,
    read_only,
    select_orders,
)
from rulec.storage import migrate
from rulec.storage.models import (
    Customer,
    Item,
    Label,
    Order,
    OrderItem,
    customer_labels,
    item_labels,
    order_labels,
)
from rulec.storage.session import make_engine, mask_url
from rulec.tools.simulate import Simulation, simulate

DEFAULT_PG_URL = os.environ.get(
    "RULEC_BENCH_BACKTEST_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/rulec_bench_backtest",
)
EVENT = "order_created"
SPEED_TARGET = 20.0
MEMORY_TARGET = 1.5
CHUNK = 20_000
START = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 730
CAMPAIGNS, CATEGORIES, ITEMS = 30, 15, 200

EXIT_OK, EXIT_MISSED, EXIT_ERROR = 0, 1, 2


# ------------------------------------------------------------------ the rules --


def rule_text() -> str:
    """The 100 rules: campaigns, categories, dated sales, first orders, baskets, …"""
    out = [
        "label " + ", ".join(f"Campaign_{k}" for k in range(CAMPAIGNS)) + ", Trial for customer",
        "label " + ", ".join(f"Category_{k}" for k in range(CATEGORIES)) + " for item",
        "label Rush, Gift for order",
        "",
    ]
    n = 0

    def rule(body: str, meta: str = "") -> None:
        nonlocal n
        n += 1
        out.append(f'rule "R{n:03d}"\n{meta}  on order_created {body}\nend\n')

    for k in range(CAMPAIGNS):  # 30: a campaign's customers
        rule(f'when customer has label Campaign_{k} then discount {5 + k % 10}% "Campaign {k}"')
    for k in range(CATEGORIES):  # 15: a category in the basket, above an amount
        rule(
            f"when any item has label Category_{k} and order subtotal >= {100 + 10 * k}.00 "
            f'then discount 3.00 EUR "Category {k}"'
        )
    for k in range(20):  # 20: dated sales, a week each, above an amount
        day = START + timedelta(days=30 * k + 5)
        until = day + timedelta(days=7)
        meta = f"  priority {k % 3}\n  from {day:%Y-%m-%d} until {until:%Y-%m-%d} Europe/Paris\n"
        rule(f'when order subtotal >= 400.00 then discount 8% "Sale {k}"', meta)
    for k in range(10):  # 10: a customer's first order, in a currency
        currency = "EUR" if k % 2 == 0 else "USD"
        rule(
            f"when customer order count = 0 and order currency is {currency} "
            f"and order subtotal >= {300 + 50 * k}.00 "
            f'then discount {k + 1}.00 {currency} "Welcome {k}"'
        )
    for k in range(10):  # 10: rush or gift orders, by status
        label = "Rush" if k % 2 == 0 else "Gift"
        status = ("paid", "shipped", "completed", "new", "confirmed")[k % 5]
        rule(
            f"when order has label {label} and order status is {status} "
            f'then discount 2% "{label} {k}"'
        )
    for k in range(10):  # 10: big baskets, exclusive ones among them
        meta = "  priority 5\n  exclusive\n" if k % 3 == 0 else ""
        rule(
            f"when order item count >= {12 + k} and order subtotal >= {500 + 100 * k}.00 "
            f'then discount 12% "Big basket {k}"',
            meta,
        )
    for k in range(5):  # 5: trial customers' bigger orders, not on sale items
        rule(
            f"when customer has label Trial and order subtotal between {200 + 20 * k}.00 "
            f"and {220 + 20 * k}.00 and not any item has label Category_{k} "
            f'then discount 4% "Trial {k}"'
        )
    assert n == 100, n
    return "\n".join(out)


# --------------------------------------------------------------- the orders --

STATUSES = ("new", "confirmed", "paid", "shipped", "completed", "cancelled")
CENT = Decimal("0.01")


def items() -> list[tuple[int, str, Decimal, int | None]]:
    """(id, name, unit price, category label id) of the catalog."""
    rnd = random.Random(7)
    out = []
    for i in range(1, ITEMS + 1):
        price = Decimal(rnd.randint(200, 6000)) / 100
        out.append((i, f"Item {i}", price, i // 20 % CATEGORIES if i % 20 == 0 else None))
    return out


def rows(count: int) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """("customer" | "clabel" | "order" | "olabel" | "line", row) in id order."""
    rnd = random.Random(16)
    catalog = items()
    customers = max(1, count // 4)
    for c in range(1, customers + 1):
        yield "customer", (c, f"Customer {c}")
        if c % 50 == 0:
            yield "clabel", (c, 1 + c // 50 % CAMPAIGNS)  # Campaign_k: label id k + 1
        if c % 10 == 3:
            yield "clabel", (c, CAMPAIGNS + 1)  # Trial
    line_id = 0
    for o in range(1, count + 1):
        customer = rnd.randint(1, customers) if rnd.random() < 0.95 else None
        currency = "EUR" if rnd.random() < 0.9 else "USD"
        created = START + timedelta(seconds=int(DAYS * 86400 * (o - 1) / count))
        subtotal = Decimal(0)
        lines = []
        for _ in range(rnd.randint(1, 3)):
            line_id += 1
            item_id, name, price, _ = catalog[rnd.randrange(ITEMS)]
            quantity = rnd.randint(1, 6)
            total = (price * quantity).quantize(CENT, ROUND_HALF_UP)
            subtotal += total
            sold = item_id if currency == "EUR" else None  # the catalog is in EUR
            lines.append((line_id, o, sold, name, quantity, price, total, Decimal(0)))
        stored = (subtotal * Decimal("0.05")).quantize(CENT) if o % 7 == 0 else Decimal(0)
        status = STATUSES[rnd.randrange(len(STATUSES))]
        yield (
            "order",
            (o, customer, currency, subtotal, stored, subtotal - stored, created, status),
        )
        if o % 33 == 0:
            yield "olabel", (o, LABEL_IDS["Rush"])
        if o % 50 == 1:
            yield "olabel", (o, LABEL_IDS["Gift"])
        for line in lines:
            yield "line", line


LABEL_ROWS = [
    *((k + 1, f"Campaign_{k}", "customer") for k in range(CAMPAIGNS)),
    (CAMPAIGNS + 1, "Trial", "customer"),
    (CAMPAIGNS + 2, "Rush", "order"),
    (CAMPAIGNS + 3, "Gift", "order"),
    *((CAMPAIGNS + 4 + k, f"Category_{k}", "item") for k in range(CATEGORIES)),
]
LABEL_IDS = {name: i for i, name, _ in LABEL_ROWS}
COLUMNS = {
    "customer": ("customers", ("id", "name")),
    "clabel": ("customer_labels", ("customer_id", "label_id")),
    "order": (
        "orders",
        (
            "id",
            "customer_id",
            "currency",
            "subtotal",
            "discount_amount",
            "total_amount",
            "created_at",
            "status",
        ),
    ),
    "olabel": ("order_labels", ("order_id", "label_id")),
    "line": (
        "order_items",
        (
            "id",
            "order_id",
            "item_id",
            "description",
            "quantity",
            "unit_price",
            "line_total",
            "discount_amount",
        ),
    ),
}
TABLES = {
    "customer": Customer.__table__,
    "clabel": customer_labels,
    "order": Order.__table__,
    "olabel": order_labels,
    "line": OrderItem.__table__,
}


def seed(db: DbEngine, count: int) -> dict[str, int]:
    """The shop, written in bulk; how many rows of each kind."""
    migrate.downgrade(db, "base")
    migrate.upgrade(db)
    with db.begin() as conn:
        conn.execute(
            insert(Label.__table__),
            [{"id": i, "name": n, "entity_type": t} for i, n, t in LABEL_ROWS],
        )
        conn.execute(
            insert(Item.__table__),
            [{"id": i, "name": n, "unit_price": p, "currency": "EUR"} for i, n, p, _ in items()],
        )
        conn.execute(
            insert(item_labels),
            [
                {"item_id": i, "label_id": LABEL_IDS[f"Category_{c}"]}
                for i, _, _, c in items()
                if c is not None
            ],
        )
    if db.dialect.name == "postgresql":
        written = _copy(db, count)
        with db.begin() as conn:
            for table in ("customers", "orders", "order_items", "labels", "items"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
                )
        with db.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    else:
        written = _executemany(db, count)
    return written


def _copy(db: DbEngine, count: int) -> dict[str, int]:
    """One COPY per table, the referenced ones first (the rows are made again for each)."""
    written = dict.fromkeys(COLUMNS, 0)
    raw = db.raw_connection()
    try:
        pg = raw.driver_connection
        assert pg is not None
        with pg.cursor() as cur:
            for kind in ("customer", "clabel", "order", "olabel", "line"):
                table, columns = COLUMNS[kind]
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for k, row in rows(count):
                        if k == kind:
                            copy.write_row(row)
                            written[kind] += 1
                        elif k == "order" and kind in ("customer", "clabel"):
                            break  # the customers come first
        pg.commit()
    finally:
        raw.close()
    return written


def _executemany(db: DbEngine, count: int) -> dict[str, int]:
    written = dict.fromkeys(COLUMNS, 0)
    pending: dict[str, list[dict[str, Any]]] = {k: [] for k in COLUMNS}
    order = ("customer", "clabel", "order", "olabel", "line")

    def flush(conn: Any, upto: str) -> None:
        for kind in order[: order.index(upto) + 1]:  # the rows they refer to first
            if pending[kind]:
                conn.execute(insert(TABLES[kind]), pending[kind])
                written[kind] += len(pending[kind])
                pending[kind] = []

    with db.begin() as conn:
        for kind, row in rows(count):
            pending[kind].append(dict(zip(COLUMNS[kind][1], row, strict=True)))
            if len(pending[kind]) >= CHUNK:
                flush(conn, kind)
        flush(conn, "line")
    return written


def stored_orders(db: DbEngine) -> int:
    try:
        with db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Order.__table__)).scalar_one())
    except sqlalchemy.exc.SQLAlchemyError:
        return -1


# ------------------------------------------------------------------ running --


def run_simulate(
    db: DbEngine, rules: RuleSet, period: Period, trace: bool
) -> tuple[Simulation, float, float | None]:
    if trace:
        tracemalloc.start()
    try:
        t0 = time.perf_counter()
        sim = simulate(db, rules, EVENT, period)
        seconds = time.perf_counter() - t0
        heap = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    finally:
        if trace:
            tracemalloc.stop()
    return sim, seconds, heap


def row_by_row(db: DbEngine, rules: RuleSet, limit: int) -> tuple[dict[int, Any], float]:
    """The first ``limit`` orders, each read and decided as the engine decides one order."""
    engine = Engine(rules)
    decided: dict[int, Any] = {}
    t0 = time.perf_counter()
    with Session(db) as s:
        query = select(Order).order_by(Order.id).limit(limit).execution_options(yield_per=500)
        for order in s.scalars(query):
            decided[order.id] = _key(engine.evaluate(EVENT, order, s))
            s.expunge(order)
        s.rollback()
    return decided, time.perf_counter() - t0


def batched_every(db: DbEngine, rules: RuleSet, limit: int) -> float:
    """The first ``limit`` orders, all decided, their facts read by the batch readers."""
    every = every_order(Period())
    t0 = time.perf_counter()
    seen = 0
    with read_only(db) as conn:
        for page in decide_stored(conn, [rules], EVENT, every):
            seen += len(page)
            if seen >= limit:
                break
    return time.perf_counter() - t0


def _key(d: Any) -> tuple[Any, ...]:
    return (d.matched, tuple((a.rule, a.amount) for a in d.applied), d.discount_amount)


def agree(db: DbEngine, rules: RuleSet, expected: dict[int, Any]) -> list[str]:
    """The back-test's decisions of the first orders are the row-by-row ones."""
    last = max(expected)
    got: dict[int, Any] = {}
    selection = select_orders([rules], EVENT, Period())
    with read_only(db) as conn:
        for page in decide_stored(conn, [rules], EVENT, selection):
            for o in page:
                if o.id <= last:
                    got[o.id] = _key(o.decisions[0])
            if page[-1].id > last:
                break
    missed = []
    none = ((), (), Decimal(0))
    for oid, want in expected.items():
        have = got.get(oid)
        if have is None and want[0] == () and not want[2]:
            continue
        if have != want:
            missed.append(f"order {oid}: back-test {have or none}, row by row {want}")
            if len(missed) >= 5:
                break
    return missed


def bench(args: argparse.Namespace, url: str) -> list[str]:
    db = make_engine(url)
    missed: list[str] = []
    try:
        if args.reuse and stored_orders(db) == args.count:
            print(f"reusing the {args.count:,} orders stored in {mask_url(url)}")
        else:
            t0 = time.perf_counter()
            written = seed(db, args.count)
            print(
                f"seeded {written['order']:,} orders, {written['line']:,} lines, "
                f"{written['customer']:,} customers, "
                f"{written['clabel'] + written['olabel']:,} labels on them "
                f"in {time.perf_counter() - t0:.1f} s"
            )
        rules = rulec.load_text(rule_text(), "bench/backtest.rules")
        print(f"{len(rules.rules_of(EVENT))} rules on {EVENT}")

        sim, sim_s, _ = run_simulate(db, rules, Period(), trace=False)
        total = sim.orders
        print(
            f"simulate: {total:,} orders, {sim.decided:,} selected by SQL and decided "
            f"({sim.decided / max(total, 1):.1%}), {sim.inexact_orders:,} for rules SQL "
            f"cannot express, in {sim_s:.2f} s"
        )
        sample = min(args.python, total)
        expected, row_s = row_by_row(db, rules, sample)
        row_all = row_s * total / sample
        batch_s = batched_every(db, rules, sample)
        batch_all = batch_s * total / sample
        ratio = row_all / sim_s
        print()
        print(f"{'path':<34}{'orders':>12}{'seconds':>12}{'orders/s':>12}")
        name = "simulate (SQL selects, engine)"
        print(f"{name:<34}{total:>12,}{sim_s:>12.2f}{total / sim_s:>12,.0f}")
        print(
            f"{'row by row (Engine.evaluate)':<34}{sample:>12,}{row_s:>12.2f}"
            f"{sample / row_s:>12,.0f}"
            f"   -> {row_all:,.1f} s for {total:,}"
        )
        print(
            f"{'batched, every order':<34}{sample:>12,}{batch_s:>12.2f}{sample / batch_s:>12,.0f}"
            f"   -> {batch_all:,.1f} s for {total:,}"
        )
        print(
            f"simulate is {ratio:.1f}x faster than row by row (target >= {SPEED_TARGET:.0f}x), "
            f"{batch_all / sim_s:.1f}x faster than batched over every order"
        )
        if ratio < SPEED_TARGET:
            missed.append(
                f"simulate is {ratio:.1f}x faster than row by row, target {SPEED_TARGET}x"
            )
        missed += agree(db, rules, expected)

        with db.connect() as conn:
            low, high = conn.execute(
                select(func.min(Order.created_at), func.max(Order.created_at))
            ).one()
        tenth = Period(None, _aware(low) + (_aware(high) - _aware(low)) / 10)
        small, _, small_heap = run_simulate(db, rules, tenth, trace=True)
        big, _, big_heap = run_simulate(db, rules, Period(), trace=True)
        assert small_heap is not None and big_heap is not None
        print()
        print(f"{'peak Python heap of simulate':<34}{'orders':>12}{'decided':>12}{'heap MB':>12}")
        print(
            f"{'  the first tenth':<34}{small.orders:>12,}{small.decided:>12,}{small_heap:>12.1f}"
        )
        print(f"{'  all of them':<34}{big.orders:>12,}{big.decided:>12,}{big_heap:>12.1f}")
        growth = big_heap / small_heap
        print(
            f"the heap's peak grows {growth:.2f}x "
            f"for {big.orders / max(small.orders, 1):.1f}x the orders"
        )
        if growth > MEMORY_TARGET:
            missed.append(f"simulate's heap grew {growth:.2f}x, target < {MEMORY_TARGET}x")
        if big.decided != sim.decided or big.discount != sim.discount:
            missed.append("two simulations of the same orders differ")
    finally:
        db.dispose()
    return missed


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--count", type=int, default=1_000_000, help="orders (1,000,000)")
    ap.add_argument(
        "--python",
        type=int,
        default=20_000,
        help="orders decided by the Python paths, scaled to all (20,000)",
    )
    ap.add_argument(
        "--db",
        default=DEFAULT_PG_URL,
        help="database URL, or 'sqlite' for a file in a temporary folder "
        "(default: the PostgreSQL database rulec_bench_backtest, created when missing)",
    )
    ap.add_argument(
        "--reuse", action="store_true", help="keep the orders already seeded when they are --count"
    )
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    if args.count < 10 or args.python < 1:
        ap.error("--count must be at least 10 and --python at least 1")

    with tempfile.TemporaryDirectory(prefix="rulec-bench-") as tmp:
        try:
            url, version = bench_database(args.db, Path(tmp))
        except sqlalchemy.exc.OperationalError as e:
            print(f"{mask_url(args.db)} is not reachable: {e.orig}", file=sys.stderr)
            return EXIT_ERROR
        print(
            f"Python {sys.version.split()[0]}, SQLAlchemy {sqlalchemy.__version__}, {version}, "
            f"{os.cpu_count()} CPUs; {args.count:,} orders, 100 rules"
        )
        print(f"database: {mask_url(url)}")
        missed = bench(args, url)
    if missed:
        print("\nmissed targets:\n  " + "\n  ".join(missed), file=sys.stderr)
    else:
        print("targets met: 20x faster than row by row, flat memory, the same decisions")
    return EXIT_MISSED if missed and args.check else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
