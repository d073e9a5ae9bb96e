"""What does the engine cost an order backend, in the database?

Creates orders through the ORM the way a backend does (one session and one
transaction per order: ``session.add(Order(...))``, ``session.commit()``),
alternately with the engine attached (``Engine.from_paths(["rules/vip.rules"])
.attach(...)``) and not attached, on a SQLite file in a temporary folder and
on a dedicated PostgreSQL database. Both runs use the same customers (a few
hundred, a quarter of them with the ``Customer_VIP`` label, others with other
labels) and the same order plan. The runs take turns in blocks of 25
orders, the first place going to each in turn, so that drift (a busy machine,
a growing table) hits both alike; each figure is the median of the repeats.

Figures, per database:

* orders/s of each run, for all orders and for VIP and non-VIP orders
  apart, and the ratio attached / unattached, taken within each repeat
  (target >= 0.75 for all orders);
* statements per order by kind (SELECT / INSERT / UPDATE / other), counted by
  a ``before_cursor_execute`` listener, and the extra ones the engine costs
  for a VIP order and for a non-VIP order (target: at most one extra SELECT,
  one extra INSERT per applied discount, nothing else);
* round trips per order (the statements, BEGIN and COMMIT: each is one
  exchange with a database server), and the ratio a run bound by round trips
  alone would reach: unattached trips / attached trips. With 25 % VIP orders
  that is 3 / 4.25 = 0.706, under the 0.75 target: on a server where a round
  trip costs as much as the ORM's own work, the statements the targets allow
  cannot reach 75 %.

    .venv/bin/python bench/database.py                      # both databases
    .venv/bin/python bench/database.py --db sqlite --orders 50 --repeat 1
    .venv/bin/python bench/database.py --check              # exit 1 on a missed target
    .venv/bin/python bench/database.py --by-hand            # and the floor, see below

``--by-hand`` adds a third run that codes the VIP discount by hand, with the
statements the targets allow the engine (the label query, the order with its
discount fields, one audit row for a VIP) and no engine: what no engine can
beat, so a missed target can be told apart from engine overhead.

``--in-hand`` adds two runs of a backend that has the customer in hand, as
one that loads the logged-in customer does: it loads the customer in the
order's transaction (``session.get``) and places the order for it. Attached,
it loads the customer with its labels (``joinedload``), still one query, and
the engine reads them instead of querying: the way past the round-trip bound
on a server. Their ratio is to each other, not to the plain runs.
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import sqlalchemy
from benchlib import ensure_postgres_database, postgres_version
from sqlalchemy import Engine as DbEngine
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from rulec import Engine
from rulec.storage import migrate
from rulec.storage.models import AppliedDiscount, Customer, Label, Order, customer_labels
from rulec.storage.session import make_engine, make_session_factory

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "vip.rules"
VIP = "Customer_VIP"
OTHER_LABELS = ("Newsletter", "Wholesale", "Returns_Risk")
KINDS = ("SELECT", "INSERT", "UPDATE", "other")
#: Counted apart from the statements: each BEGIN and COMMIT of a transaction.
TRANSACTION = "BEGIN/COMMIT"
MODES = ("unattached", "attached")
#: The optional third run: the engine's statements written by hand, no engine.
BY_HAND = "by hand"
#: The optional runs of a backend with the customer in hand (``--in-hand``).
IN_HAND = ("unattached, in hand", "attached, in hand")
#: The run each run's throughput is a ratio to.
BASE = {"attached": "unattached", BY_HAND: "unattached", IN_HAND[1]: IN_HAND[0]}
BY_HAND_VERSION = "by-hand"
CLASSES = ("VIP", "non-VIP")
RATIO_TARGET = 0.75
#: Orders per block: the runs take turns block by block.
BLOCK = 25
DEFAULT_PG_URL = os.environ.get(
    "RULEC_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/rulec_bench"
)

EXIT_OK, EXIT_MISSED, EXIT_ERROR = 0, 1, 2


# ------------------------------------------------------------------ setup --


def seed(factory: sessionmaker[Session], customers: int) -> dict[int, bool]:
    """``customers`` customers, a quarter VIP, others with other labels: {id: is VIP}."""
    with factory.begin() as s:
        vip = Label(name=VIP, entity_type="customer", description="Very important")
        others = [Label(name=n, entity_type="customer") for n in OTHER_LABELS]
        people = []
        for i in range(customers):
            labels = [vip] if i % 4 == 0 else []
            labels += [lb for k, lb in enumerate(others) if i % (k + 3) == 1]
            people.append(Customer(name=f"Customer {i}", email=f"c{i}@example.com", labels=labels))
        s.add_all(people)
    return {c.id: any(lb.name == VIP for lb in c.labels) for c in people}


def plan(customers: dict[int, bool], orders: int) -> list[tuple[int, Decimal, bool]]:
    """The orders every run places: (customer id, subtotal, is VIP), customers interleaved."""
    ids = sorted(customers)
    stride = 7 if len(ids) % 7 else 11
    out = []
    for i in range(orders):
        cid = ids[(i * stride) % len(ids)]
        subtotal = Decimal(f"{10 + (i * 37) % 490}.{(i * 13) % 100:02d}")
        out.append((cid, subtotal, customers[cid]))
    return out


# ---------------------------------------------------------------- running --

#: A customer's label names, as a backend would write the query by hand.
_labels, _customer_labels = Label.__table__, customer_labels
LABELS_OF = (
    select(_labels.c.name)
    .join(_customer_labels, _customer_labels.c.label_id == _labels.c.id)
    .where(_customer_labels.c.customer_id == bindparam("customer_id"))
)
TEN, CENT = Decimal(10), Decimal("0.01")

#: Places one order in an open session: ``placer(session, customer_id, subtotal)``.
Placer = Callable[[Session, int, Decimal], None]


def add_order(session: Session, cid: int, subtotal: Decimal) -> None:
    """What the backend does: the engine, when attached, does the rest on flush."""
    session.add(Order(customer_id=cid, subtotal=subtotal, currency="EUR"))


def add_order_by_hand(session: Session, cid: int, subtotal: Decimal) -> None:
    """The VIP discount coded by hand: the engine's statements, without the engine.

    One label query, the order with its discount fields, one audit row for a
    VIP: the floor any engine pays for the statements the targets allow.
    """
    conn = session.connection()
    labels = frozenset(conn.execute(LABELS_OF, {"customer_id": cid}).scalars())
    order = Order(
        customer_id=cid, subtotal=subtotal, currency="EUR", rule_set_version=BY_HAND_VERSION
    )
    order.total_amount = subtotal
    if VIP in labels:
        amount = (subtotal * TEN / 100).quantize(CENT, ROUND_HALF_UP)
        order.discount_percentage = TEN
        order.discount_amount = amount
        order.discount_description = "VIP New Order Discount"
        order.total_amount = subtotal - amount
        order.applied_discounts.append(
            AppliedDiscount(
                rule_name="by hand",
                rule_file="bench/database.py",
                rule_line=0,
                rule_set_version=BY_HAND_VERSION,
                kind="percentage",
                percentage=TEN,
                amount=amount,
                description="VIP New Order Discount",
            )
        )
    session.add(order)


def add_order_in_hand(session: Session, cid: int, subtotal: Decimal) -> None:
    """A backend with the customer in hand: loaded in the transaction, the order placed for it."""
    customer = session.get(Customer, cid)
    session.add(Order(customer=customer, subtotal=subtotal, currency="EUR"))


def add_order_in_hand_with_labels(session: Session, cid: int, subtotal: Decimal) -> None:
    """The same, the customer loaded with its labels in the same query: the engine reads them."""
    customer = session.get(Customer, cid, options=[joinedload(Customer.labels)])
    session.add(Order(customer=customer, subtotal=subtotal, currency="EUR"))


class StatementCounter:
    """Counts statements by kind into ``self.into`` (switched per order), and
    each BEGIN and COMMIT under :data:`TRANSACTION`."""

    def __init__(self) -> None:
        self.into: Counter[str] = Counter()

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        word = statement.lstrip()[:6].upper()
        self.into[word if word in ("SELECT", "INSERT", "UPDATE") else "other"] += 1

    def transaction(self, _conn: Any) -> None:
        self.into[TRANSACTION] += 1


@contextmanager
def counting(db: DbEngine, counter: StatementCounter) -> Iterator[None]:
    listeners = [
        ("before_cursor_execute", counter),
        ("begin", counter.transaction),
        ("commit", counter.transaction),
    ]
    for name, fn in listeners:
        event.listen(db, name, fn)
    try:
        yield
    finally:
        for name, fn in listeners:
            event.remove(db, name, fn)


class Tally:
    """Orders, seconds and statements of one run, per class of order."""

    def __init__(self) -> None:
        self.orders: dict[str, int] = dict.fromkeys(CLASSES, 0)
        self.seconds: dict[str, float] = dict.fromkeys(CLASSES, 0.0)
        self.statements: dict[str, Counter[str]] = {c: Counter() for c in CLASSES}

    def rate(self, cls: str | None = None) -> float:
        keys = CLASSES if cls is None else (cls,)
        return sum(self.orders[k] for k in keys) / sum(self.seconds[k] for k in keys)


def place_orders(
    factory: sessionmaker[Session],
    placer: Placer,
    orders: list[tuple[int, Decimal, bool]],
    counter: StatementCounter,
    tally: Tally,
) -> None:
    """Place every order of ``orders``, each in its own session and transaction."""
    clock = time.perf_counter
    for cid, subtotal, vip in orders:
        cls = "VIP" if vip else "non-VIP"
        counter.into = tally.statements[cls]
        t0 = clock()
        with factory() as session:
            placer(session, cid, subtotal)
            session.commit()
        tally.seconds[cls] += clock() - t0
        tally.orders[cls] += 1
    counter.into = Counter()


def one_repeat(
    runs: dict[str, tuple[sessionmaker[Session], Placer]],
    orders: list[tuple[int, Decimal, bool]],
    counter: StatementCounter,
    first: int,
) -> dict[str, Tally]:
    """Every run over ``orders``, interleaved block by block so drift hits all alike.

    Within each block of :data:`BLOCK` orders the runs take turns; which one
    goes first rotates from block to block.
    """
    modes = list(runs)
    tallies = {mode: Tally() for mode in modes}
    gc.collect()
    for k, start in enumerate(range(0, len(orders), BLOCK)):
        block = orders[start : start + BLOCK]
        turn = (first + k) % len(modes)
        for mode in modes[turn:] + modes[:turn]:
            factory, placer = runs[mode]
            place_orders(factory, placer, block, counter, tallies[mode])
    return tallies


# ---------------------------------------------------------------- results --


class Result:
    """Every repeat of both runs on one database, and the figures drawn from them."""

    def __init__(
        self, name: str, version: str, orders: int, vip_share: float, modes: tuple[str, ...]
    ) -> None:
        self.name = name
        self.version = version
        self.orders = orders
        self.vip_share = vip_share
        self.runs: dict[str, list[Tally]] = {m: [] for m in modes}
        self.discounts: dict[str, float] = {}  # audit rows per attached order, by class

    def median_rate(self, mode: str, cls: str | None = None) -> float:
        return statistics.median(t.rate(cls) for t in self.runs[mode])

    def ratio(self, cls: str | None = None, mode: str = "attached") -> float:
        """Throughput of ``mode`` / its base (:data:`BASE`), within each repeat; the median."""
        pairs = zip(self.runs[mode], self.runs[BASE[mode]], strict=True)
        return statistics.median(a.rate(cls) / u.rate(cls) for a, u in pairs)

    def per_order(self, mode: str, cls: str | None = None) -> dict[str, float]:
        keys = CLASSES if cls is None else (cls,)
        orders = sum(t.orders[k] for t in self.runs[mode] for k in keys)
        return {
            kind: sum(t.statements[k][kind] for t in self.runs[mode] for k in keys) / orders
            for kind in KINDS
        }

    def trips(self, mode: str, cls: str | None = None) -> float:
        """Round trips to a server per order: every statement, BEGIN and COMMIT."""
        keys = CLASSES if cls is None else (cls,)
        orders = sum(t.orders[k] for t in self.runs[mode] for k in keys)
        return (
            sum(
                sum(t.statements[k][kind] for kind in (*KINDS, TRANSACTION))
                for t in self.runs[mode]
                for k in keys
            )
            / orders
        )

    def ceiling(self) -> float:
        """The attached run's ratio if round trips were all an order costs, and all alike."""
        return self.trips("unattached") / self.trips("attached")

    def extra(self, cls: str) -> dict[str, float]:
        a, u = self.per_order("attached", cls), self.per_order("unattached", cls)
        return {kind: a[kind] - u[kind] for kind in KINDS}

    def missed(self) -> list[str]:
        """The targets this database misses, as readable lines."""
        out = []
        if self.ratio() < RATIO_TARGET:
            out.append(f"{self.name}: throughput ratio {self.ratio():.3f} < {RATIO_TARGET}")
        for cls in CLASSES:
            if not self.extra_ok(cls):
                out.append(f"{self.name}: {cls} order extra statements {self.extra(cls)}")
        if self.discounts.get("VIP", 0) <= 0:
            out.append(f"{self.name}: no discount applied to VIP orders: the engine did not run")
        return out

    def extra_ok(self, cls: str) -> bool:
        x = self.extra(cls)
        allowed_inserts = self.discounts.get(cls, 0.0)
        return (
            x["SELECT"] <= 1 + 1e-9
            and x["INSERT"] <= allowed_inserts + 1e-9
            and x["UPDATE"] <= 1e-9
            and x["other"] <= 1e-9
        )

    def table(self) -> str:
        repeats = len(self.runs["attached"])
        kinds = "".join(f"{k:>8}" for k in KINDS)
        lines = [
            f"{self.name} {self.version}: {self.orders:,} orders per run, "
            f"{self.vip_share:.0%} of them VIP, one transaction each; the runs "
            f"take turns in blocks of {BLOCK}; median of {repeats} "
            f"repeat{'s' if repeats != 1 else ''}",
            f"{'run':<22}{'orders/s':>10}{kinds}{'trips':>8}{'ratio':>8}{'target':>9}{'met':>5}",
        ]
        for mode in self.runs:
            for cls in (None, *CLASSES):
                label = mode if cls is None else f"  {cls} orders"
                per = self.per_order(mode, cls)
                row = (
                    f"{label:<22}{self.median_rate(mode, cls):>10,.0f}"
                    + "".join(f"{per[k]:>8.2f}" for k in KINDS)
                    + f"{self.trips(mode, cls):>8.2f}"
                )
                if mode in BASE:
                    ratio = self.ratio(cls, mode)
                    row += f"{ratio:>8.3f}"
                    if cls is None and mode == "attached":
                        met = "yes" if ratio >= RATIO_TARGET else "NO"
                        row += f"{'>= ' + str(RATIO_TARGET):>9}{met:>5}"
                lines.append(row)
        lines.append(
            f"{'extra per order':<22}{'discounts':>10}{kinds}{'':>16}{'target':>9}{'met':>5}"
        )
        for cls in CLASSES:
            x = self.extra(cls)
            met = "yes" if self.extra_ok(cls) else "NO"
            lines.append(
                f"{'  ' + cls + ' order':<22}{self.discounts.get(cls, 0.0):>10.2f}"
                + "".join(f"{x[k]:>+8.2f}" for k in KINDS)
                + f"{'':>16}{'(*)':>9}{met:>5}"
            )
        lines.append(
            "(*) at most +1 SELECT, +1 INSERT per applied discount (audit row), "
            "no UPDATE, nothing else"
        )
        ceiling = self.ceiling()
        lines.append(
            "trips: round trips to a server per order (statements, BEGIN, COMMIT); if they "
            "were all an order cost,\n"
            f"the attached run would reach {self.trips('unattached'):.2f} / "
            f"{self.trips('attached'):.2f} = {ceiling:.3f} of the unattached one"
            + (f", under the {RATIO_TARGET} target" if ceiling < RATIO_TARGET else "")
        )
        return "\n".join(lines)


