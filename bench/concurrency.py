"""Orders created concurrently while customers' labels change: is every decision right?

Creators place orders for a few shared customers (one transaction per order,
the engine attached to their sessions) while label flippers add and remove
those customers' labels (``Customer_VIP``, ``Wholesale``, ``Newsletter``)
and commit. The engine's decision listener records, per order, the facts
the engine read and the decision it wrote. Afterwards every order committed
is read back and checked:

* its discount fields (percentage, amount, description, total, rule-set
  version) equal ``RuleSet.evaluate(event, facts)`` for the facts it saw;
* its audit rows (``applied_discounts``) are exactly that decision's applied
  discounts, once (a repeated set counts as a duplicate);
* every order a creator committed is there, and no other order is.

On PostgreSQL the creators and flippers are processes (``python
bench/concurrency.py --worker …``, driven through their stdin and stdout:
they start together and stop when told, nothing sleeps); on SQLite (a file)
they are threads, each with a sessionmaker of its own. A flipper locks the
customer's row ``FOR NO KEY UPDATE`` (PostgreSQL), which orders flippers of
the same customer and never blocks creators (their foreign-key checks take
``FOR KEY SHARE``). A transaction that fails anyway (a deadlock, a
serialization failure, a unique violation, "database is locked") is retried
whole, with new objects, and counted.

    .venv/bin/python bench/concurrency.py                     # both databases
    .venv/bin/python bench/concurrency.py --db sqlite --threads 2 --thread-orders 100

Exit status: 0 all orders right, 1 any mismatch, missing order or duplicate
audit set, 2 usage error or PostgreSQL unreachable.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import sqlalchemy
from benchlib import ensure_postgres_database
from sqlalchemy import Engine as DbEngine
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, object_session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

import rulec
from rulec import Decision, Engine, Facts, RuleSet
from rulec.storage import migrate
from rulec.storage.models import AppliedDiscount, Base, Customer, Label, Order
from rulec.storage.session import make_engine, make_session_factory

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
DEFAULT_PG_URL = os.environ.get(
    "RULEC_BENCH_CONCURRENCY_PG_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/rulec_bench_concurrency",
)
#: The labels flippers add and remove; ``Loyal`` is added by a rule.
FLIPPED = ("Customer_VIP", "Wholesale", "Newsletter")
RULES_PATH = "bench/concurrency.rules"
RULES = """\
label Customer_VIP, Wholesale, Newsletter, Loyal for customer

on order_created when customer has label Customer_VIP then discount 10% "VIP New Order Discount"

rule "Wholesale" on order_created when customer has label Wholesale
  then discount 15% up to 20.00 EUR "Wholesale" end

rule "Newsletter" combinable on order_created when customer has label Newsletter
  then discount 2.00 EUR "Newsletter" end

rule "Loyal" combinable on order_created when customer has label Loyal
  then discount 1.00 EUR "Loyalty" end

rule "Regular" on order_created when customer order count >= 30
  then add label Loyal to customer end
