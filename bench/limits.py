"""Orders racing for a limited coupon code: is the limit ever exceeded, is an order lost?

Workers place orders carrying the code ``SPRING10`` for customers drawn from
a shared pool, one transaction per order, with the engine attached to their
sessions; every ``--rollback-every``-th transaction is flushed (the engine
decides the order and claims its use) and then rolled back on purpose. Three
promotions, one run each:

* ``uses``: ``limit 100 uses`` and ``limit 1 use per customer``;
* ``budget``: ``budget 500.00 EUR`` (10% off, the amounts vary);
* ``codes``: a family of 40 generated codes (``PARTNER-1`` to ``PARTNER-40``),
  ``limit 1 use per code``: each order carries one of them, drawn at random.

Afterwards the database is read back and checked:

* the total counter equals the uses the committed orders hold (claim rows),
  which equal the committed orders the rule applied to: exactly the limit
  when there were more takers than uses, never more;
* no customer holds more uses than the per-customer limit, no code more than
  its one use (and each code's counter is the claims of that code);
* the budget's money spent equals the committed discounts, never above it;
* every order a worker committed is stored, with figures that add up
  (total = subtotal - discount), and no rolled-back order is.

On PostgreSQL the workers are processes (``python bench/limits.py --worker``,
driven through stdin and stdout, started together); on SQLite (a file) they
are threads, each with a sessionmaker of its own (SQLite serializes writers).
A transaction that fails anyway (a deadlock, "database is locked") is retried
whole and counted.

    .venv/bin/python bench/limits.py                          # PostgreSQL, 4 x 500
    .venv/bin/python bench/limits.py --db sqlite --workers 4 --orders 100
    .venv/bin/python bench/limits.py --throughput --db sqlite --orders 1000

``--throughput`` measures instead what a limit costs order creation: one
process places the same orders (each with the code, a new customer each,
one transaction per order) three ways, taking turns in blocks of 25: with no
rules attached; attached, the rule without limits; attached, the rule with
``limit N uses`` and ``limit 1 use per customer`` (N above the orders, so
every order claims). It prints orders/s and statements per order of each.

Exit status: 0 every check holds, 1 a check failed, 2 usage error or
PostgreSQL unreachable.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from benchlib import ensure_postgres_database
from sqlalchemy import Engine as DbEngine
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

import rulec
from rulec import Engine, RuleSet
from rulec.storage import migrate
from rulec.storage.models import Base, Customer, Order, UsageClaim, UsageCounter
from rulec.storage.session import make_engine, make_session_factory

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
DEFAULT_PG_URL = os.environ.get(
    "RULEC_BENCH_LIMITS_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/rulec_bench_limits"
)
MAX_ATTEMPTS = 20

USES = 100
PER_CUSTOMER = 1
BUDGET = Decimal("500.00")
#: The generated codes of the ``codes`` run, each usable once.
CODES = 40

RULES = {
    "uses": f"""\
rule "Spring"
  limit {USES} uses
  limit {PER_CUSTOMER} use per customer
  on order_created
  when order has coupon "SPRING10"
  then discount 10% "Spring"
end
""",
    "budget": f"""\
rule "Spring"
  budget {BUDGET} EUR
  on order_created
  when order has coupon "SPRING10"
  then discount 10% "Spring"
end
""",
    "codes": """\
coupon family Partner is "PARTNER-*"

rule "Spring"
  limit 1 use per code
  on order_created
  when order has coupon in Partner
  then discount 10% "Spring"