def audit(factory: sessionmaker[Session], customers: dict[int, bool], result: Result) -> None:
    """Check what the runs stored, and count audit rows per attached order."""
    vip_ids = [cid for cid, vip in customers.items() if vip]
    by_engine = Order.rule_set_version.is_not(None) & (Order.rule_set_version != BY_HAND_VERSION)
    with factory() as s:
        for cls, where in (
            ("VIP", Order.customer_id.in_(vip_ids)),
            ("non-VIP", Order.customer_id.not_in(vip_ids)),
        ):
            attached = s.scalar(select(func.count()).select_from(Order).where(where, by_engine))
            rows = s.scalar(
                select(func.count())
                .select_from(AppliedDiscount)
                .join(Order, AppliedDiscount.order_id == Order.id)
                .where(where, by_engine)
            )
            result.discounts[cls] = (rows or 0) / attached if attached else 0.0
        # compared in Python: SQLite keeps money as decimal text ('0.00' is not '0' there)
        stray = sum(
            1
            for amount in s.scalars(
                select(Order.discount_amount).where(Order.rule_set_version.is_(None))
            )
            if amount != 0
        )
    if stray:
        raise SystemExit(f"{result.name}: {stray} unattached orders got a discount")


def bench_database(
    name: str,
    version: str,
    url: str,
    *,
    orders: int,
    repeat: int,
    customers: int,
    warmup: int,
    by_hand: bool,
    in_hand: bool = False,
) -> Result:
    db = make_engine(url)
    try:
        migrate.downgrade(db, "base")
        migrate.upgrade(db)
        plain = make_session_factory(db)
        attached = make_session_factory(db)
        Engine.from_paths([RULES]).attach(attached)
        people = seed(plain, customers)
        the_plan = plan(people, orders)
        runs: dict[str, tuple[sessionmaker[Session], Placer]] = {
            "unattached": (plain, add_order),
            "attached": (attached, add_order),
        }
        if by_hand:
            runs[BY_HAND] = (plain, add_order_by_hand)
        if in_hand:
            runs[IN_HAND[0]] = (plain, add_order_in_hand)
            runs[IN_HAND[1]] = (attached, add_order_in_hand_with_labels)
        vip_share = sum(v for *_, v in the_plan) / len(the_plan)
        result = Result(name, version, orders, vip_share, tuple(runs))
        counter = StatementCounter()
        with counting(db, counter):
            # warm up: connections, statement caches, code paths
            one_repeat(runs, plan(people, warmup), counter, 0)
            for n in range(repeat):
                for mode, tally in one_repeat(runs, the_plan, counter, n).items():
                    result.runs[mode].append(tally)
        audit(plain, people, result)
        return result
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=1000, help="orders per run (1000)")
    ap.add_argument("--repeat", type=int, default=5, help="repeats of both runs (5)")
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL database to use")
    ap.add_argument("--customers", type=int, default=300, help="customers (300)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument(
        "--by-hand",
        action="store_true",
        help="add a run with the engine's statements coded by hand (the floor)",
    )
    ap.add_argument(
        "--in-hand",
        action="store_true",
        help="add runs of a backend that loads the customer (attached: with its labels)",
    )
    args = ap.parse_args(argv)
    if args.orders < 4 or args.repeat < 1 or args.customers < 4:
        ap.error("--orders and --customers must be at least 4, --repeat at least 1")

    wanted = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    pg_version = "not run"
    if "postgresql" in wanted:
        try:
            ensure_postgres_database(args.pg_url)
            pg_version = postgres_version(args.pg_url)
        except sqlalchemy.exc.OperationalError as e:
            print(f"PostgreSQL is not reachable at {args.pg_url}: {e.orig}", file=sys.stderr)
            return EXIT_ERROR
    print(
        f"Python {sys.version.split()[0]}, SQLAlchemy {sqlalchemy.__version__}, "
        f"PostgreSQL {pg_version}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs"
    )
    options = {
        "orders": args.orders,
        "repeat": args.repeat,
        "customers": args.customers,
        "warmup": min(args.orders, 50),
        "by_hand": args.by_hand,
        "in_hand": args.in_hand,
    }
    results: list[Result] = []
    runs: list[Callable[[], Result]] = []
    with tempfile.TemporaryDirectory(prefix="rulec-bench-") as tmp:
        if "sqlite" in wanted:
            url = f"sqlite:///{Path(tmp) / 'shop.db'}"
            runs.append(lambda: bench_database("SQLite", sqlite3.sqlite_version, url, **options))
        if "postgresql" in wanted:
            runs.append(lambda: bench_database("PostgreSQL", pg_version, args.pg_url, **options))
        for run in runs:
            result = run()
            results.append(result)
            print()
            print(result.table())
    missed = [line for r in results for line in r.missed()]
    if missed:
        print("\nmissed targets:\n  " + "\n  ".join(missed), file=sys.stderr)
    return EXIT_MISSED if missed and args.check else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
