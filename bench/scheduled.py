"""What does a scheduled run cost? ``rulec run daily`` over a million customers.

Creates ``--count`` customers (default 1,000,000) with bulk inserts (``COPY``
on PostgreSQL, ``executemany`` in chunks on SQLite): a tenth of them with
the label ``Trial``, a hundredth ``Gold`` (half of those already ``VIP``),
and three orders for every twentieth. Then runs the ``daily`` rules (the
library call behind ``rulec run daily``) three times:

* **first day**: the loyalty rule moves every Trial customer with three
  orders to ``Loyal`` and the Gold rule adds the missing ``VIP`` labels
  (5% of the customers change);
* **same day again**: the period is done, nothing is read;
* **next day**: every rule still matches its customers but changes
  nothing (no statement is spent on them): the cost of reading alone.

Figures per run: rows, seconds, rows/s, rows changed, batches, statements
per batch (counted by a ``before_cursor_execute`` listener) for batches
without changes and extra statements per changed row, and the growth of the
process's resident memory during the run (``--tracemalloc`` adds the peak of
the Python heap, at some cost in speed). The targets: the same statements in
every batch without changes, whatever the data (5: lock, ids, labels, order
counts, compare-and-set), and memory that does not grow with the number of
rows (below 64 MB).

    .venv/bin/python bench/scheduled.py                          # 1,000,000 on PostgreSQL
    .venv/bin/python bench/scheduled.py --db sqlite --count 100000
    .venv/bin/python bench/scheduled.py --db URL --count 5000 --batch-size 500 --check
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy
from benchlib import bench_database
from sqlalchemy import Engine as DbEngine
from sqlalchemy import event, func, insert, select, text

import rulec
from rulec.engine.db.scheduled import BatchInfo, Progress, RunReport, run_scheduled
from rulec.storage import migrate
from rulec.storage.models import Customer, Label, Order, customer_labels
from rulec.storage.session import make_engine, make_session_factory, mask_url

DEFAULT_PG_URL = os.environ.get(
    "RULEC_BENCH_SCHED_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/rulec_bench_sched"
)
RULES = """\
label Trial, Loyal, Gold, VIP for customer
on daily for customer when customer has label Trial and customer order count >= 3 \
then remove label Trial from customer, add label Loyal to customer
on daily for customer when customer has label Gold then add label VIP to customer
"""
FIRST_DAY, NEXT_DAY = "2026-11-26", "2026-11-27"
#: Statements of a batch that changes nothing: lock, ids, labels, order counts, compare-and-set.
QUIET_TARGET = 5
MEMORY_TARGET_MB = 64.0
CHUNK = 20_000

EXIT_OK, EXIT_MISSED, EXIT_ERROR = 0, 1, 2


# ------------------------------------------------------------------- seeding --


def rows(count: int) -> Iterator[tuple[str, int, Any]]:
    """("customer" | "label" | "order", …) rows of the shop, in id order."""
    created = datetime(2026, 1, 1, tzinfo=UTC)
    order_id = 0
    for i in range(1, count + 1):
        yield "customer", i, (i, f"Customer {i}", f"c{i}@example.com")
        if i % 10 == 0:
            yield "label", i, (i, 1)  # Trial
        if i % 100 == 0:
            yield "label", i, (i, 3)  # Gold
            if i % 200 == 0:
                yield "label", i, (i, 4)  # VIP
        if i % 20 == 0:
            for k in range(3):
                order_id += 1
                subtotal = Decimal(10 + k)
                yield (
                    "order",
                    i,
                    (order_id, i, "EUR", subtotal, Decimal(0), subtotal, created, "completed"),
                )


LABELS = ((1, "Trial"), (2, "Loyal"), (3, "Gold"), (4, "VIP"))
ORDER_COLUMNS = (
    "id",
    "customer_id",
    "currency",
    "subtotal",
    "discount_amount",
    "total_amount",
    "created_at",
    "status",
)


def seed(db: DbEngine, count: int) -> dict[str, int]:
    """The shop, written in bulk; returns how many rows of each kind."""
    migrate.downgrade(db, "base")
    migrate.upgrade(db)
    with db.begin() as conn:
        conn.execute(
            insert(Label.__table__),
            [{"id": i, "name": n, "entity_type": "customer"} for i, n in LABELS],
        )
    if db.dialect.name == "postgresql":
        written = _copy(db, count)
        with db.begin() as conn:
            for table in ("customers", "orders", "labels"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
                )
            conn.execute(text("ANALYZE"))
    else:
        written = _executemany(db, count)
    return written


def _copy(db: DbEngine, count: int) -> dict[str, int]:
    written = dict.fromkeys(("customer", "label", "order"), 0)
    raw = db.raw_connection()
    try:
        pg = raw.driver_connection
        assert pg is not None
        with pg.cursor() as cur:
            with cur.copy("COPY customers (id, name, email) FROM STDIN") as copy:
                for kind, _, row in rows(count):
                    if kind == "customer":
                        copy.write_row(row)
                        written[kind] += 1
            with cur.copy("COPY customer_labels (customer_id, label_id) FROM STDIN") as copy:
                for kind, _, row in rows(count):
                    if kind == "label":
                        copy.write_row(row)
                        written[kind] += 1
            with cur.copy(f"COPY orders ({', '.join(ORDER_COLUMNS)}) FROM STDIN") as copy:
                for kind, _, row in rows(count):
                    if kind == "order":
                        copy.write_row(row)
                        written[kind] += 1
        pg.commit()
    finally:
        raw.close()
    return written


def _executemany(db: DbEngine, count: int) -> dict[str, int]:
    tables = {
        "customer": (Customer.__table__, ("id", "name", "email")),
        "label": (customer_labels, ("customer_id", "label_id")),
        "order": (Order.__table__, ORDER_COLUMNS),
    }
    written = dict.fromkeys(tables, 0)
    pending: dict[str, list[dict[str, Any]]] = {k: [] for k in tables}

    def flush(conn: Any, kind: str) -> None:
        if pending[kind]:
            conn.execute(insert(tables[kind][0]), pending[kind])
            written[kind] += len(pending[kind])
            pending[kind] = []

    with db.begin() as conn:
        for kind, _, row in rows(count):
            pending[kind].append(dict(zip(tables[kind][1], row, strict=True)))
            if len(pending[kind]) >= CHUNK:
                if kind != "customer":
                    flush(conn, "customer")  # the rows they refer to first
                flush(conn, kind)
        for kind in tables:
            flush(conn, kind)
    return written


# ------------------------------------------------------------------- running --


def rss_mb() -> float:
    """The resident memory of this process now, in MB (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Measure(Progress):
    """Statements per batch and resident memory, sampled at every batch."""

    def __init__(self, statements: list[int]) -> None:
        self.statements = statements
        self.mark = 0
        self.batches: list[tuple[int, int, int]] = []  # (rows, changed, statements)
        self.rss_start = rss_mb()
        self.rss_peak = self.rss_start

    def start(
        self, event: str, subject: str, period: str, remaining: int, resumed_after: int
    ) -> None:
        self.mark = self.statements[0]

    def batch(self, info: BatchInfo) -> None:
        now = self.statements[0]
        self.batches.append((info.rows, info.changed, now - self.mark))
        self.mark = now
        self.rss_peak = max(self.rss_peak, rss_mb())


class Run:
    """One run's figures."""

    def __init__(self, name: str, report: RunReport, measure: Measure, heap_mb: float | None):
        self.name = name
        self.report = report
        self.seconds = report.seconds
        self.rows = report.processed
        self.changed = report.changed
        self.batches = measure.batches
        self.rss_growth = measure.rss_peak - measure.rss_start
        self.heap_mb = heap_mb

    def quiet(self) -> list[int]:
        """Statements of each batch without changes (the first also claims the run row)."""
        return [s for n, (_, c, s) in enumerate(self.batches) if c == 0 and n > 0]

    def per_change(self) -> float | None:
        busy = [(c, s) for n, (_, c, s) in enumerate(self.batches) if c and n > 0]
        if not busy:
            return None
        return sum(s - QUIET_TARGET for _, s in busy) / sum(c for c, _ in busy)

    def row(self) -> str:
        rate = f"{self.rows / self.seconds:,.0f}" if self.rows and self.seconds else "-"
        quiet = self.quiet()
        q = (
            f"{min(quiet)}" if quiet and min(quiet) == max(quiet) else
            f"{min(quiet)}-{max(quiet)}" if quiet else "-"
        )  # fmt: skip
        extra = self.per_change()
        e = f"{extra:.2f}" if extra is not None else "-"
        heap = f"{self.heap_mb:.1f}" if self.heap_mb is not None else "-"
        return (
            f"{self.name:<16}{self.rows:>11,}{self.seconds:>10.2f}{rate:>10}{self.changed:>9,}"
            f"{len(self.batches):>9,}{q:>9}{e:>9}{self.rss_growth:>+10.1f}{heap:>9}"
        )


HEADER = (
    f"{'run':<16}{'rows':>11}{'seconds':>10}{'rows/s':>10}{'changed':>9}"
    f"{'batches':>9}{'quiet':>9}{'+/chg':>9}{'RSS +MB':>10}{'heap MB':>9}"
)
LEGEND = (
    "quiet: statements per batch without changes (after the first batch);"
    " +/chg: extra statements per changed row;\n"
    "RSS +MB: growth of resident memory during the run; heap MB: tracemalloc peak"
    " (--tracemalloc, first day only)"
)


def one_run(
    name: str,
    factory: Any,
    rules: rulec.RuleSet,
    period: str,
    batch_size: int,
    statements: list[int],
    trace: bool,
) -> Run:
    measure = Measure(statements)
    if trace:
        tracemalloc.start()
    try:
        report = run_scheduled(
            factory, rules, "daily", period=period, batch_size=batch_size, progress=measure
        )
        heap = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    finally:
        if trace:
            tracemalloc.stop()
    return Run(name, report, measure, heap)


def bench(url: str, count: int, batch_size: int, trace: bool) -> tuple[list[Run], list[str]]:
    db = make_engine(url)
    try:
        t0 = time.perf_counter()
        written = seed(db, count)
        seeded = time.perf_counter() - t0
        print(
            f"seeded {written['customer']:,} customers, {written['label']:,} labels on them, "
            f"{written['order']:,} orders in {seeded:.1f} s"
        )
        statements = [0]

        def count_statement(*_args: Any) -> None:
            statements[0] += 1

        event.listen(db, "before_cursor_execute", count_statement)
        factory = make_session_factory(db)
        rules = rulec.load_text(RULES, "bench/scheduled.rules")
        runs = [
            one_run("first day", factory, rules, FIRST_DAY, batch_size, statements, trace),
            one_run("same day again", factory, rules, FIRST_DAY, batch_size, statements, False),
            one_run("next day", factory, rules, NEXT_DAY, batch_size, statements, False),
        ]
        event.remove(db, "before_cursor_execute", count_statement)
        missed = audit(db, count, runs)
    finally:
        db.dispose()
    return runs, missed


def audit(db: DbEngine, count: int, runs: list[Run]) -> list[str]:
    """The database holds what the rules say, and the figures meet their targets."""
    missed = []
    with db.connect() as conn:
        held: dict[str, int] = dict(
            conn.execute(
                select(Label.name, func.count())
                .join(customer_labels, customer_labels.c.label_id == Label.id)
                .group_by(Label.name)
            ).all()
        )
    want = {
        "Trial": count // 10 - count // 20,
        "Loyal": count // 20,
        "Gold": count // 100,
        "VIP": count // 100,
    }
    want = {k: v for k, v in want.items() if v}
    if held != want:
        missed.append(f"labels after the runs: {held}, expected {want}")
    first, again, nxt = runs
    if first.changed != count // 20:
        missed.append(f"first day changed {first.changed:,} customers, expected {count // 20:,}")
    if again.rows or again.report.subjects[0].status.value != "already done":
        missed.append("the same day again was not skipped")
    if nxt.changed:
        missed.append(f"the next day changed {nxt.changed:,} customers, expected none")
    quiet = {s for r in (first, nxt) for s in r.quiet()}
    if quiet and quiet != {QUIET_TARGET}:
        missed.append(
            f"statements per batch without changes: {sorted(quiet)}, target {QUIET_TARGET}"
        )
    for r in (first, nxt):
        if r.rss_growth > MEMORY_TARGET_MB:
            missed.append(
                f"{r.name}: memory grew {r.rss_growth:.1f} MB (target < {MEMORY_TARGET_MB})"
            )
    return missed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--count", type=int, default=1_000_000, help="customers (1,000,000)")
    ap.add_argument("--batch-size", type=int, default=1000, help="rows per batch (1000)")
    ap.add_argument(
        "--db",
        default=DEFAULT_PG_URL,
        help="database URL, or 'sqlite' for a file in a temporary folder "
        "(default: the PostgreSQL database rulec_bench_sched, created when missing)",
    )
    ap.add_argument("--tracemalloc", action="store_true", help="also measure the Python heap")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    if args.count < 1 or args.batch_size < 1:
        ap.error("--count and --batch-size must be at least 1")

    with tempfile.TemporaryDirectory(prefix="rulec-bench-") as tmp:
        try:
            url, version = bench_database(args.db, Path(tmp))
        except sqlalchemy.exc.OperationalError as e:
            print(f"{mask_url(args.db)} is not reachable: {e.orig}", file=sys.stderr)
            return EXIT_ERROR
        print(
            f"Python {sys.version.split()[0]}, SQLAlchemy {sqlalchemy.__version__}, {version}, "
            f"{os.cpu_count()} CPUs; {args.count:,} customers, batches of {args.batch_size:,}"
        )
        print(f"database: {mask_url(url)}")
        runs, missed = bench(url, args.count, args.batch_size, args.tracemalloc)
    print()
    print(HEADER)
    for r in runs:
        print(r.row())
    print(LEGEND)
    print()
    for r in runs:
        print(f"{r.name}: {r.report.summary()}")
    print(f"peak resident memory of the process: {rss_peak_mb():.1f} MB")
    if missed:
        print("\nmissed targets:\n  " + "\n  ".join(missed), file=sys.stderr)
    else:
        print("targets met: constant statements per quiet batch, bounded memory, right labels")
    return EXIT_MISSED if missed and args.check else EXIT_OK


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.exit(main())
