"""The default order-backend vocabulary: orders, customers and their events."""

from __future__ import annotations

from rulec.dsl.vocabulary import Entity, Event, Field, Type, Vocabulary

__all__ = ["DEFAULT_VOCABULARY"]

ORDER = Entity(
    "order",
    (
        Field("subtotal", Type.MONEY, "the order's undiscounted subtotal"),
        Field("currency", Type.CURRENCY, "the order's ISO 4217 currency code"),
        Field("created_at", Type.DATETIME, "when the order was created", aliases=("created",)),
    ),
    labelled=False,
    description="the order that fired the event",
)

CUSTOMER = Entity(
    "customer",
    (Field("order_count", Type.INTEGER, "orders the customer placed before this one"),),
    labelled=True,
    description="the customer who placed the order",
)

#: What ``rulec check`` and the engine use unless told otherwise.
DEFAULT_VOCABULARY = Vocabulary(
    entities=(ORDER, CUSTOMER),
    events=(
        Event("order_created", ("order", "customer"), "a new order was stored"),
        Event(
            "order_updated",
            ("order", "customer"),
            "an order's subtotal or currency changed: the order is decided again",
            includes=("order_created",),
        ),
    ),
)
