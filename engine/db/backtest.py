"""Back-testing: rule sets decided over the orders stored in a database, read-only.

:func:`decide_stored` streams the stored orders a rule set can change (or
several rule sets, for a diff) with each set's :class:`Decision`. The
database does the selecting: each rule's condition and validity window
become a SQL predicate (:mod:`rulec.engine.db.sqlcond`), and only the orders
at least one rule can hold for are read, a page at a time, with the fact
catalog's batch readers (:class:`~rulec.engine.db.facts.batch.OrderBatches`)
and decided by the engine's own :func:`~rulec.engine.core.decide.decide`:
the money, the resolution policy and the rounding are the engine's. An
order no rule can hold for is decided by no rule: no discount.

A rule whose condition SQL cannot say exactly selects more orders than it
holds for (see :mod:`rulec.engine.db.sqlcond`); the engine decides those
too, and :class:`Selection` says which rules and :func:`count_inexact` how
many orders that costs.

Nothing is written: :func:`read_only` opens a connection whose transaction
refuses writes (``SET TRANSACTION READ ONLY`` on PostgreSQL,
``PRAGMA query_only`` on SQLite) and is rolled back at the end.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, Engine, Select, and_, false, func, select, text, true
from sqlalchemy.sql.elements import ColumnElement

from rulec.dsl.vocabulary import Kind
from rulec.engine.core.decide import decide
from rulec.engine.core.decision import Decision
from rulec.engine.core.errors import FactsError
from rulec.engine.core.facts import Facts
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.db.facts.batch import OrderBatches
from rulec.engine.db.facts.binding import REFERENCE, Binding
from rulec.engine.db.facts.catalog import ITEM_FACTS, ORDER_FACTS
from rulec.engine.db.facts.row import BASE_KEYS
from rulec.engine.db.facts.sql import OrderRef
from rulec.engine.db.sqlcond import any_of, fact_columns, rule_predicate

__all__ = [
    "Decided",
    "NotAnOrderEvent",
    "Period",
    "Selection",
    "count_inexact",
    "count_orders",
    "decide_stored",
    "every_order",
    "read_only",
    "select_orders",
    "stored_totals",
]


class NotAnOrderEvent(ValueError):
    """Back-testing an event that is not about an order (a listing, a label on a price)."""


#: Orders per page (one page: a fixed number of statements).
PAGE = 1000

#: The facts a batch reads; others read as None (see :func:`select_orders`).
_LOADED = frozenset(ORDER_FACTS)


@frozen
class Period:
    """The orders created from ``since`` (included) until ``until`` (excluded); None: open."""

    since: datetime | None = None
    until: datetime | None = None

    def sql(self, ref: OrderRef) -> ColumnElement[bool]:
        parts = []
        if self.since is not None:
            parts.append(ref.created_at >= _utc(self.since))
        if self.until is not None:
            parts.append(ref.created_at < _utc(self.until))
        return and_(*parts) if parts else true()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@frozen
class Selection:
    """Which orders are read: those of the period at least one rule can hold for."""

    #: The candidates' ids, in id order: the period and any rule's predicate.
    ids: Select[Any]
    #: The period alone, on the rows of the binding's orders.
    period: ColumnElement[bool]
    #: The rules SQL cannot say exactly (their names).
    inexact: tuple[str, ...]
    #: How many orders of the period only those rules may hold for.
    inexact_count: Select[Any]
    #: Facts the rules read that no batch loads (a project's own field, the labels of
    #: lines a binding keeps none for): they read as None (no labels).
    unloaded: tuple[str, ...]


def _rules(rule_set: RuleSet, event: str) -> list[Any]:
    ev = rule_set.event(event)
    if ev is None or ev.kind is Kind.LISTING or "order" not in ev.entities:
        raise NotAnOrderEvent(f"{event!r} is not an event about an order")
    return rule_set.rules_of(event)


def select_orders(
    rule_sets: Sequence[RuleSet], event: str, period: Period, binding: Binding = REFERENCE
) -> Selection:
    """The orders of ``period`` that one rule of ``rule_sets`` (on ``event``) can hold for.

    The statement reads each order once, with every scalar fact the rules
    test computed once (a subquery the databases do not flatten: ``OFFSET
    0``), and tests the rules' predicates on those columns. Facts the binding
    cannot read (a project's own field, the labels of lines that carry none)
    read as no value, and are listed in ``unloaded``: the report says so.
    """
    orders = binding.orders
    rules = [r for rs in rule_sets for r in _rules(rs, event)]
    keys = fact_columns(r.condition for r in rules)
    ref0 = OrderRef.of(orders)
    own = ("id", "customer_id", "agent_id", "created_at", "subtotal", "currency", "status",
           "wedding_date", "shipping_amount")  # fmt: skip
    within = period.sql(ref0)
    rows = (
        select(
            *(orders.c[name] for name in own),
            *(ORDER_FACTS[k].sql(binding, ref0).label(f"fact_{n}") for n, k in enumerate(keys)),
        )
        .where(within)
        .offset(0)  # computed once per order: not merged into the statement around it
        .subquery("candidate")
    )
    ref = OrderRef.of(rows)
    columns = {k: rows.c[f"fact_{n}"] for n, k in enumerate(keys)}
    exact: list[ColumnElement[bool]] = []
    loose: list[ColumnElement[bool]] = []
    inexact: list[str] = []
    unloaded: set[str] = set()
    for rule in rules:
        p = rule_predicate(rule, binding, ref, columns)
        unloaded.update(k for k in rule.facts if k not in _LOADED and k not in ITEM_FACTS)
        if p.exact:
            exact.append(p.sql)
        else:
            loose.append(p.sql)
            inexact.append(rule.name)
    if binding.unheld_line_labels(rules):
        unloaded.add("item.labels")
    return Selection(
        select(rows.c.id).where(any_of([*exact, *loose])).order_by(rows.c.id),
        within,
        tuple(dict.fromkeys(inexact)),
        select(func.count()).select_from(rows).where(any_of(loose)),
        tuple(sorted(unloaded)),
    )


def every_order(period: Period, binding: Binding = REFERENCE) -> Selection:
    """Every order of ``period``, as if a rule could hold for each (to compare with)."""
    orders = binding.orders
    within = period.sql(OrderRef.of(orders))
    return Selection(
        select(orders.c.id).where(within).order_by(orders.c.id),
        within,
        (),
        select(func.count()).where(false()),
        (),
    )


@frozen
class Decided:
    """One stored order and what each rule set decided for it (None: it could not be decided)."""

    id: Any
    facts: Facts
    decisions: tuple[Decision | None, ...]
    #: Why an order could not be decided (its money refused), per rule set.
    problems: tuple[str | None, ...]


def decide_stored(
    conn: Connection,
    rule_sets: Sequence[RuleSet],
    event: str,
    selection: Selection,
    binding: Binding = REFERENCE,
    page: int = PAGE,
) -> Iterator[list[Decided]]:
    """The orders ``selection`` selects, a page at a time in id order, each decided
    by every rule set of ``rule_sets`` (streamed: one page in memory)."""
    keys = frozenset(BASE_KEYS).union(*(rs.keys_for(event) for rs in rule_sets))
    fact_keys = frozenset().union(*(rs.fact_keys for rs in rule_sets))
    holders = ("order", "customer", "agent")
    fact_labels = tuple(e for e in holders if f"{e}.labels" in keys)
    base = Facts({k: frozenset() if k.endswith(".labels") else None for k in fact_keys})
    batches = OrderBatches(keys, fact_labels, base, binding, by_ids=True)
    streamed = {"stream_results": True, "yield_per": page}  # this statement's options only
    for chunk in conn.execute(selection.ids, execution_options=streamed).partitions(page):
        found = batches.read_ids(conn, [r[0] for r in chunk])
        out = []
        for row in found.rows:
            facts = found.facts(row, fact_labels)
            decisions: list[Decision | None] = []
            problems: list[str | None] = []
            for rs in rule_sets:
                try:
                    decisions.append(decide(rs, event, facts))
                    problems.append(None)
                except FactsError as e:
                    decisions.append(None)
                    problems.append(str(e))
            out.append(Decided(row.id, facts, tuple(decisions), tuple(problems)))
        yield out


def count_orders(conn: Connection, where: ColumnElement[bool], binding: Binding = REFERENCE) -> int:
    """How many orders ``where`` selects."""
    orders = binding.orders
    return int(conn.execute(select(func.count()).select_from(orders).where(where)).scalar_one())


def count_inexact(conn: Connection, selection: Selection, binding: Binding = REFERENCE) -> int:
    """How many orders are decided in Python only because a rule SQL cannot say exactly
    may hold for them."""
    if not selection.inexact:
        return 0
    return int(conn.execute(selection.inexact_count).scalar_one())


def stored_totals(
    conn: Connection, period: Period, binding: Binding = REFERENCE
) -> dict[str, tuple[int, Decimal]]:
    """Per currency: the orders of ``period`` and the discount stored on them today
    (their shipping discounts included, where the binding maps them)."""
    o = binding.o
    table = o.table
    amount_col = o.column("discount_amount")
    shipping_col = o.column("shipping_discount")
    currency_col = o.column("currency")
    created_col = o.column("created_at")
    if currency_col is None:
        return {}
    ref_parts = []
    if created_col is not None:
        if period.since is not None:
            ref_parts.append(created_col >= _utc(period.since))
        if period.until is not None:
            ref_parts.append(created_col < _utc(period.until))
    where = and_(*ref_parts) if ref_parts else true()
    totals: dict[str, tuple[int, Decimal]] = {}
    if amount_col is None:
        query = select(currency_col, func.count()).select_from(table).where(where)
        for currency, n in conn.execute(query.group_by(currency_col)):
            totals[currency or "EUR"] = (int(n), Decimal(0))
        return totals
    shipping = [shipping_col] if shipping_col is not None else []
    if conn.dialect.name == "sqlite":  # money is text there: added up exactly here
        query = select(currency_col, amount_col, *shipping).select_from(table).where(where)
        streamed = {"stream_results": True, "yield_per": 10_000}
        for currency, *amounts in conn.execute(query, execution_options=streamed):
            n, total = totals.get(currency or "EUR", (0, Decimal(0)))
            given = sum((a or Decimal(0) for a in amounts), Decimal(0))
            totals[currency or "EUR"] = (n + 1, total + given)
        return totals
    sums = [func.coalesce(func.sum(c), 0) for c in (amount_col, *shipping)]
    query = (
        select(currency_col, func.count(), *sums)
        .select_from(table)
        .where(where)
        .group_by(currency_col)
    )
    for currency, n, *parts in conn.execute(query):
        n0, t0 = totals.get(currency or "EUR", (0, Decimal(0)))
        totals[currency or "EUR"] = (n0 + int(n), t0 + sum(map(Decimal, parts), Decimal(0)))
    return totals


@contextmanager
def read_only(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that refuses writes, rolled back at the end."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # the connection refuses writes until it is given back
            conn.exec_driver_sql("PRAGMA query_only = ON")
            conn.commit()
        try:
            tx = conn.begin()
            try:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SET TRANSACTION READ ONLY"))
                    # a statement testing a hundred rules costs PostgreSQL's JIT
                    # compiler far more than it saves (40 s of compiling for 5 s of work)
                    conn.execute(text("SET LOCAL jit = off"))
                    # the candidates' cursor is read to its end: planned for all its rows
                    conn.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
                yield conn
            finally:
                tx.rollback()
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA query_only = OFF")
                conn.commit()
