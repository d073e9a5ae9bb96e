"""The vocabulary a rule set is checked against: entities, fields, events.

This is a plain value. The checker is handed one; nothing here knows about
databases. ``rulec.engine.vocabulary`` holds the default order-backend
vocabulary, and an embedding backend can build its own.
"""

from __future__ import annotations

import enum

from attrs import field, frozen

__all__ = ["Entity", "Event", "Field", "Type", "Vocabulary", "fact_key", "labels_key"]


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
    """A typed field of an entity. ``key`` is its name in the facts."""

    name: str
    type: Type
    description: str = ""
    aliases: tuple[str, ...] = field(default=(), converter=tuple)


@frozen
class Entity:
    """Something rules talk about: ``order``, ``customer``."""

    name: str
    fields: tuple[Field, ...] = field(converter=tuple)
    labelled: bool = False  # whether it carries labels
    description: str = ""

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name or name in f.aliases:
                return f
        return None

    def field_names(self) -> list[str]:
        return [n for f in self.fields for n in (f.name, *f.aliases)]


@frozen
class Event:
    """A trigger, with the entities it provides to its rules."""

    name: str
    entities: tuple[str, ...] = field(converter=tuple)
    description: str = ""
    #: Other events whose rules also run on this one: ``order_updated``
    #: re-decides an order with the ``order_created`` rules too.
    includes: tuple[str, ...] = field(default=(), converter=tuple)


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

    def event(self, name: str) -> Event | None:
        for e in self.events:
            if e.name == name:
                return e
        return None

    def labelled_entities(self) -> list[str]:
        return [e.name for e in self.entities if e.labelled]


def fact_key(entity: str, name: str) -> str:
    """The key of a field in the flat facts mapping: ``"order.subtotal"``."""
    return f"{entity}.{name}"


def labels_key(entity: str) -> str:
    """The key of an entity's label set in the facts: ``"customer.labels"``."""
    return f"{entity}.labels"
