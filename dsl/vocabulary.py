"""The vocabulary a rule set is checked against: entities, fields, events.

This is a plain value. The checker is handed one; nothing here knows about
databases. ``rulec.engine.vocabulary`` holds the default order-backend
vocabulary, and an embedding backend can build its own.
"""

from __future__ import annotations

import enum

from attrs import field, frozen

__all__ = [
    "Entity",
    "Event",
    "Field",
    "Kind",
    "Type",
    "Vocabulary",
    "absent_key",
    "fact_key",
    "labels_key",
    "many_key",
]


class Type(enum.Enum):
    """The types a field can have."""

    MONEY = "money"  # Decimal amount in the order's currency
    DECIMAL = "decimal"
    INTEGER = "integer"
    STRING = "string"
    CURRENCY = "currency"  # ISO 4217 code
    DATETIME = "datetime"  # an aware instant
    BOOLEAN = "boolean"


@frozen
class Field:
    """A typed field of an entity. ``key`` is its name in the facts.

    ``values``, when given, are the only values the field takes (an order's
    status): rules comparing it with, or setting it to, anything else are
    rejected. ``settable`` fields can be changed by a rule's ``set`` action.
    """

    name: str
    type: Type
    description: str = ""
    aliases: tuple[str, ...] = field(default=(), converter=tuple)
    values: tuple[str, ...] = field(default=(), converter=tuple)
    settable: bool = False
    #: A boolean field that is true when an optional entity is there
    #: (``order placed_by_customer``): testing it true requires that entity.
    presence_of: str | None = None


@frozen
class Entity:
    """Something rules talk about: ``order``, ``customer``."""

    name: str
    fields: tuple[Field, ...] = field(converter=tuple)
    labelled: bool = False  # whether it carries labels
    description: str = ""
    #: Whether it carries the coupon codes a customer entered (``order has coupon "SPRING10"``).
    coupons: bool = False
    #: The field ``ENTITY is VALUE`` compares (``label is Customer_VIP``), if any.
    identity: str | None = None

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name or name in f.aliases:
                return f
        return None

    def field_names(self) -> list[str]:
        return [n for f in self.fields for n in (f.name, *f.aliases)]


class Kind(enum.Enum):
    """What an event decides, and so which actions its rules may take."""

    ORDER = "order"  # discounts, labels and status of one order
    LABEL = "label"  # a label was linked to or unlinked from an entity
    SCHEDULED = "scheduled"  # a periodic run over every entity of a subject
    LISTING = "listing"  # whether a candidate is shown: show / hide


@frozen
class Event:
    """A trigger, with the entities it provides to its rules.

    ``optional`` entities may be missing (an order created by an agent has
    no customer): a condition about a missing entity is false. ``many``
    entities come as a list (an order's items), tested with ``any``. A
    scheduled event exists once per ``subject`` (``on daily for customer``);
    a listing event's ``subject`` is its candidate (``price_listed``: price).
    """

    name: str
    entities: tuple[str, ...] = field(converter=tuple)
    description: str = ""
    #: Other events whose rules also run on this one: ``order_updated``
    #: re-decides an order with the ``order_created`` rules too.
    includes: tuple[str, ...] = field(default=(), converter=tuple)
    optional: tuple[str, ...] = field(default=(), converter=tuple)
    many: tuple[str, ...] = field(default=(), converter=tuple)
    kind: Kind = Kind.ORDER
    subject: str | None = None

    @property
    def key(self) -> str:
        """The name compiled rules and the engine use: ``daily:customer`` for a subject."""
        if self.subject is None or self.kind is not Kind.SCHEDULED:
            return self.name
        return f"{self.name}:{self.subject}"


@frozen
class Vocabulary:
    """Entities and events known to a rule set."""

    entities: tuple[Entity, ...] = field(converter=tuple)
    events: tuple[Event, ...] = field(converter=tuple)

    def entity(self, name: str) -> Entity | None:
        for e in self.entities:
            if e.name == name:
                return e
        return None

    def event(self, name: str, subject: str | None = None) -> Event | None:
        """The event ``name`` (for ``subject``, when it is a scheduled one)."""
        for e in self.events:
            if e.name == name and (e.kind is not Kind.SCHEDULED or e.subject == subject):
                return e
        return None

    def subjects(self, name: str) -> list[str]:
        """The subjects of the scheduled event ``name`` (empty for other events)."""
        return [
            e.subject
            for e in self.events
            if e.name == name and e.kind is Kind.SCHEDULED and e.subject is not None
        ]

    def event_names(self) -> list[str]:
        return list(dict.fromkeys(e.name for e in self.events))

    def labelled_entities(self) -> list[str]:
        return [e.name for e in self.entities if e.labelled]


def fact_key(entity: str, name: str) -> str:
    """The key of a field in the flat facts mapping: ``"order.subtotal"``."""
    return f"{entity}.{name}"


def labels_key(entity: str) -> str:
    """The key of an entity's label set in the facts: ``"customer.labels"``."""
    return f"{entity}.labels"


def coupons_key(entity: str) -> str:
    """The key of an entity's entered coupon codes in the facts: ``"order.coupons"``."""
    return f"{entity}.coupons"


def absent_key(entity: str) -> str:
    """The fact that is true when an optional entity is missing: ``"customer.absent"``.

    Facts without it (a caller's own) read it as absent-not-known, so the
    entity counts as present.
    """
    return f"{entity}.absent"


def many_key(entity: str) -> str:
    """The key of a list entity in the facts: ``"order.items"`` style, ``"item.all"``."""
    return f"{entity}.all"