"""
#: How often one transaction is tried before the run gives up.
MAX_ATTEMPTS = 50
#: Where a session keeps the decisions the listener saw, until commit.
SEEN = "bench.decisions"


def load_rules() -> RuleSet:
    return rulec.load_text(RULES, RULES_PATH)


# --------------------------------------------------------------- records --


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"D": str(value)}
    if isinstance(value, datetime):
        return {"T": value.isoformat()}
    if isinstance(value, frozenset | set):
        return {"L": sorted(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "D" in value:
            return Decimal(value["D"])
        if "T" in value:
            return datetime.fromisoformat(value["T"])
        if "L" in value:
            return frozenset(value["L"])
    return value


def _applied(d: Decision) -> list[list[Any]]:
    return [
        [
            *(a.rule, a.file, a.line, d.version, a.kind),
            *(_encode(a.percentage), _encode(a.amount), a.description),
        ]
        for a in d.applied
    ]


def summary(d: Decision) -> dict[str, Any]:
    """What a decision writes on an order, as JSON."""
    return {
        "event": d.event,
        "version": d.version,
        "percentage": _encode(d.discount_percentage),
        "amount": _encode(d.discount_amount),
        "description": d.discount_description,
        "total": _encode(d.total_amount),
        "applied": _applied(d),
    }


def record(order_id: int, facts: Facts, d: Decision) -> dict[str, Any]:
    return {
        "id": order_id,
        "facts": {k: _encode(v) for k, v in facts.items()},
        "decision": summary(d),
    }


def _remember(order: Order, facts: Facts, decision: Decision) -> None:
    """The engine's listener: keep (order, facts, decision) in the order's session."""
    session = object_session(order)
    assert session is not None
    session.info.setdefault(SEEN, {})[id(order)] = (order, Facts(facts), decision)


# --------------------------------------------------------------- workers --


def _retryable(e: BaseException) -> bool:
    """A failure that retrying the whole transaction can cure."""
    if isinstance(e, StaleDataError):  # SQLite: another flipper removed the same label
        return True
    if not isinstance(e, DBAPIError):
        return False
    name = type(e.orig).__name__
    return name in {
        "DeadlockDetected",
        "SerializationFailure",
        "UniqueViolation",
        "LockNotAvailable",
    } or ("locked" in str(e.orig) or "UNIQUE constraint failed" in str(e.orig))


@dataclass
class WorkerResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    retries: int = 0
    flips: int = 0
    #: retries by cause (the driver's exception class)
    causes: dict[str, int] = field(default_factory=dict)

    def retry(self, e: BaseException, role: str) -> None:
        self.retries += 1
        name = f"{role} {type(getattr(e, 'orig', None) or e).__name__}"
        self.causes[name] = self.causes.get(name, 0) + 1


def create_orders(
    factory: sessionmaker[Session], customers: Sequence[int], orders: int, seed: int
) -> WorkerResult:
    """Place ``orders`` orders, one transaction each; the engine must be attached."""
    rng = random.Random(seed)
    out = WorkerResult()
    for n in range(orders):
        cid = rng.choice(customers)
        subtotal = Decimal(rng.randint(1, 40000)) / 100
        for attempt in range(1, MAX_ATTEMPTS + 1):
            session = factory()
            try:
                with session.begin():
                    if n % 3 == 0:  # by id: the engine queries the labels
                        o = Order(customer_id=cid, subtotal=subtotal, currency="EUR")
                    elif n % 3 == 1:  # the customer loaded, its labels not
                        o = Order(customer=session.get(Customer, cid), subtotal=subtotal)
                    else:  # the customer and its labels loaded: they are the truth
                        c = session.get(Customer, cid)
                        assert c is not None
                        c.labels  # noqa: B018 - load them
                        o = Order(customer=c, subtotal=subtotal, currency="EUR")
                    session.add(o)
                seen = session.info.pop(SEEN, {})
                out.records.extend(record(x.id, f, d) for x, f, d in seen.values())
                break
            except (DBAPIError, StaleDataError) as e:
                if not _retryable(e) or attempt == MAX_ATTEMPTS:
                    raise
                out.retry(e, "creator")
            finally:
                session.close()
    return out


def flip_labels(
    factory: sessionmaker[Session],
    customers: Sequence[int],
    seed: int,
    stop: threading.Event,
    first: Callable[[], None],
) -> WorkerResult:
    """Add or remove one flipped label of one customer per transaction, until ``stop``.

    ``first()`` is called once the first flip is committed.
    """
    rng = random.Random(seed)
    out = WorkerResult()
    with factory() as s:
        label_ids = {
            name: s.scalars(select(Label.id).where(Label.name == name)).one() for name in FLIPPED
        }
    while not stop.is_set():
        cid, name = rng.choice(customers), rng.choice(FLIPPED)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with factory.begin() as s:
                    c = s.scalars(
                        select(Customer).where(Customer.id == cid).with_for_update(key_share=True)
                    ).one()
                    label = s.get(Label, label_ids[name])
                    if label in c.labels:
                        c.labels.remove(label)
                    else:
                        c.labels.append(label)
                break
            except (DBAPIError, StaleDataError) as e:
                if not _retryable(e) or attempt == MAX_ATTEMPTS:
                    raise
                out.retry(e, "flipper")
        out.flips += 1
        if out.flips == 1:
            first()
    return out


def _attached(url: str, rules: RuleSet) -> tuple[DbEngine, sessionmaker[Session]]:
    db = _make_engine(url)
    factory = make_session_factory(db)
    Engine(rules, on_decision=_remember).attach(factory)
    return db, factory


def _make_engine(url: str) -> DbEngine:
    if url.startswith("sqlite"):
        return make_engine(url, connect_args={"timeout": 60})
    return make_engine(url)


def worker_main(args: argparse.Namespace) -> int:
    """One creator or flipper process, driven through stdin and stdout.

    It prints ``ready``, waits for ``go``; a flipper prints ``flipping`` after
    its first flip and stops at ``stop``. The result is the last line,
    ``result {json}``.
    """
    customers = [int(x) for x in args.ids.split(",")]
    db, factory = _attached(args.url, load_rules())
    try:

        def say(line: str) -> None:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

        def expect(word: str) -> None:
            got = sys.stdin.readline().strip()
            if got != word:
                raise SystemExit(f"worker expected {word!r}, got {got!r}")

        say("ready")
        expect("go")
        if args.worker == "creator":
            result = create_orders(factory, customers, args.orders, args.seed)
        else:
            stop = threading.Event()

            def wait_for_stop() -> None:
                expect("stop")
                stop.set()

            waiter = threading.Thread(target=wait_for_stop, daemon=True)
            waiter.start()
            result = flip_labels(factory, customers, args.seed, stop, lambda: say("flipping"))
            waiter.join()
        say("result " + json.dumps(result.__dict__))
        return EXIT_OK
    finally:
        db.dispose()


# ----------------------------------------------------------------- setup --


def prepare(url: str, customers: int) -> list[int]:
    """Empty the (migrated) database; add the labels and ``customers`` customers."""
    db = _make_engine(url)
    try:
        migrate.upgrade(db)
        with db.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
        factory = make_session_factory(db)
        with factory.begin() as s:
            labels = [Label(name=n, entity_type="customer") for n in (*FLIPPED, "Loyal")]
            people = [
                Customer(name=f"c{n}", labels=[labels[n % 3]] if n % 2 else [])
                for n in range(customers)
            ]
            s.add_all([*labels, *people])
        return [c.id for c in people]
    finally:
        db.dispose()


# ----------------------------------------------------------------- check --


@dataclass
class Report:
    mode: str
    created: int = 0
    checked: int = 0
    mismatches: int = 0
    missing: int = 0
    unexpected: int = 0
    duplicates: int = 0
    retries: int = 0
    causes: dict[str, int] = field(default_factory=dict)
    flips: int = 0
    elapsed: float = 0.0
    label_sets: int = 0
    problems: list[str] = field(default_factory=list)
    #: What the creators recorded: order id, facts (JSON) and decision (JSON).
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not (self.mismatches or self.missing or self.unexpected or self.duplicates)

    @property
    def rate(self) -> float:
        return self.created / self.elapsed if self.elapsed else 0.0

    def _causes(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(self.causes.items()))

    def lines(self) -> list[str]:
        return [
            f"{self.mode}",
            f"  orders created     {self.created:>8}",
            f"  orders checked     {self.checked:>8}",
            f"  mismatches         {self.mismatches:>8}",
            f"  missing orders     {self.missing:>8}",
            f"  unexpected orders  {self.unexpected:>8}",
            f"  duplicate audits   {self.duplicates:>8}",
            f"  retries            {self.retries:>8}  {self._causes()}",
            f"  label flips        {self.flips:>8}",
            f"  label sets seen    {self.label_sets:>8}",
            f"  elapsed            {self.elapsed:>8.2f} s",
            f"  orders/s           {self.rate:>8.0f}",
            *(f"  ! {p}" for p in self.problems[:20]),
        ]


def _stored(o: Order) -> dict[str, Any]:
    return {
        "version": o.rule_set_version,
        "percentage": o.discount_percentage,
        "amount": o.discount_amount,
        "description": o.discount_description,
        "total": o.total_amount,
    }


def _figures(d: dict[str, Any]) -> dict[str, Any]:
    return {k: _decode(d[k]) for k in ("version", "percentage", "amount", "description", "total")}


def _rows(rows: Iterable[Iterable[Any]]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(_decode(v) for v in r) for r in rows)


def check(url: str, rules: RuleSet, records: list[dict[str, Any]], report: Report) -> None:
    """Compare every recorded order with the database and with pure evaluation."""
    report.created = len(records)
    report.records = records
    by_id = {r["id"]: r for r in records}
    label_sets: set[frozenset[str]] = set()
    db = _make_engine(url)
    try:
        with Session(db) as s:
            orders = {o.id: o for o in s.scalars(select(Order))}
            audits: dict[int, list[tuple[Any, ...]]] = {}
            for a in s.scalars(select(AppliedDiscount).order_by(AppliedDiscount.id)):
                audits.setdefault(a.order_id, []).append(
                    (
                        *(a.rule_name, a.rule_file, a.rule_line, a.rule_set_version, a.kind),
                        *(a.percentage, a.amount, a.description),
                    )
                )
    finally:
        db.dispose()
    for oid in by_id.keys() - orders.keys():
        report.missing += 1
        report.problems.append(f"order {oid} was committed but is not in the database")
    for oid in orders.keys() - by_id.keys():
        report.unexpected += 1
        report.problems.append(f"order {oid} is in the database but nobody committed it")
    if len(by_id) != len(records):
        report.problems.append("an order id was recorded twice")
        report.mismatches += len(records) - len(by_id)
    for oid, rec in by_id.items():
        o = orders.get(oid)
        if o is None:
            continue
        report.checked += 1
        facts = Facts({k: _decode(v) for k, v in rec["facts"].items()})
        label_sets.add(facts.get("customer.labels", frozenset()))
        expected = rules.evaluate(rec["decision"]["event"], facts)
        want = summary(expected)
        if _figures(want) != _stored(o) or want != rec["decision"]:
            report.mismatches += 1
            report.problems.append(
                f"order {oid}: stored {_stored(o)}, recorded {_figures(rec['decision'])},"
                f" evaluation gives {_figures(want)}"
            )
            continue
        have, wanted = _rows(audits.get(oid, [])), _rows(want["applied"])
        if have != wanted:
            if wanted and set(have) == set(wanted) and have.total() > wanted.total():
                report.duplicates += 1
            else:
                report.mismatches += 1
            report.problems.append(f"order {oid}: audit rows {dict(have)}, expected {wanted}")
    report.label_sets = len(label_sets)


# ------------------------------------------------------------------ runs --


def run_processes(
    url: str, creators: int, orders: int, flippers: int, customers: int, timeout: float = 600
) -> Report:
    """Creators and flippers as processes (``--worker``); check the result."""
    ids = ",".join(map(str, prepare(url, customers)))
    report = Report(f"processes: {creators} creators x {orders} orders, {flippers} flippers")
    procs: list[subprocess.Popen[str]] = []

    def spawn(kind: str, seed: int) -> subprocess.Popen[str]:
        cmd = [sys.executable, __file__, "--worker", kind, "--url", url]
        cmd += ["--ids", ids, "--orders", str(orders), "--seed", str(seed)]
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(p)
        return p

    def tell(p: subprocess.Popen[str], word: str) -> None:
        assert p.stdin is not None
        p.stdin.write(word + "\n")
        p.stdin.flush()

    def hear(p: subprocess.Popen[str], prefix: str) -> str:
        assert p.stdout is not None
        line = p.stdout.readline()
        if not line.startswith(prefix):
            p.wait()
            raise RuntimeError(f"worker {p.args[3]!r} exited {p.returncode}: {line!r}")
        return line[len(prefix) :].strip()

    def results(ps: Iterable[subprocess.Popen[str]]) -> list[WorkerResult]:
        return [WorkerResult(**json.loads(hear(p, "result "))) for p in ps]

    watchdog = threading.Timer(timeout, lambda: [p.kill() for p in procs])
    watchdog.start()
    try:
        flip = [spawn("flipper", 1000 + n) for n in range(flippers)]
        make = [spawn("creator", n) for n in range(creators)]
        for p in procs:
            hear(p, "ready")
        for p in flip:
            tell(p, "go")
        for p in flip:
            hear(p, "flipping")
        start = time.perf_counter()
        for p in make:
            tell(p, "go")
        made = results(make)
        report.elapsed = time.perf_counter() - start
        for p in flip:
            tell(p, "stop")
        flipped = results(flip)
        for p in procs:
            if p.wait() != 0:
                raise RuntimeError(f"worker {p.args[3]!r} exited {p.returncode}")
    finally:
        watchdog.cancel()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for stream in (p.stdin, p.stdout):
                if stream is not None:
                    stream.close()
    _tally(report, made, flipped)
    check(url, load_rules(), [r for w in made for r in w.records], report)
    return report


def run_threads(url: str, creators: int, orders: int, flippers: int, customers: int) -> Report:
    """Creators and flippers as threads, each with its own sessionmaker."""
    ids = prepare(url, customers)
    rules = load_rules()
    report = Report(f"threads: {creators} creators x {orders} orders, {flippers} flippers")
    db = _make_engine(url)
    engine = Engine(rules, on_decision=_remember)
    stop, go = threading.Event(), threading.Event()
    flipping = threading.Barrier(flippers + 1)
    made: list[WorkerResult] = []
    flipped: list[WorkerResult] = []
    errors: list[BaseException] = []

    def factory() -> sessionmaker[Session]:
        f = make_session_factory(db)
        engine.attach(f)
        return f

    def creator(seed: int) -> None:
        try:
            f = factory()
            go.wait()
            made.append(create_orders(f, ids, orders, seed))
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    def flipper(seed: int) -> None:
        try:
            flipped.append(flip_labels(factory(), ids, seed, stop, flipping.wait))
        except BaseException as e:
            errors.append(e)
            flipping.abort()

    make = [threading.Thread(target=creator, args=(n,)) for n in range(creators)]
    flip = [threading.Thread(target=flipper, args=(1000 + n,)) for n in range(flippers)]
    try:
        for t in (*flip, *make):
            t.start()
        if flippers:
            with contextlib.suppress(threading.BrokenBarrierError):  # a flipper failed
                flipping.wait()  # every flipper has flipped once
        start = time.perf_counter()
        go.set()
        for t in make:
            t.join()
        report.elapsed = time.perf_counter() - start
    finally:
        go.set()
        stop.set()
        for t in (*make, *flip):
            t.join()
        db.dispose()
    if errors:
        raise errors[0]
    _tally(report, made, flipped)
    check(url, rules, [r for w in made for r in w.records], report)
    return report


def _tally(report: Report, made: list[WorkerResult], flipped: list[WorkerResult]) -> None:
    report.retries = sum(w.retries for w in (*made, *flipped))
    for w in (*made, *flipped):
        for k, v in w.causes.items():
            report.causes[k] = report.causes.get(k, 0) + v
    report.flips = sum(w.flips for w in flipped)


# ------------------------------------------------------------------ main --


def main(argv: list[str] | None = None, out: IO[str] | None = None) -> int:
    out = out or sys.stdout
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL database to use")
    ap.add_argument("--creators", type=int, default=4, help="creator processes (4)")
    ap.add_argument("--orders", type=int, default=2000, help="orders per creator process (2000)")
    ap.add_argument("--flippers", type=int, default=2, help="flipper processes / threads (2)")
    ap.add_argument("--threads", type=int, default=4, help="creator threads on SQLite (4)")
    ap.add_argument("--thread-orders", type=int, default=500, help="orders per thread (500)")
    ap.add_argument("--customers", type=int, default=12, help="customers (12)")
    ap.add_argument("--worker", choices=("creator", "flipper"), help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--ids", help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker_main(args)
    sizes = (args.creators, args.orders, args.threads, args.thread_orders, args.customers)
    if min(sizes) < 1 or args.flippers < 0:
        ap.error("--creators, --orders, --threads, --thread-orders, --customers must be >= 1")

    wanted = ("postgresql", "sqlite") if args.db == "both" else (args.db,)
    print(
        f"Python {sys.version.split()[0]}, SQLAlchemy {sqlalchemy.__version__}, "
        f"{os.cpu_count()} CPUs",
        file=out,
    )
    reports: list[Report] = []
    if "postgresql" in wanted:
        try:
            ensure_postgres_database(args.pg_url)
        except sqlalchemy.exc.OperationalError as e:
            print(f"PostgreSQL is not reachable at {args.pg_url}: {e.orig}", file=sys.stderr)
            return EXIT_ERROR
        r = run_processes(args.pg_url, args.creators, args.orders, args.flippers, args.customers)
        r.mode = "PostgreSQL " + r.mode
        reports.append(r)
        print("\n".join(r.lines()), file=out, flush=True)
    if "sqlite" in wanted:
        with tempfile.TemporaryDirectory(prefix="rulec-bench-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'concurrency.db'}"
            r = run_threads(url, args.threads, args.thread_orders, args.flippers, args.customers)
        r.mode = "SQLite " + r.mode
        reports.append(r)
        print("\n".join(r.lines()), file=out, flush=True)
    ok = all(r.ok for r in reports)
    print("all orders right" if ok else "WRONG ORDERS: see above", file=out)
    return EXIT_OK if ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
