"""Listings from the database: which stored prices, items or services a viewer may see.

The policy is :mod:`rulec.engine.core.visibility`; this module reads the
facts it needs through the fact catalog (:mod:`rulec.engine.db.facts`),
loading every candidate's labels with one query for the whole list
(together with the shared entities' labels): the number of statements
does not depend on the number of candidates.

Each listing is counted through the OpenTelemetry API
(:mod:`rulec.engine.metrics`): one decision per candidate, the rule that
decided each, and the listing's duration (facts read and verdicts).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from rulec.dsl.vocabulary import Vocabulary
from rulec.engine.core.decision import Verdict
from rulec.engine.core.facts import Facts
from rulec.engine.core.listing import listing_subject, verdicts
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.db.facts.batch import labels_of_many
from rulec.engine.db.facts.binding import REFERENCE, Binding
from rulec.engine.db.facts.catalog import ORDER_FACTS
from rulec.engine.db.facts.row import (
    OrderRow,
    customer_order_count,
    holder_fields,
    labels_loaded,
    lines_of,
    read_order,
)
from rulec.engine.metrics import Tally, metrics_for
from rulec.engine.vocabulary import DEFAULT_VOCABULARY

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

__all__ = ["explain_listing", "list_visible", "listing_facts"]

T = TypeVar("T")

#: Ids per label query; lists longer than this take one more query per chunk.
CHUNK = 10_000

#: The order facts a listing gives (its labels come with the candidates').
_ORDER_KEYS = tuple(k for k in ORDER_FACTS if k.startswith("order.") and k != "order.labels")


def _reads(keys: frozenset[str] | None, key: str) -> bool:
    return keys is None or key in keys


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


def _lines_in_memory(order: Any, b: Binding) -> list[Any] | None:
    """The order's lines when they are in memory (a new order, or loaded), else None."""
    state = inspect(order)
    if state.pending or state.transient or b.o.attr("items") not in state.unloaded:
        return lines_of(order, b)
    return None


def _key(row: Any) -> Any:
    """A stored row's primary key (None for a row not stored yet)."""
    identity = inspect(row).identity
    return identity[0] if identity else None


def _order_facts(
    session: Session, order: Any, customer: Any, keys: frozenset[str] | None, b: Binding
) -> Facts:
    """The order's facts from the catalog, with ``customer.order_count`` when there
    is a customer: those not in memory in one query."""
    wanted = [k for k in _ORDER_KEYS if _reads(keys, k)]
    if customer is not None and _reads(keys, "customer.order_count"):
        wanted.append("customer.order_count")
    row = OrderRow(session, order, _lines_in_memory(order, b), b, customer=customer)
    facts = read_order(row, wanted)
    facts["order.absent"] = False
    return facts


def listing_facts(
    session: Session,
    rules: RuleSet,
    event: str,
    candidates: Sequence[Any],
    *,
    viewer: Mapping[str, Any] | None,
    customer: Any = None,
    agent: Any = None,
    order: Any = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    binding: Binding = REFERENCE,
) -> tuple[Facts, list[Facts]]:
    """The shared facts and each candidate's facts, from the database.

    ``candidates`` are rows of the event's candidate model (``Price`` for
    ``price_listed``); ``viewer`` maps the viewer's fields (``is_agent``,
    ``wedding_year``) to values. ``customer``, ``agent`` and ``order`` are
    rows, or None when there is none (they are not taken from each other:
    pass ``order.customer`` if that is the customer). The facts are the fact
    catalog's (:mod:`rulec.engine.db.facts`), as for an order event: the
    customer's order count is the orders they placed before ``order`` (all
    their orders without one). Labels in memory are the truth (loaded
    collections, new rows); the others are read with one query for the whole
    list and the shared entities. Only the facts the rule set reads are
    loaded when it says which it reads.
    """
    subject, _ = listing_subject(event, vocabulary)
    if subject not in binding.holders:
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
                    if row is not None and not labels_loaded(row, binding):
                        key = _key(row)
                        if key is not None:
                            ids.append(key)
            wanted.append((holder, ids))
        conn = session.connection({"mapper": binding.order})
        loaded = labels_of_many(conn, wanted, CHUNK, binding)

        def labels_of(n: int, row: Any) -> frozenset[str]:
            if labels_loaded(row, binding):
                return binding.held(holders[n][0], row)
            return frozenset(loaded[n].get(_key(row), ()))

        shared = Facts({f"viewer.{k}": v for k, v in (viewer or {}).items()})
        for n, (holder, rows) in enumerate(holders[1:], start=1):
            row = rows[0]
            if row is None:
                shared[f"{holder}.absent"] = True
                continue
            if holder == "order":
                shared.update(_order_facts(session, row, customer, keys, binding))
            else:
                shared[f"{holder}.absent"] = False
                shared.update(holder_fields(holder, row, binding))
            shared[f"{holder}.labels"] = labels_of(n, row)
        if customer is not None and order is None and _reads(keys, "customer.order_count"):
            shared["customer.order_count"] = customer_order_count(session, customer, binding)

        own: list[Facts] = []
        read_labels = _reads(keys, f"{subject}.labels")
        for row in candidates:
            facts = holder_fields(subject, row, binding)
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
    order: Any = None,
    now: datetime | None = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    raise_errors: bool = False,
    meter_provider: MeterProvider | None = None,
    binding: Binding = REFERENCE,
) -> list[tuple[T, Verdict]]:
    """Every candidate with its :class:`Verdict` (shown or hidden, and by which rule).

    The listing is recorded with ``meter_provider`` (default: the global one).
    """
    metrics = metrics_for(meter_provider)
    start = time.perf_counter()
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
        binding=binding,
    )
    try:
        found = verdicts(
            rules, event, shared, own, now=now, vocabulary=vocabulary, raise_errors=raise_errors
        )
    except Exception as e:
        metrics.raised(event, rules.version, e)
        raise
    tally = Tally(event, rules.version)
    for v in found:
        tally.add_verdict(v)
    metrics.record(tally, time.perf_counter() - start)
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
    order: Any = None,
    now: datetime | None = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    raise_errors: bool = False,
    meter_provider: MeterProvider | None = None,
    binding: Binding = REFERENCE,
) -> list[T]:
    """The candidates the viewer may see, in their order.

    ``list_visible(session, rules, "price_listed", prices, viewer={"is_agent":
    False, "wedding_year": 2027}, customer=ada)``. The number of statements
    is the same for 5 prices or 5,000: one for all the labels, plus one for
    the shared facts that are not in memory when a rule reads them (the
    customer's order count, and the order's subtotal and counts when its
    lines are not loaded), and a reload of rows whose columns are expired
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
            meter_provider=meter_provider,
            binding=binding,
        )
        if v.shown
    ]
