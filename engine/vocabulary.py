"""The default order-backend vocabulary: the old system's entities and events.

Entities: the order and its items, the customer who placed it, the agent
who created it for a customer (or without one), professionals, services and
prices; every one of them carries labels. Events: an order created or
updated; a label linked to or unlinked from any of them; daily and monthly
runs over every customer or every order; a price, item or service listed
to a viewer (``show`` / ``hide``).
"""

from __future__ import annotations

from rulec.dsl.vocabulary import Entity, Event, Field, Kind, Type, Vocabulary

__all__ = [
    "DEFAULT_VOCABULARY",
    "LABEL_HOLDERS",
    "ORDER_STATUSES",
    "SCHEDULED_SUBJECTS",
    "VIEWER_ROLES",
]

#: The statuses an order can have; ``set order status to …`` takes one of these.
ORDER_STATUSES = (
    "new",
    "pending",
    "confirmed",
    "paid",
    "shipped",
    "completed",
    "cancelled",
    "refunded",
)

#: Who may look at a listing.
VIEWER_ROLES = ("customer", "agent", "guest")

ORDER = Entity(
    "order",
    (
        Field("subtotal", Type.MONEY, "the order's undiscounted subtotal"),
        Field("currency", Type.CURRENCY, "the order's ISO 4217 currency code"),
        Field("created_at", Type.DATETIME, "when the order was created", aliases=("created",)),
        Field(
            "status",
            Type.STRING,
            "the order's status: " + ", ".join(ORDER_STATUSES),
            values=ORDER_STATUSES,
            settable=True,
        ),
        Field("item_count", Type.INTEGER, "how many items the order holds (quantities added up)"),
        Field("line_count", Type.INTEGER, "how many lines the order has"),
        Field("wedding_date", Type.DATETIME, "the date of the wedding the order is for"),
        Field("wedding_year", Type.INTEGER, "the year of the wedding the order is for"),
        Field(
            "placed_by_customer",
            Type.BOOLEAN,
            "whether the order has a customer (false when an agent created it alone)",
            aliases=("has_customer",),
            presence_of="customer",
        ),
        Field(
            "created_by_agent",
            Type.BOOLEAN,
            "whether an agent created the order",
            presence_of="agent",
        ),
    ),
    labelled=True,
    description="the order that fired the event",
)

CUSTOMER = Entity(
    "customer",
    (Field("order_count", Type.INTEGER, "orders the customer placed before this one"),),
    labelled=True,
    description="the customer who placed the order (none when an agent created it alone)",
)

ITEM = Entity(
    "item",
    (
        Field("quantity", Type.INTEGER, "how many of the item the line holds"),
        Field("unit_price", Type.MONEY, "the unit price copied when the order was made"),
        Field("line_total", Type.MONEY, "quantity times unit price"),
        Field("name", Type.STRING, "the item's name"),
    ),
    labelled=True,
    description="an item: a line of the order, or a catalog item being listed",
)

PRICE = Entity(
    "price",
    (
        Field("amount", Type.MONEY, "the price"),
        Field("currency", Type.CURRENCY, "the price's currency"),
        Field("year", Type.INTEGER, "the wedding year the price is for"),
        Field("name", Type.STRING, "the price's name"),
    ),
    labelled=True,
    description="an entry of a price list",
)

AGENT = Entity(
    "agent",
    (Field("name", Type.STRING, "the agent's name"),),
    labelled=True,
    description="the agent who created the order, or who is viewing a listing",
)

PROFESSIONAL = Entity(
    "professional",
    (Field("name", Type.STRING, "the professional's name"),),
    labelled=True,
    description="a professional offering services",
)

SERVICE = Entity(
    "service",
    (Field("name", Type.STRING, "the service's name"),),
    labelled=True,
    description="a service a professional offers",
)

LABEL = Entity(
    "label",
    (Field("name", Type.STRING, "the label's name"),),
    labelled=False,
    description="the label a label event is about",
    identity="name",
)

VIEWER = Entity(
    "viewer",
    (
        Field(
            "role",
            Type.STRING,
            "who the viewer is: " + ", ".join(VIEWER_ROLES),
            values=VIEWER_ROLES,
        ),
        Field("is_agent", Type.BOOLEAN, "whether the viewer is an agent (role is agent)"),
        Field("wedding_year", Type.INTEGER, "the wedding year the viewer is choosing for"),
    ),
    description="who is looking at a listing",
)

#: Entities that carry labels, each with a link table in rulec.storage.
LABEL_HOLDERS = ("customer", "order", "item", "price", "agent", "professional", "service")

#: Scheduled events run over every entity of one of these subjects.
SCHEDULED_SUBJECTS = ("customer", "order")

_ORDER_SCOPE = ("order", "customer", "agent", "item")


def _order_events() -> list[Event]:
    optional = ("customer", "agent")
    return [
        Event(
            "order_created",
            _ORDER_SCOPE,
            "a new order was stored",
            optional=optional,
            many=("item",),
        ),
        Event(
            "order_updated",
            _ORDER_SCOPE,
            "an order's subtotal or currency changed: the order is decided again",
            includes=("order_created",),
            optional=optional,
            many=("item",),
        ),
    ]


def _label_events() -> list[Event]:
    events = []
    for holder in LABEL_HOLDERS:
        if holder == "order":
            scope: tuple[str, ...] = ("order", "customer", "agent", "item", "label")
            optional: tuple[str, ...] = ("customer", "agent")
            many: tuple[str, ...] = ("item",)
        else:
            scope, optional, many = (holder, "label"), (), ()
        for verb, what in (("labeled", "linked to"), ("unlabeled", "unlinked from")):
            events.append(
                Event(
                    f"{holder}_{verb}",
                    scope,
                    f"a label was {what} a {holder}; 'label is NAME' tests which",
                    optional=optional,
                    many=many,
                    kind=Kind.LABEL,
                    subject=holder,
                )
            )
    return events


def _scheduled_events() -> list[Event]:
    events = []
    for name, when in (("daily", "once a day"), ("monthly", "once a month")):
        events.append(
            Event(
                name,
                ("customer",),
                f"{when}, for every customer ('rulec run {name}')",
                kind=Kind.SCHEDULED,
                subject="customer",
            )
        )
        events.append(
            Event(
                name,
                _ORDER_SCOPE,
                f"{when}, for every order ('rulec run {name}')",
                optional=("customer", "agent"),
                many=("item",),
                kind=Kind.SCHEDULED,
                subject="order",
            )
        )
    return events


def _listing_events() -> list[Event]:
    return [
        Event(
            f"{candidate}_listed",
            (candidate, "viewer", "customer", "agent", "order"),
            f"a {candidate} is about to be shown to a viewer: rules 'show {candidate}' "
            f"or 'hide {candidate}' (shown when no rule decides)",
            optional=("customer", "agent", "order"),
            kind=Kind.LISTING,
            subject=candidate,
        )
        for candidate in ("price", "item", "service")
    ]


#: What ``rulec check`` and the engine use unless told otherwise.
DEFAULT_VOCABULARY = Vocabulary(
    entities=(ORDER, CUSTOMER, ITEM, PRICE, AGENT, PROFESSIONAL, SERVICE, LABEL, VIEWER),
    events=(*_order_events(), *_label_events(), *_scheduled_events(), *_listing_events()),
)