end
""",
}


def load_rules(kind: str) -> RuleSet:
    return rulec.load_text(RULES[kind], "bench/limits.rules")


# --------------------------------------------------------------- workers --


def _retryable(e: BaseException) -> bool:
    if not isinstance(e, DBAPIError):
        return False
    name = type(e.orig).__name__
    return name in {"DeadlockDetected", "SerializationFailure"} or "locked" in str(e.orig)


@dataclass
class WorkerResult:
    #: (order id, subtotal, discount) of every order committed.
    committed: list[list[Any]] = field(default_factory=list)
    rolled_back: int = 0
    retries: int = 0


def place_orders(
    factory: sessionmaker[Session],
    customers: Sequence[int],
    orders: int,
    seed: int,
    rollback_every: int,
    kind: str = "uses",
) -> WorkerResult:
    """Place ``orders`` orders with the code, one transaction each (the engine attached)."""
    rng = random.Random(seed)
    out = WorkerResult()
    for n in range(orders):
        cid = rng.choice(customers)
        subtotal = Decimal(rng.randint(1000, 20000)) / 100
        code = f"PARTNER-{rng.randint(1, CODES)}" if kind == "codes" else "SPRING10"
        roll_back = rollback_every > 0 and n % rollback_every == rollback_every - 1
        for attempt in range(1, MAX_ATTEMPTS + 1):
            session = factory()
            try:
                session.begin()
                o = Order(customer_id=cid, subtotal=subtotal, coupon_codes=[code])
                session.add(o)
                session.flush()  # decided: its use claimed, in this transaction
                if roll_back:
                    session.rollback()
                    out.rolled_back += 1
                else:
                    session.commit()
                    out.committed.append([o.id, str(subtotal), str(o.discount_amount)])
                break
            except DBAPIError as e:
                session.rollback()
                if not _retryable(e) or attempt == MAX_ATTEMPTS:
                    raise
                out.retries += 1
            finally:
                session.close()
    return out


def _attached(url: str, kind: str) -> tuple[DbEngine, sessionmaker[Session]]:
    db = (
        make_engine(url, connect_args={"timeout": 60})
        if url.startswith("sqlite")
        else make_engine(url)
    )
    factory = make_session_factory(db)
    Engine(load_rules(kind)).attach(factory)
    return db, factory


def worker_main(args: argparse.Namespace) -> int:
    """One worker process: prints ``ready``, waits for ``go``, prints ``result {json}``."""
    customers = [int(x) for x in args.ids.split(",")]
    db, factory = _attached(args.url, args.kind)
    try:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        if sys.stdin.readline().strip() != "go":
            raise SystemExit("worker expected 'go'")
        result = place_orders(
            factory, customers, args.orders, args.seed, args.rollback_every, args.kind
        )
        sys.stdout.write("result " + json.dumps(result.__dict__) + "\n")
        sys.stdout.flush()
        return EXIT_OK
    finally:
        db.dispose()


# ----------------------------------------------------------------- setup --


def prepare(url: str, customers: int) -> list[int]:
    """Empty the migrated database; add ``customers`` customers."""
    db = make_engine(url)
    try:
        migrate.upgrade(db)
        with db.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
        with make_session_factory(db).begin() as s:
            made = [Customer(name=f"Customer {n}") for n in range(customers)]
            s.add_all(made)
        return [c.id for c in made]
    finally:
        db.dispose()


# ---------------------------------------------------------------- report --


@dataclass
class Report:
    title: str
    kind: str
    placed: int = 0
    committed: int = 0
    rolled_back: int = 0
    retries: int = 0
    elapsed: float = 0.0
    applied: int = 0
    uses: int = 0
    claims: int = 0
    most_per_customer: int = 0
    #: ``codes``: the codes used, and the most uses of one code.
    codes_used: int = 0
    most_per_code: int = 0
    spent: Decimal = Decimal(0)
    discounts: Decimal = Decimal(0)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        rate = self.placed / self.elapsed if self.elapsed else 0.0
        out = [
            f"{self.title}",
            f"  orders placed {self.placed}: committed {self.committed}, "
            f"rolled back on purpose {self.rolled_back}, retried {self.retries}",
            f"  {self.elapsed:.2f} s, {rate:.0f} orders/s",
        ]
        if self.kind == "uses":
            out.append(
                f"  uses recorded {self.uses} (limit {USES}), claims {self.claims}, "
                f"orders discounted {self.applied}, most uses by one customer "
                f"{self.most_per_customer} (limit {PER_CUSTOMER})"
            )
        elif self.kind == "codes":
            out.append(
                f"  codes used {self.codes_used} of {CODES}, claims {self.claims}, "
                f"orders discounted {self.applied}, most uses of one code "
                f"{self.most_per_code} (limit 1)"
            )
        else:
            out.append(
                f"  money spent {self.spent} EUR (budget {BUDGET} EUR), committed discounts "
                f"{self.discounts} EUR, orders discounted {self.applied}"
            )
        out.append("  all checks hold" if self.ok else "  PROBLEMS:")
        out += [f"    {p}" for p in self.problems]
        return out


def check(url: str, kind: str, made: list[WorkerResult], report: Report) -> None:
    committed = {r[0]: (Decimal(r[1]), Decimal(r[2])) for w in made for r in w.committed}
    report.committed = len(committed)
    report.rolled_back = sum(w.rolled_back for w in made)
    report.retries = sum(w.retries for w in made)
    report.placed = report.committed + report.rolled_back
    db = make_engine(url)
    try:
        with make_session_factory(db)() as s:
            stored = {
                o.id: (o.subtotal, o.discount_amount, o.total_amount)
                for o in s.scalars(select(Order))
            }
            claims = s.execute(
                select(UsageClaim.order_id, UsageClaim.customer, UsageClaim.code)
            ).all()
            per_code = dict(
                s.execute(
                    select(UsageCounter.scope, UsageCounter.used).where(
                        UsageCounter.rule == "Spring", UsageCounter.scope.like("code:%")
                    )
                ).all()
            )
            total = s.scalar(
                select(UsageCounter.used).where(
                    UsageCounter.rule == "Spring", UsageCounter.scope == "total"
                )
            )
            spent = s.scalar(
                select(UsageCounter.spent_minor).where(
                    UsageCounter.rule == "Spring", UsageCounter.scope == "budget:EUR"
                )
            )
            per_customer = s.execute(
                select(func.max(UsageCounter.used)).where(
                    UsageCounter.rule == "Spring", UsageCounter.scope.like("customer:%")
                )
            ).scalar()
    finally:
        db.dispose()
    problems = report.problems
    if set(stored) != set(committed):
        lost = len(set(committed) - set(stored))
        extra = len(set(stored) - set(committed))
        problems.append(f"{lost} committed orders missing, {extra} orders not committed stored")
    for oid, (subtotal, discount) in committed.items():
        row = stored.get(oid)
        if row is not None and (row[0], row[1]) != (subtotal, discount):
            problems.append(f"order {oid}: stored {row[:2]}, committed {(subtotal, discount)}")
        if row is not None and row[2] != row[0] - row[1]:
            problems.append(f"order {oid}: total {row[2]} is not {row[0]} - {row[1]}")
    discounted = {oid for oid, (_, d) in committed.items() if d > 0}
    report.applied = len(discounted)
    report.claims = len(claims)
    if {c.order_id for c in claims} != discounted:
        problems.append(
            f"{len(claims)} claims for {len(discounted)} discounted orders: they differ"
        )
    report.discounts = sum((committed[o][1] for o in discounted), Decimal(0))
    if kind == "uses":
        report.uses = int(total or 0)
        report.most_per_customer = int(per_customer or 0)
        takers = len({c.customer for c in claims})
        if report.uses != len(claims):
            problems.append(f"the counter says {report.uses} uses, the claims {len(claims)}")
        if report.uses > USES:
            problems.append(f"{report.uses} uses: the limit of {USES} is exceeded")
        if report.most_per_customer > PER_CUSTOMER:
            problems.append(f"a customer used the code {report.most_per_customer} times")
        if takers != len(claims):
            problems.append("a customer holds two claims")
    elif kind == "codes":
        held: dict[str, int] = {}
        for c in claims:
            held[f"code:{c.code}"] = held.get(f"code:{c.code}", 0) + 1
        counted = {scope: used for scope, used in per_code.items() if used}
        report.codes_used = len(counted)
        report.most_per_code = max([*counted.values(), *held.values(), 0])
        if counted != held:
            problems.append(f"the counters per code {counted} are not the claims {held}")
        if report.most_per_code > 1:
            problems.append(f"a code was used {report.most_per_code} times")
        if report.codes_used > CODES:
            problems.append(f"{report.codes_used} codes used: there are {CODES}")
    else:
        report.spent = Decimal(int(spent or 0)).scaleb(-2)
        if report.spent != report.discounts:
            problems.append(f"spent {report.spent}, committed discounts {report.discounts}")
        if report.spent > BUDGET:
            problems.append(f"spent {report.spent}: the budget of {BUDGET} is exceeded")


# ------------------------------------------------------------ throughput --

UNLIMITED = """\
rule "Spring"
  on order_created
  when order has coupon "SPRING10"
  then discount 10% "Spring"
