"""The subject a fact is read about, as SQL, and the SQL pieces the catalog's facts share.

A fact's SQL expression is a column expression over a *subject*: the row
the fact is about. :class:`OrderRef` is an order (the subject of order
events and of ``daily for order`` runs) and reaches its customer, agent and
lines through their ids; :class:`HolderRef` is one label holder alone (a
customer, a price, …). A subject is made of SQL columns:

* :meth:`OrderRef.of` / :meth:`HolderRef.of`: a table (or an alias) in the
  FROM of the enclosing statement, so the expression is correlated to each of
  its rows (batches, back-testing);
* :meth:`OrderRef.bound`: bound parameters (``:order_id``,
  ``:customer_id``, …), for one row whose columns are in memory (the one-order
  reader, which passes the row's unflushed values).
"""

from __future__ import annotations

from typing import Any

from attrs import frozen
from sqlalchemy import (
    Date,
    DateTime,
    FromClause,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from rulec.dsl.currencies import MINOR_UNITS
from rulec.engine.db.facts.binding import Binding
from rulec.storage.base import Money

__all__ = [
    "HolderRef",
    "OrderRef",
    "Ref",
    "has_label",
    "label_names",
    "label_pairs",
    "line_cost_sql",
    "line_currency",
    "lines_cost",
    "minor_places",
    "orders_before",
    "orders_by_customer",
]

_Col = ColumnElement[Any]


@frozen
class OrderRef:
    """An order as a subject: its columns, correlated or bound."""

    #: None: an order not stored yet (no id), placed after every stored one.
    id: _Col | None
    customer_id: _Col
    agent_id: _Col
    created_at: _Col
    subtotal: _Col
    currency: _Col
    status: _Col
    wedding_date: _Col
    #: The shipping charge (NULL when the binding maps none: no shipping charge).
    shipping_amount: _Col

    @classmethod
    def of(cls, orders: FromClause) -> OrderRef:
        """Each row of ``orders`` (the bound order table, or an alias of it)."""
        c = orders.c
        return cls(
            c.id,
            c.customer_id,
            c.agent_id,
            c.created_at,
            c.subtotal,
            c.currency,
            c.status,
            c.wedding_date,
            c.shipping_amount,
        )

    @classmethod
    def bound(cls, stored: bool, orders: FromClause | None = None) -> OrderRef:
        """One order given by bound parameters: ``order_id`` (when ``stored``),
        ``customer_id``, ``agent_id``, ``created_at``, ``subtotal``, ``currency``,
        ``status``, ``wedding_date``, ``shipping_amount``; the keys typed as
        ``orders``' (a binding's order view: an integer or a UUID)."""
        key = orders.c.id.type if orders is not None else Integer()
        customer_key = orders.c.customer_id.type if orders is not None else Integer()
        agent_key = orders.c.agent_id.type if orders is not None else Integer()
        return cls(
            bindparam("order_id", type_=key) if stored else None,
            bindparam("customer_id", type_=customer_key),
            bindparam("agent_id", type_=agent_key),
            bindparam("created_at", type_=DateTime(timezone=True)),
            bindparam("subtotal", type_=Money()),
            bindparam("currency", type_=String),
            bindparam("status", type_=String),
            bindparam("wedding_date", type_=Date()),
            bindparam("shipping_amount", type_=Money()),
        )

    @property
    def order(self) -> OrderRef:
        return self

    def id_of(self, entity: str) -> _Col | None:
        """The id of the row of ``entity`` this order's facts are about."""
        if entity == "order":
            return self.id
        if entity == "customer":
            return self.customer_id
        if entity == "agent":
            return self.agent_id
        raise KeyError(entity)


@frozen
class HolderRef:
    """One label holder as a subject (a customer alone, a price, …): its table's row."""

    holder: str
    row: FromClause

    @classmethod
    def of(cls, holder: str, table: FromClause) -> HolderRef:
        return cls(holder, table)

    @property
    def order(self) -> None:
        return None

    def id_of(self, entity: str) -> _Col | None:
        if entity != self.holder:
            raise KeyError(entity)
        return self.row.c.id


Ref = OrderRef | HolderRef


def label_names(b: Binding, holder: str, row_id: _Col) -> Select[Any]:
    """The names of the labels of the ``holder`` row with id ``row_id`` (correlated):
    only those of its entity type (:mod:`.labels`). None when the binding's
    ``holder`` rows carry no labels (a backend's order lines may not), as a row
    in memory reads them."""
    if holder not in b.holders:
        return select(null().label("name")).where(false())
    return b.labels.names(holder, row_id)


def has_label(b: Binding, holder: str, row_id: _Col, name: str) -> ColumnElement[bool]:
    """Whether the ``holder`` row with id ``row_id`` carries the label ``name``."""
    if holder not in b.holders:
        return false()
    return b.labels.has(holder, row_id, name)


def label_pairs(b: Binding, holder: str, which: ColumnElement[bool]) -> Select[Any]:
    """(holder id, label name) of the ``holder`` rows whose id meets ``which``
    (a condition on :meth:`~.labels.LabelStore.holder_column`); none when the
    binding's ``holder`` rows carry no labels (then its holder ids are untyped
    NULLs: to be read, never compared with another table's ids). Never a
    comparison of the label store's holder ids with ids of another type (a UUID
    with an integer)."""
    if holder not in b.holders:
        none: Any = select(null().label("holder_id"), null().label("name"))
        return none.where(false())
    return b.labels.pairs(holder, which)


#: The money columns' scale: what a currency rulec does not know is kept to (exact).
_SCALE = 4


def _by_places() -> list[tuple[int, list[str]]]:
    found: dict[int, list[str]] = {}
    for code, places in MINOR_UNITS.items():
        found.setdefault(places, []).append(code)
    return sorted(found.items(), key=lambda kv: -len(kv[1]))


#: (places, the currency codes with that many), the commonest first.
_BY_PLACES = _by_places()


def minor_places(currency: _Col) -> _Col:
    """The decimal places of ``currency``'s minor unit (2 for EUR, 0 for JPY), as
    SQL; a currency rulec does not know keeps the money columns' 4 (exact).

    The codes come from rulec's own table and are written into the statement
    as constants, the commonest places first.
    """
    whens: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = [
        (currency.in_([literal_column(f"'{code}'") for code in codes]), literal_column(str(places)))
        for places, codes in _BY_PLACES
    ]
    return case(*whens, else_=literal_column(str(_SCALE)))


def line_cost_sql(quantity: _Col, unit_price: _Col, currency: _Col) -> _Col:
    """A line's total, as :func:`rulec.engine.core.money.line_total` computes it:
    quantity × unit price rounded half-up to the currency's minor unit.

    PostgreSQL's numeric arithmetic is exact and its ``round`` rounds half
    away from zero. SQLite multiplies the decimal text as floating point:
    rounding first to the money columns' four places gives the exact
    product back, which SQLite's ``round`` then rounds half-up.
    """
    exact = func.round(quantity * unit_price, _SCALE)
    return func.round(exact, minor_places(func.coalesce(currency, "EUR")))


def line_currency(b: Binding, line: FromClause) -> _Col:
    """The currency of the order of each row of ``line`` (the lines table or an alias)."""
    orders = b.orders
    return select(orders.c.currency).where(orders.c.id == line.c.order_id).scalar_subquery()


def lines_cost(b: Binding, order_id: _Col | None, currency: _Col) -> _Col:
    """What the lines of the order ``order_id`` cost, in ``currency``: their totals
    (:func:`line_cost_sql`) added up; NULL when it has none.

    Rounded to the currency's places once more: on SQLite the sum of the
    totals is floating point.
    """
    lines = b.lines
    places = minor_places(func.coalesce(currency, "EUR"))
    cost = func.round(
        func.sum(line_cost_sql(lines.c.quantity, lines.c.unit_price, currency)), places
    )
    return type_coerce(select(cost).where(lines.c.order_id == order_id).scalar_subquery(), Money())


def orders_before(b: Binding, customer_id: _Col, order: OrderRef | None) -> _Col:
    """How many orders the customer ``customer_id`` placed before ``order``.

    "Before" is by creation instant, then by id for orders created at the
    same instant; an order not stored yet comes after every stored order of
    its instant. Without an order (a customer alone): all their orders.
    """
    orders = b.orders.alias("placed")
    counted = select(func.count()).select_from(orders).where(orders.c.customer_id == customer_id)
    if order is not None:
        earlier = orders.c.created_at < order.created_at
        same = orders.c.created_at == order.created_at
        if order.id is None:
            counted = counted.where(or_(earlier, same))
        else:
            counted = counted.where(or_(earlier, and_(same, orders.c.id < order.id)))
    return counted.scalar_subquery()


def orders_by_customer(b: Binding, lo: _Col, hi: _Col) -> Select[Any]:
    """(customer id, all their orders) of the customers with an id from ``lo`` to
    ``hi`` who placed at least one: :func:`orders_before` without an order, for
    many customers in one statement."""
    orders = b.orders.alias("placed")
    return (
        select(orders.c.customer_id, func.count())
        .where(orders.c.customer_id.between(lo, hi))
        .group_by(orders.c.customer_id)
    )
