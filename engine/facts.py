"""Facts from the database: exactly what the rule set reads, no more.

A rule set that only tests customer labels costs one label query per order,
and none when the customer's labels are already loaded in the session (then
the labels in memory are the truth: changes not flushed yet count). The
customer's order count is queried only when a rule uses it.

The queries are built once, with bound parameters, and run as Core
statements on the session's connection, inside the caller's transaction:
an order backend pays this on every order, and building and caching an ORM
statement each time costs more than the query itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import Session

from rulec.engine.ruleset import Facts
from rulec.storage.models import Customer, Label, Order, customer_labels

__all__ = ["load_facts"]

_labels_table = Label.__table__
_orders_table = Order.__table__

#: The names of a customer's labels.
_LABELS_OF = (
    select(_labels_table.c.name)
    .join(customer_labels, customer_labels.c.label_id == _labels_table.c.id)
    .where(customer_labels.c.customer_id == bindparam("customer_id"))
)
#: How many orders a customer has (``_OTHER_ORDERS``: not counting one of them).
_ORDERS_OF = (
    select(func.count())
    .select_from(_orders_table)
    .where(_orders_table.c.customer_id == bindparam("customer_id"))
)
_OTHER_ORDERS = _ORDERS_OF.where(_orders_table.c.id != bindparam("order_id"))
_CUSTOMERS = inspect(Customer)


def _customer_loaded(order: Order) -> Customer | None:
    """The order's customer if it is already in memory (no query).

    Either the order's ``customer`` is set, or the customer its
    ``customer_id`` names is in the session's identity map.
    """
    state = inspect(order)
    value = state.dict.get("customer")  # what is loaded, without loading it
    if isinstance(value, Customer):
        return value
    cid = order.customer_id
    session = state.session
    if cid is None or session is None:
        return None
    found = session.identity_map.get(_CUSTOMERS.identity_key_from_primary_key((cid,)))
    return found if isinstance(found, Customer) else None


def _labels(session: Session, order: Order, customer: Customer | None) -> frozenset[str]:
    if customer is not None:
        cstate = inspect(customer)
        if cstate.pending or cstate.transient or "labels" not in cstate.unloaded:
            return frozenset(label.name for label in customer.labels)
        cid: int | None = customer.id
    else:
        cid = order.customer_id
    if cid is None:
        return frozenset()
    rows = session.connection({"mapper": Label}).execute(_LABELS_OF, {"customer_id": cid})
    return frozenset(rows.scalars())


def _order_count(session: Session, order: Order, customer: Customer | None) -> int | None:
    cid = customer.id if customer is not None else order.customer_id
    if cid is None:
        return 0 if customer is not None else None
    conn = session.connection({"mapper": Order})
    if order.id is None:
        return int(conn.execute(_ORDERS_OF, {"customer_id": cid}).scalar_one())
    return int(conn.execute(_OTHER_ORDERS, {"customer_id": cid, "order_id": order.id}).scalar_one())


def load_facts(session: Session, order: Order, keys: frozenset[str]) -> Facts:
    """The flat facts for ``order``, loading only the ``keys`` rules read."""
    created = order.created_at
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    facts = Facts(
        {
            "order.subtotal": Decimal(order.subtotal) if order.subtotal is not None else Decimal(0),
            "order.currency": order.currency or "EUR",
            "order.created_at": created or datetime.now(UTC),
        }
    )
    customer = _customer_loaded(order)
    has_customer = customer is not None or order.customer_id is not None
    if "customer.labels" in keys:
        facts["customer.labels"] = (
            _labels(session, order, customer) if has_customer else frozenset()
        )
    if "customer.order_count" in keys:
        facts["customer.order_count"] = (
            _order_count(session, order, customer) if has_customer else None
        )
    for k in keys:
        facts.setdefault(k, frozenset() if k.endswith(".labels") else None)
    return facts
