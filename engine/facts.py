"""Facts from the database: exactly what the rule set reads, no more.

A rule set that only tests customer labels costs one label query per order
(none when the customer's labels are already loaded in the session); the
customer's order count is queried only when a rule uses it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from rulec.storage.models import Customer, Label, Order, customer_labels

__all__ = ["load_facts"]


def _customer_loaded(order: Order) -> Customer | None:
    """The order's customer if it is already in memory (no query)."""
    state = inspect(order)
    value = state.attrs.customer.loaded_value
    return value if isinstance(value, Customer) else None


def _labels(session: Session, order: Order) -> frozenset[str]:
    customer = _customer_loaded(order)
    if customer is not None:
        cstate = inspect(customer)
        if cstate.pending or cstate.transient or "labels" not in cstate.unloaded:
            return frozenset(label.name for label in customer.labels)
        cid: int | None = customer.id
    else:
        cid = order.customer_id
    if cid is None:
        return frozenset()
    rows = session.execute(
        select(Label.name)
        .join(customer_labels, customer_labels.c.label_id == Label.id)
        .where(customer_labels.c.customer_id == cid)
    )
    return frozenset(rows.scalars())


def _order_count(session: Session, order: Order) -> int | None:
    customer = _customer_loaded(order)
    cid = customer.id if customer is not None else order.customer_id
    if cid is None:
        return 0 if customer is not None else None
    query = select(func.count()).select_from(Order).where(Order.customer_id == cid)
    if order.id is not None:
        query = query.where(Order.id != order.id)
    return int(session.execute(query).scalar_one())


def load_facts(session: Session, order: Order, keys: frozenset[str]) -> dict[str, Any]:
    """The flat facts for ``order``, loading only the ``keys`` rules read."""
    created = order.created_at
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    facts: dict[str, Any] = {
        "order.subtotal": Decimal(order.subtotal) if order.subtotal is not None else Decimal(0),
        "order.currency": order.currency or "EUR",
        "order.created_at": created or datetime.now(UTC),
    }
    has_customer = order.customer_id is not None or _customer_loaded(order) is not None
    if "customer.labels" in keys:
        facts["customer.labels"] = _labels(session, order) if has_customer else frozenset()
    if "customer.order_count" in keys:
        facts["customer.order_count"] = _order_count(session, order) if has_customer else None
    for k in keys:
        facts.setdefault(k, frozenset() if k.endswith(".labels") else None)
    return facts
