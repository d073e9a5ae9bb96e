"""Listings from the database: which stored prices, items or services a viewer may see.

The policy is :mod:`rulec.engine.core.visibility`; this module reads the
facts it needs, loading every candidate's labels with one query for the
whole list (together with the shared entities' labels): the number of
statements does not depend on the number of candidates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Integer, func, inspect, literal, select, union_all
from sqlalchemy.orm import Session

from rulec.dsl.vocabulary import Vocabulary
from rulec.engine.core.decision import Verdict
from rulec.engine.core.facts import Facts
from rulec.engine.core.listing import listing_subject, verdicts
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.vocabulary import DEFAULT_VOCABULARY
from rulec.storage.models import LABEL_LINKS, Label, Order

__all__ = ["explain_listing", "list_visible", "listing_facts"]

T = TypeVar("T")

#: Ids per label query; lists longer than this take one more query per chunk.
CHUNK = 10_000

_labels_table = Label.__table__
_orders_table = Order.__table__


def _reads(keys: frozenset[str] | None, key: str) -> bool:
    return keys is None or key in keys


def _columns(row: Any) -> dict[str, Any]:
    """The row's column attributes by name (loading them if they are expired)."""
    mapper = inspect(type(row))
    out = {}
    for attr in mapper.column_attrs:
        value = getattr(row, attr.key)
        if type(value) is datetime and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        out[attr.key] = value
    return out


def _labels_loaded(row: Any) -> bool:
    state = inspect(row)
    return bool(state.pending or state.transient or "labels" not in state.unloaded)


def _refresh(session: Session, rows: Sequence[Any]) -> None:
    """Load the expired columns of persistent ``rows``: one SELECT per class."""
    stale: dict[type, list[Any]] = {}
    for row in rows:
        state = inspect(row)
        if state.persistent and state.expired_attributes:
            stale.setdefault(type(row), []).append(state.identity[0])
    for cls, ids in stale.items():
        pk: Any = inspect(cls).primary_key[0]
        for start in range(0, len(ids), CHUNK):
            session.execute(select(cls).where(pk.in_(ids[start : start + CHUNK]))).all()


def _load_labels(
    session: Session, wanted: Sequence[tuple[str, list[int]]]
) -> list[dict[int, set[str]]]:
    """Labels of many holders' rows, one ``UNION ALL`` query (per CHUNK ids).

    ``wanted`` pairs a holder (``"price"``) with row ids; the result has, per
    pair, a dict from id to label names (ids without labels left out).
    """
    found: list[dict[int, set[str]]] = [{} for _ in wanted]
    pending = [(n, holder, ids) for n, (holder, ids) in enumerate(wanted) if ids]
    conn = session.connection({"mapper": Label})
    while pending:
        parts = []
        room = CHUNK
        rest = []
        for n, holder, ids in pending:
            if room <= 0:
                rest.append((n, holder, ids))
                continue
            take, more = ids[:room], ids[room:]
            room -= len(take)
            link = LABEL_LINKS[holder]
            column = link.c[f"{holder}_id"]
            parts.append(
                select(literal(n, Integer).label("part"), column.label("id"), _labels_table.c.name)
                .join_from(link, _labels_table, link.c.label_id == _labels_table.c.id)
                .where(column.in_(take))
            )
            if more:
                rest.append((n, holder, more))
        statement = parts[0] if len(parts) == 1 else union_all(*parts)
        for part, row_id, name in conn.execute(statement):
            found[part].setdefault(row_id, set()).add(name)
        pending = rest
    return found


def _order_facts(session: Session, order: Order, keys: frozenset[str] | None) -> dict[str, Any]:
    created = order.created_at
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    day: date | None = order.wedding_date
    facts: dict[str, Any] = {
        "order.absent": False,
        "order.subtotal": Decimal(order.subtotal) if order.subtotal is not None else Decimal(0),
        "order.currency": order.currency or "EUR",
        "order.created_at": created,
        "order.status": order.status or "new",
        "order.wedding_date": None if day is None else datetime.combine(day, time(), tzinfo=UTC),
        "order.wedding_year": None if day is None else day.year,
        "order.placed_by_customer": order.customer_id is not None or order.customer is not None,
        "order.created_by_agent": order.agent_id is not None or order.agent is not None,
    }
    if _reads(keys, "order.item_count") or _reads(keys, "order.line_count"):
        lines = order.items
        facts["order.line_count"] = len(lines)
        facts["order.item_count"] = sum(line.quantity or 0 for line in lines)
    return facts


def _order_count(session: Session, customer: Any, order: Order | None) -> int:
    if customer.id is None:
        return 0
    query = (
        select(func.count())
        .select_from(_orders_table)
        .where(_orders_table.c.customer_id == customer.id)
    )
    if order is not None and order.id is not None:
        query = query.where(_orders_table.c.id != order.id)
    return int(session.connection({"mapper": Order}).execute(query).scalar_one())


