"""What a binding must map for each fact: the (entity, field) pairs a fact of the
catalog (:mod:`.catalog`) or of a project's vocabulary reads, for
:meth:`~rulec.engine.db.facts.binding.Binding.check` to name a fact no mapped
attribute can give, instead of reading it as missing.
"""

from __future__ import annotations

from collections.abc import Mapping

from rulec.engine.db.facts.catalog import ORDER_FACTS

__all__ = ["needs"]

#: The fields (entity, field) each fact reads, beyond the order's key and the
#: relations every binding has (an order's lines, its customer).
_NEEDS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "order.subtotal": (("order", "subtotal"), ("line", "quantity"), ("line", "unit_price")),
    "order.currency": (("order", "currency"),),
    "order.shipping": (("order", "shipping_amount"),),
    "order.created_at": (("order", "created_at"),),
    "order.status": (("order", "status"),),
    "order.wedding_date": (("order", "wedding_date"),),
    "order.coupons": (("order", "coupons"),),
    "order.wedding_year": (("order", "wedding_date"),),
    "order.placed_by_customer": (("order", "customer_id"),),
    "customer.absent": (("order", "customer_id"),),
    "order.created_by_agent": (("order", "agent_id"),),
    "agent.absent": (("order", "agent_id"),),
    "order.line_count": (("line", "order_id"),),
    "order.item_count": (("line", "order_id"), ("line", "quantity")),
    "customer.order_count": (("order", "customer_id"), ("order", "created_at")),
    "agent.name": (("agent", "name"), ("order", "agent_id")),
    "agent.labels": (("agent", "id"), ("order", "agent_id")),
    "customer.labels": (("order", "customer_id"),),
    "item.all": (("line", "quantity"), ("line", "unit_price"), ("line", "description")),
}

#: Facts the engine computes itself, from no field of the backend.
_COMPUTED = frozenset({"order.labels", "label.name"})


def needs(key: str) -> tuple[tuple[str, str], ...]:
    """The (entity, field) pairs the fact ``key`` reads: a catalog fact's fields, or
    for another fact of the vocabulary (``order.channel``), its entity's field."""
    found = _NEEDS.get(key)
    if found is not None:
        return found
    if key in ORDER_FACTS or key in _COMPUTED or key.startswith("item."):
        return ()
    entity, _, name = key.partition(".")
    if entity in ("order", "customer", "agent") and name and name != "absent":
        return ((entity, name),)
    return ()  # the presence of an optional entity, another entity's facts
