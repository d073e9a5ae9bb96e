"""Which mapped classes and tables the fact catalog reads: the one place that names them.

Every reader of the catalog (one order, a batch, a listing, the SQL
expressions) reaches the database through a :class:`Binding`, never through
a module-level model or table. :data:`REFERENCE` binds the reference models
of :mod:`rulec.storage.models`; a backend with its own models will get its
own binding here (a later issue), and the readers will not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from attrs import frozen
from sqlalchemy import Column, Table

from rulec.storage import models

__all__ = ["REFERENCE", "Binding"]


@frozen(eq=False)  # hashed by identity: statements are cached per binding
class Binding:
    """The mapped classes the facts come from, and the label link table of each holder.

    The classes must have the columns the reference models have (an order's
    ``customer_id``, ``agent_id``, ``subtotal``, ``currency``,
    ``created_at``, ``status``, ``wedding_date``; a line's ``order_id``,
    ``item_id``, ``quantity``, ``unit_price``, ``description``), a
    ``labels`` relationship on every label holder, and a label class with
    ``name`` and ``entity_type``.
    """

    order: type[Any]
    line: type[Any]
    customer: type[Any]
    agent: type[Any]
    label: type[Any]
    #: Every label holder's mapped class, by holder name (``"price"``: Price).
    holders: Mapping[str, type[Any]]
    #: Every label holder's link table, by holder name; its holder column is
    #: ``<holder>_id``, its label column ``label_id``.
    links: Mapping[str, Table]
    #: The entity type of the labels each holder carries (the label class's
    #: ``entity_type``): a label of another type linked to it never counts.
    label_types: Mapping[str, str]

    def table(self, cls: type[Any]) -> Table:
        table = cls.__table__
        assert isinstance(table, Table)
        return table

    @property
    def orders(self) -> Table:
        return self.table(self.order)

    @property
    def lines(self) -> Table:
        return self.table(self.line)

    @property
    def agents(self) -> Table:
        return self.table(self.agent)

    @property
    def customers(self) -> Table:
        return self.table(self.customer)

    @property
    def labels(self) -> Table:
        return self.table(self.label)

    def link(self, holder: str) -> tuple[Table, Column[Any]]:
        """The link table of ``holder`` and its holder column (``customer_id``)."""
        table = self.links[holder]
        return table, table.c[f"{holder}_id"]

    def label_type(self, holder: str) -> str:
        """The entity type of the labels ``holder`` carries (``"item"`` for an order line)."""
        return self.label_types[holder]

    def held(self, holder: str, labels: Iterable[Any]) -> frozenset[str]:
        """The names of ``labels`` (label objects in memory) that ``holder`` carries:
        those of its entity type."""
        kind = self.label_types[holder]
        return frozenset(label.name for label in labels if label.entity_type == kind)


#: The reference models of rulec.storage.
REFERENCE = Binding(
    order=models.Order,
    line=models.OrderItem,
    customer=models.Customer,
    agent=models.Agent,
    label=models.Label,
    holders={
        "customer": models.Customer,
        "order": models.Order,
        "item": models.Item,
        "price": models.Price,
        "agent": models.Agent,
        "professional": models.Professional,
        "service": models.Service,
        "order_item": models.OrderItem,
    },
    links=models.LABEL_LINKS,
    label_types=models.HOLDER_LABEL_TYPES,
)