def listing_facts(
    session: Session,
    rules: RuleSet,
    event: str,
    candidates: Sequence[Any],
    *,
    viewer: Mapping[str, Any] | None,
    customer: Any = None,
    agent: Any = None,
    order: Order | None = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
) -> tuple[Facts, list[Facts]]:
    """The shared facts and each candidate's facts, from the database.

    ``candidates`` are rows of the event's candidate model (``Price`` for
    ``price_listed``); ``viewer`` maps the viewer's fields (``is_agent``,
    ``wedding_year``) to values. ``customer``, ``agent`` and ``order`` are
    rows, or None when there is none (they are not taken from each other:
    pass ``order.customer`` if that is the customer). Labels in memory are
    the truth (loaded collections, new rows); the others are read with one
    query for the whole list and the shared entities. Only the facts the
    rule set reads are loaded when it says which it reads.
    """
    subject, _ = listing_subject(event, vocabulary)
    if subject not in LABEL_LINKS:
        raise ValueError(f"no label table for {subject!r}: cannot list {event!r} from the database")
    keys = rules.fact_keys or None
    with session.no_autoflush:
        _refresh(session, [*candidates, *(r for r in (customer, agent, order) if r is not None)])
        holders = [(subject, list(candidates))]
        holders += [(name, [row]) for name, row in (("customer", customer), ("agent", agent))]
        holders.append(("order", [order]))
        wanted: list[tuple[str, list[int]]] = []
        for holder, rows in holders:
            ids = []
            if _reads(keys, f"{holder}.labels"):
                for row in rows:
                    if row is not None and not _labels_loaded(row) and row.id is not None:
                        ids.append(row.id)
            wanted.append((holder, ids))
        loaded = _load_labels(session, wanted)

        def labels_of(n: int, row: Any) -> frozenset[str]:
            if _labels_loaded(row):
                return frozenset(label.name for label in row.labels)
            return frozenset(loaded[n].get(row.id, ()))

        shared = Facts({f"viewer.{k}": v for k, v in (viewer or {}).items()})
        for n, (holder, rows) in enumerate(holders[1:], start=1):
            row = rows[0]
            if row is None:
                shared[f"{holder}.absent"] = True
                continue
            if holder == "order":
                shared.update(_order_facts(session, row, keys))
            else:
                shared[f"{holder}.absent"] = False
                shared.update({f"{holder}.{k}": v for k, v in _columns(row).items()})
            shared[f"{holder}.labels"] = labels_of(n, row)
        if customer is not None and _reads(keys, "customer.order_count"):
            shared["customer.order_count"] = _order_count(session, customer, order)

        own: list[Facts] = []
        read_labels = _reads(keys, f"{subject}.labels")
        for row in candidates:
            facts = Facts({f"{subject}.{k}": v for k, v in _columns(row).items()})
            facts[f"{subject}.labels"] = labels_of(0, row) if read_labels else frozenset()
            own.append(facts)
    return shared, own


def explain_listing(
    session: Session,
    rules: RuleSet,
    event: str,
    candidates: Sequence[T],
    *,
    viewer: Mapping[str, Any] | None,
    customer: Any = None,
    agent: Any = None,
    order: Order | None = None,
    now: datetime | None = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    raise_errors: bool = False,
) -> list[tuple[T, Verdict]]:
    """Every candidate with its :class:`Verdict` (shown or hidden, and by which rule)."""
    shared, own = listing_facts(
        session,
        rules,
        event,
        candidates,
        viewer=viewer,
        customer=customer,
        agent=agent,
        order=order,
        vocabulary=vocabulary,
    )
    found = verdicts(
        rules, event, shared, own, now=now, vocabulary=vocabulary, raise_errors=raise_errors
    )
    return list(zip(candidates, found, strict=True))


def list_visible(
    session: Session,
    rules: RuleSet,
    event: str,
    candidates: Sequence[T],
    *,
    viewer: Mapping[str, Any] | None,
    customer: Any = None,
    agent: Any = None,
    order: Order | None = None,
    now: datetime | None = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    raise_errors: bool = False,
) -> list[T]:
    """The candidates the viewer may see, in their order.

    ``list_visible(session, rules, "price_listed", prices, viewer={"is_agent":
    False, "wedding_year": 2027}, customer=ada)``. The number of statements
    is the same for 5 prices or 5,000: one for all the labels, plus one
    for the customer's order count when a rule reads it, the order's lines
    when a rule counts them, and a reload of rows whose columns are expired
    (after a commit). :func:`explain_listing` gives the reasons.
    """
    return [
        c
        for c, v in explain_listing(
            session,
            rules,
            event,
            candidates,
            viewer=viewer,
            customer=customer,
            agent=agent,
            order=order,
            now=now,
            vocabulary=vocabulary,
            raise_errors=raise_errors,
        )
        if v.shown
    ]
