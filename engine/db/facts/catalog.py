"""Facts from the database: exactly what the rule set reads, no more.

A rule set that only tests customer labels costs one label query per order,
and none when the customer's labels are already loaded in the session (then
the labels in memory are the truth: changes not flushed yet count). The
customer's order count is queried only when a rule uses it; the order's
items only when a rule reads them (``any item …``, item or line counts).

The queries are built once, with bound parameters, and run as Core
statements on the session's connection, inside the caller's transaction:
an order backend pays this on every order, and building and caching an ORM
statement each time costs more than the query itself.

An order an agent created alone has no customer: its facts say
``customer.absent`` (and ``agent.absent`` for an order without an agent),
and carry no labels and no fields for the missing entity.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import Session

from rulec.engine.core.facts import Facts
from rulec.storage.models import (
    LABEL_LINKS,
    Agent,
    Customer,
    Label,
    Order,
    OrderItem,
    customer_labels,
)

__all__ = ["label_names", "lines_of", "load_facts", "load_holder_facts"]

_labels_table = Label.__table__
_orders_table = Order.__table__


def _labels_of(holder: str) -> Any:
    """The names of one ``holder`` row's labels (``holder_id`` bound)."""
    link = LABEL_LINKS[holder]
    return (
        select(_labels_table.c.name)
        .join(link, link.c.label_id == _labels_table.c.id)
        .where(link.c[f"{holder}_id"] == bindparam("holder_id"))
    )


def _labels_of_many(holder: str) -> Any:
    """(holder id, label name) of many ``holder`` rows (``ids`` bound, expanding)."""
    link = LABEL_LINKS[holder]
    column = link.c[f"{holder}_id"]
    return (
        select(column, _labels_table.c.name)
        .join(link, link.c.label_id == _labels_table.c.id)
        .where(column.in_(bindparam("ids", expanding=True)))
    )


#: The names of a customer's labels (kept by name: the most frequent query).
_LABELS_OF = (
    select(_labels_table.c.name)
    .join(customer_labels, customer_labels.c.label_id == _labels_table.c.id)
    .where(customer_labels.c.customer_id == bindparam("customer_id"))
)
_HOLDER_LABELS = {holder: _labels_of(holder) for holder in LABEL_LINKS}
_MANY_LABELS = {holder: _labels_of_many(holder) for holder in ("item", "order_item")}
#: How many orders a customer has (``_OTHER_ORDERS``: not counting one of them).
_ORDERS_OF = (
    select(func.count())
    .select_from(_orders_table)
    .where(_orders_table.c.customer_id == bindparam("customer_id"))
)
_OTHER_ORDERS = _ORDERS_OF.where(_orders_table.c.id != bindparam("order_id"))
_CUSTOMERS = inspect(Customer)
_AGENTS = inspect(Agent)


def _loaded(order: Order, name: str, mapper: Any, key: int | None) -> Any:
    """The order's ``name`` relation if it is already in memory (no query).

    Either the attribute is loaded, or the row its foreign key names is in
    the session's identity map.
    """
    state = inspect(order)
    value = state.dict.get(name)  # what is loaded, without loading it
    if value is not None:
        return value
    session = state.session
    if key is None or session is None:
        return None
    return session.identity_map.get(mapper.identity_key_from_primary_key((key,)))


def label_names(
    session: Session, holder: str, row: Any, row_id: int | None = None
) -> frozenset[str]:
    """The names of ``row``'s labels (a ``holder`` row): from memory when they are
    loaded or the row is new (unflushed changes count), else one query."""
    if row is not None:
        state = inspect(row)
        if state.pending or state.transient or "labels" not in state.unloaded:
            return frozenset(label.name for label in row.labels)
        row_id = row.id
    if row_id is None:
        return frozenset()
    conn = session.connection({"mapper": Label})
    if holder == "customer":
        return frozenset(conn.execute(_LABELS_OF, {"customer_id": row_id}).scalars())
    return frozenset(conn.execute(_HOLDER_LABELS[holder], {"holder_id": row_id}).scalars())


def _order_count(session: Session, order: Order, customer: Customer | None) -> int | None:
    cid = customer.id if customer is not None else order.customer_id
    if cid is None:
        return 0 if customer is not None else None
    conn = session.connection({"mapper": Order})
    if order.id is None:
        return int(conn.execute(_ORDERS_OF, {"customer_id": cid}).scalar_one())
    return int(conn.execute(_OTHER_ORDERS, {"customer_id": cid, "order_id": order.id}).scalar_one())


def lines_of(order: Order) -> list[OrderItem]:
    """The order's lines as they are in its session: without those deleted there,
    with those added there by ``order_id``, neither flushed yet.

    Free for a new order; one query for a stored one whose lines are not loaded.
    """
    session = inspect(order).session
    if session is None:
        return list(order.items)
    deleted = session.deleted
    lines = [line for line in order.items if line not in deleted]
    if order.id is not None:  # lines added by order_id, not through order.items
        known = set(map(id, lines))
        lines.extend(
            obj
            for obj in session.new
            if isinstance(obj, OrderItem) and obj.order_id == order.id and id(obj) not in known
        )
    return lines