end
"""


def _limited(orders: int) -> str:
    return UNLIMITED.replace(
        "  on order_created",
        f"  limit {orders * 10} uses\n  limit 1 use per customer\n  on order_created",
    )


def throughput(url: str, orders: int, out: IO[str]) -> dict[str, float]:
    """Orders/s and statements per order: no rules, the rule, the rule with limits."""
    from sqlalchemy import event

    prepare(url, 0)
    db = (
        make_engine(url, connect_args={"timeout": 60})
        if url.startswith("sqlite")
        else make_engine(url)
    )
    statements = [0]
    event.listen(
        db, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1)
    )
    runs: dict[str, sessionmaker[Session]] = {"no rules": make_session_factory(db)}
    for name, text in (("rule", UNLIMITED), ("rule with limits", _limited(orders))):
        factory = make_session_factory(db)
        Engine(rulec.load_text(text, "bench/limits.rules")).attach(factory)
        runs[name] = factory
    spent = dict.fromkeys(runs, 0.0)
    counted = dict.fromkeys(runs, 0)
    block = 25
    names = list(runs)
    n = 0
    try:
        for start in range(0, orders, block):
            size = min(block, orders - start)
            first = (start // block) % len(names)
            for name in names[first:] + names[:first]:
                factory = runs[name]
                before = statements[0]
                t0 = time.perf_counter()
                for _ in range(size):
                    n += 1
                    with factory.begin() as s:
                        c = Customer(name=f"C{n}")
                        s.add(
                            Order(customer=c, subtotal=Decimal("80.00"), coupon_codes=["SPRING10"])
                        )
                spent[name] += time.perf_counter() - t0
                counted[name] += statements[0] - before
    finally:
        db.dispose()
    rates = {name: orders / spent[name] for name in names}
    print(
        f"{'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}, {orders} orders per run",
        file=out,
    )
    print(f"  {'run':<18} {'orders/s':>9} {'ratio':>6} {'statements/order':>17}", file=out)
    for name in names:
        ratio = rates[name] / rates["no rules"]
        print(
            f"  {name:<18} {rates[name]:>9.0f} {ratio:>6.2f} {counted[name] / orders:>17.2f}",
            file=out,
        )
    return rates


# ------------------------------------------------------------------ runs --


def run_processes(
    url: str, kind: str, workers: int, orders: int, customers: int, rollback_every: int
) -> Report:
    ids = ",".join(map(str, prepare(url, customers)))
    report = Report(f"PostgreSQL, {kind}: {workers} processes x {orders} orders", kind)
    procs: list[subprocess.Popen[str]] = []
    try:
        for n in range(workers):
            cmd = [sys.executable, __file__, "--worker", "--url", url, "--kind", kind]
            cmd += ["--ids", ids, "--orders", str(orders), "--seed", str(n)]
            cmd += ["--rollback-every", str(rollback_every)]
            procs.append(
                subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            )
        for p in procs:
            assert p.stdout is not None
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a worker exited {p.wait()}")
        start = time.perf_counter()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        made = []
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline()
            if not line.startswith("result "):
                raise RuntimeError(f"a worker exited {p.wait()}: {line!r}")
            made.append(WorkerResult(**json.loads(line[len("result ") :])))
        report.elapsed = time.perf_counter() - start
        for p in procs:
            if p.wait(timeout=60) != 0:
                raise RuntimeError(f"a worker exited {p.returncode}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for stream in (p.stdin, p.stdout):
                if stream is not None:
                    stream.close()
    check(url, kind, made, report)
    return report


def run_threads(
    url: str, kind: str, workers: int, orders: int, customers: int, rollback_every: int
) -> Report:
    ids = prepare(url, customers)
    report = Report(f"SQLite, {kind}: {workers} threads x {orders} orders", kind)
    made: list[WorkerResult] = [WorkerResult() for _ in range(workers)]
    failures: list[BaseException] = []
    go = threading.Barrier(workers + 1)
    engines = []

    def worker(n: int) -> None:
        db, factory = _attached(url, kind)
        engines.append(db)
        go.wait()
        try:
            made[n] = place_orders(factory, ids, orders, n, rollback_every, kind)
        except BaseException as e:  # reported after the join
            failures.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    go.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    report.elapsed = time.perf_counter() - start
    for db in engines:
        db.dispose()
    if failures:
        raise failures[0]
    check(url, kind, made, report)
    return report


def main(argv: list[str] | None = None, out: IO[str] | None = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=("pg", "sqlite"), default="pg")
    parser.add_argument("--url", default=None, help="database URL (default: a bench database)")
    parser.add_argument("--kind", choices=("uses", "budget", "codes", "all"), default="all")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--orders", type=int, default=500, help="orders per worker")
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--rollback-every", type=int, default=7)
    parser.add_argument("--throughput", action="store_true", help="measure a limit's cost")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ids", default="", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args)
    kinds = ("uses", "budget", "codes") if args.kind == "all" else (args.kind,)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        if args.throughput:
            if args.db == "pg":
                url = args.url or DEFAULT_PG_URL
                try:
                    ensure_postgres_database(url)
                except Exception as e:
                    print(f"PostgreSQL is not reachable: {e}", file=sys.stderr)
                    return EXIT_ERROR
            else:
                url = args.url or f"sqlite:///{Path(tmp) / 'throughput.db'}"
            throughput(url, args.orders, out)
            return EXIT_OK
        for kind in kinds:
            if args.db == "pg":
                url = args.url or DEFAULT_PG_URL
                try:
                    ensure_postgres_database(url)
                except Exception as e:
                    print(f"PostgreSQL is not reachable: {e}", file=sys.stderr)
                    return EXIT_ERROR
                report = run_processes(
                    url, kind, args.workers, args.orders, args.customers, args.rollback_every
                )
            else:
                url = args.url or f"sqlite:///{Path(tmp) / f'limits-{kind}.db'}"
                report = run_threads(
                    url, kind, args.workers, args.orders, args.customers, args.rollback_every
                )
            print("\n".join(report.lines()), file=out)
            ok = ok and report.ok
    return EXIT_OK if ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