def _items(session: Session, lines: Sequence[OrderItem]) -> tuple[Facts, ...]:
    """One Facts per line: its own labels and its catalog item's, quantity, prices, name.

    The lines' labels take at most two queries for the whole order (the
    catalog items' and the lines' own), and none for what is in memory.
    """
    if not lines:
        return ()
    conn = session.connection({"mapper": Label})
    own = _labels_in_bulk(conn, "order_item", lines, lambda line: line)
    catalog = _labels_in_bulk(conn, "item", lines, lambda line: line.item)
    out = []
    for n, line in enumerate(lines):
        line_total = line.line_total if line.line_total is not None else line.compute_line_total()
        out.append(
            Facts(
                {
                    "item.labels": own[n] | catalog[n],
                    "item.quantity": line.quantity,
                    "item.unit_price": line.unit_price,
                    "item.line_total": line_total,
                    "item.name": line.description,
                }
            )
        )
    return tuple(out)


def _labels_in_bulk(
    conn: Any, holder: str, lines: Sequence[OrderItem], row_of: Any
) -> list[frozenset[str]]:
    """Each line's ``holder`` row's labels: from memory, or one query for all of them."""
    found: list[frozenset[str] | None] = []
    wanted: dict[int, list[int]] = {}
    for n, line in enumerate(lines):
        row = row_of(line)
        if row is None and holder == "item" and line.item_id is not None:
            wanted.setdefault(line.item_id, []).append(n)
            found.append(None)
            continue
        if row is None:
            found.append(frozenset())
            continue
        state = inspect(row)
        if state.pending or state.transient or "labels" not in state.unloaded:
            found.append(frozenset(label.name for label in row.labels))
        else:
            wanted.setdefault(row.id, []).append(n)
            found.append(None)
    if wanted:
        names: dict[int, set[str]] = {}
        for key, name in conn.execute(_MANY_LABELS[holder], {"ids": list(wanted)}):
            names.setdefault(key, set()).add(name)
        for key, places in wanted.items():
            for n in places:
                found[n] = frozenset(names.get(key, ()))
    return [f if f is not None else frozenset() for f in found]


def _wedding(order: Order) -> tuple[datetime | None, int | None]:
    day = order.wedding_date
    if day is None:
        return None, None
    return datetime.combine(day, time(), tzinfo=UTC), day.year


def load_facts(
    session: Session,
    order: Order,
    keys: Iterable[str],
    lines: Sequence[OrderItem] | None = None,
) -> Facts:
    """The flat facts for ``order``, loading only the ``keys`` rules read.

    ``lines``: the order's :func:`lines_of`, when the caller has them already.
    """
    keys = frozenset(keys)
    created = order.created_at
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    if lines is None:
        lines = lines_of(order)
    if lines:  # an order made of lines costs what its lines cost, changed or not
        subtotal = sum((line.compute_line_total() for line in lines), Decimal(0))
    else:
        subtotal = Decimal(order.subtotal) if order.subtotal is not None else Decimal(0)
    facts = Facts(
        {
            "order.subtotal": subtotal,
            "order.currency": order.currency or "EUR",
            "order.created_at": created or datetime.now(UTC),
        }
    )
    customer = _loaded(order, "customer", _CUSTOMERS, order.customer_id)
    has_customer = customer is not None or order.customer_id is not None
    agent = _loaded(order, "agent", _AGENTS, order.agent_id)
    has_agent = agent is not None or order.agent_id is not None
    for key in keys:
        if key in facts:
            continue
        if key == "customer.labels":
            facts[key] = label_names(session, "customer", customer, order.customer_id)
        elif key == "customer.order_count":
            facts[key] = _order_count(session, order, customer) if has_customer else None
        elif key == "customer.absent":
            facts[key] = not has_customer
        elif key == "agent.absent":
            facts[key] = not has_agent
        elif key == "agent.labels":
            facts[key] = label_names(session, "agent", agent, order.agent_id)
        elif key == "agent.name":
            if agent is None and order.agent_id is not None:
                agent = session.get(Agent, order.agent_id)
            facts[key] = agent.name if agent is not None else None
        elif key == "order.labels":
            facts[key] = label_names(session, "order", order)
        elif key == "order.status":
            facts[key] = order.status or "new"
        elif key in ("order.wedding_date", "order.wedding_year"):
            facts["order.wedding_date"], facts["order.wedding_year"] = _wedding(order)
        elif key == "order.placed_by_customer":
            facts[key] = has_customer
        elif key == "order.created_by_agent":
            facts[key] = has_agent
        elif key in ("order.item_count", "order.line_count", "item.all"):
            facts["order.line_count"] = len(lines)
            facts["order.item_count"] = sum(line.quantity or 0 for line in lines)
            if key == "item.all":
                facts[key] = _items(session, lines)
        else:
            facts[key] = frozenset() if key.endswith(".labels") else None
    return facts


def load_holder_facts(session: Session, holder: str, row: Any, keys: Iterable[str]) -> Facts:
    """Facts of a label holder that is not an order (a customer, a price, …):
    its labels and its fields, for label events."""
    facts = Facts()
    prefix = f"{holder}."
    for key in keys:
        if key == f"{holder}.labels":
            facts[key] = label_names(session, holder, row)
        elif key == "customer.order_count" and holder == "customer":
            conn = session.connection({"mapper": Order})
            facts[key] = (
                int(conn.execute(_ORDERS_OF, {"customer_id": row.id}).scalar_one())
                if row.id is not None
                else 0
            )
        elif key.startswith(prefix) and hasattr(type(row), key[len(prefix) :]):
            facts[key] = getattr(row, key[len(prefix) :])
        else:
            facts[key] = frozenset() if key.endswith(".labels") else None
    return facts
