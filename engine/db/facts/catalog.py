"""The fact catalog: every fact the engine reads from the database, each defined once.

A fact (``"customer.order_count"``) is defined here by one :class:`Fact`:
what it means (``doc``), its value from a row in memory (``row``), and its
SQL expression (``sql``: a column expression over the subject row, see
:mod:`rulec.engine.db.facts.sql`). The readers only go through these
definitions:

* one order, as :meth:`Engine.fire` decides it (:mod:`.row`): ``row`` on
  the order and what is loaded with it (unflushed changes count); what is
  not in memory is ``STORED`` and comes from the fact's SQL expression with
  the order's columns bound, all such facts in one statement;
* many orders or customers, a fixed number of statements per batch (:mod:`.batch`,
  for scheduled runs): the fact's SQL expression over each row of the batch;
* back-testing in SQL (a later issue): the SQL expression itself.

Tests hold the three equal on stored rows, on SQLite and PostgreSQL
(``tests/engine/test_fact_catalog.py``).

What the catalog settles, the same way on every path:

* ``order.created_at``: the order's creation instant; an order not stored
  yet, without one, is created now.
* ``order.subtotal``: an order made of lines costs what its lines cost
  (their totals added up), whatever subtotal is stored on it; an order
  without lines costs its stored subtotal.
* ``order.shipping``: the order's stored shipping charge (``shipping_amount``),
  0 when it has none or its binding maps none (a backend without shipping
  charges).
* ``item.line_total``: quantity × unit price, rounded half-up to the
  currency's minor unit (a line's total is paid; a unit price may be finer).
* ``customer.order_count``: the orders the customer placed before this one
  (earlier creation instant; the same instant, a smaller id); for a customer
  alone (daily customer runs, customer label events, listings without an
  order) all their orders.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from attrs import frozen
from sqlalchemy import (
    Boolean,
    FromClause,
    Integer,
    case,
    extract,
    func,
    inspect,
    null,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from rulec.engine.core.money import line_total
from rulec.engine.db.facts.binding import REFERENCE, Binding
from rulec.engine.db.facts.sql import (
    HolderRef,
    OrderRef,
    Ref,
    label_names,
    line_cost_sql,
    lines_cost,
    orders_before,
)
from rulec.storage.base import Money

if TYPE_CHECKING:
    from rulec.engine.db.facts.row import OrderRow

__all__ = [
    "ITEM_FACTS",
    "ORDER_FACTS",
    "STORED",
    "Batch",
    "Fact",
    "ItemFact",
    "Stored",
    "aware",
    "holder_field",
    "holder_sql",
    "line_cost",
    "midnight",
    "money",
    "subtotal",
]


# ------------------------------------------------------------ plain values --


def aware(value: datetime | None) -> datetime | None:
    """A stored instant as rules compare it: aware, UTC when the database gives it naive."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def midnight(day: date | None) -> datetime | None:
    """A date as rules compare it: the aware instant of its midnight, UTC."""
    if day is None:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def money(value: Any) -> Decimal:
    """An amount as a Decimal (0 when there is none)."""
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def line_cost(line: Any, currency: str, b: Binding = REFERENCE) -> Decimal:
    """What a line of an order in ``currency`` costs: its quantity times its unit
    price (the price it was sold at), rounded half-up to the currency's minor
    unit (3 × 1.479 EUR is 4.44)."""
    quantity, price = b.ln.get(line, "quantity"), b.ln.get(line, "unit_price")
    if quantity is None or price is None:
        raise ValueError("a line total needs a quantity and a unit price")
    return line_total(quantity, money(price), currency)


def subtotal(lines: Iterable[Any], stored: Any, currency: str, b: Binding = REFERENCE) -> Decimal:
    """An order's subtotal: what its lines cost, or ``stored`` when it has no line."""
    total, any_line = Decimal(0), False
    for line in lines:
        total += line_cost(line, currency, b)
        any_line = True
    return total if any_line else money(stored)


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


def _flag(value: Any) -> bool:
    return bool(value)


def _same(value: Any) -> Any:
    return value


# ------------------------------------------------------------------- facts --


@frozen
class Stored:
    """What a row reader gives for a fact that is not in memory: the fact's SQL
    expression, bound to the row, gives it (then ``then`` of that value)."""

    then: Callable[[Any], Any] | None = None


#: The usual :class:`Stored`: the value exactly as the SQL expression gives it.
STORED = Stored()


class Batch(enum.Enum):
    """Which statement of a batch reads a fact (:mod:`.batch`)."""

    #: The SELECT of the batch's rows itself: the fact's SQL expression is one of its columns.
    PAGE = "page"
    #: One statement per batch for the facts over the lines: their ``part``s, grouped by order.
    LINES = "lines"
    #: One statement per batch for the customers' order counts.
    ORDER_COUNT = "order count"
    #: One statement per batch for the facts of the agent: their ``part``s, joined.
    AGENT = "agent"
    #: One statement per batch and holder: (holder id, label name) pairs.
    LABELS = "labels"
    #: Three statements per batch: the lines, their own labels, their items' labels.
    ITEMS = "items"


@frozen
class Fact:
    """One fact key, defined once."""

    key: str
    doc: str
    #: Its SQL expression over a subject (a scalar; for labels, the names' SELECT;
    #: for ``item.all``, the member lines' SELECT).
    sql: Callable[[Binding, Ref], Any]
    #: Its value for one order in memory (see :class:`.row.OrderRow`), or a :class:`Stored`.
    row: Callable[[OrderRow], Any]
    #: How a batch reads it.
    batch: Batch
    #: A value the SQL expression gives, as the fact's value (a date as its midnight, …).
    decode: Callable[[Any], Any] = _same
    #: For a fact over an order's lines or its agent (``Batch.LINES``, ``Batch.AGENT``):
    #: the column its SQL expression selects from them (an aggregate of the lines,
    #: a column of the agent), which a batch selects for all its orders at once.
    part: Callable[[Binding], ColumnElement[Any]] | None = None
    #: Its value for an order without any of those rows.
    no_rows: Any = None


def _order_column(name: str) -> Callable[[Binding, Ref], ColumnElement[Any]]:
    def sql(b: Binding, ref: Ref) -> ColumnElement[Any]:
        value: ColumnElement[Any] = getattr(_order(ref), name)
        return value

    return sql


def _order(ref: Ref) -> OrderRef:
    if not isinstance(ref, OrderRef):
        raise TypeError(f"an order fact needs an order subject, not {ref!r}")
    return ref


def _subtotal_sql(b: Binding, ref: Ref) -> ColumnElement[Any]:
    o = _order(ref)
    return type_coerce(func.coalesce(lines_cost(b, o.id, o.currency), o.subtotal, 0), Money())


def _over_lines(part: Callable[[Binding], ColumnElement[Any]]) -> Callable[[Binding, Ref], Any]:
    """The SQL expression of an aggregate ``part`` of the order's lines."""

    def sql(b: Binding, ref: Ref) -> ColumnElement[Any]:
        lines = b.lines
        query = select(part(b)).select_from(lines).where(lines.c.order_id == _order(ref).id)
        return query.scalar_subquery()

    return sql


def _over_agent(part: Callable[[Binding], ColumnElement[Any]]) -> Callable[[Binding, Ref], Any]:
    """The SQL expression of a column ``part`` of the order's agent."""

    def sql(b: Binding, ref: Ref) -> ColumnElement[Any]:
        agents = b.agents
        query = select(part(b)).where(agents.c.id == _order(ref).agent_id)
        return query.scalar_subquery()

    return sql


def _line_count(b: Binding) -> ColumnElement[Any]:
    return func.count(b.lines.c.id)


def _item_count(b: Binding) -> ColumnElement[Any]:
    return func.coalesce(func.sum(b.lines.c.quantity), 0)


def _agent_name(b: Binding) -> ColumnElement[Any]:
    name: ColumnElement[Any] = b.agents.c.name
    return name


def _order_count_sql(b: Binding, ref: Ref) -> ColumnElement[Any]:
    if isinstance(ref, HolderRef):  # a customer alone: all their orders
        return orders_before(b, ref.row.c.id, None)
    before = orders_before(b, ref.customer_id, ref)
    return case((ref.customer_id.is_(None), null()), else_=before)


def _labels_sql(holder: str) -> Callable[[Binding, Ref], Any]:
    def sql(b: Binding, ref: Ref) -> Any:
        row_id = ref.id_of(holder)
        if row_id is None:  # an order not stored yet has no stored labels
            return label_names(b, holder, null())
        return label_names(b, holder, row_id)

    return sql


def _members_sql(b: Binding, ref: Ref) -> Any:
    lines = b.lines
    return select(lines).where(lines.c.order_id == _order(ref).id).order_by(lines.c.id)


def _customer_count_row(r: OrderRow) -> Any:
    """Orders of the customer placed before this one: the stored ones, counted in
    the database, and those added to the session and placed before it."""
    if not r.has_customer:
        return None
    if r.customer_id is None:  # a new customer: no stored order
        return r.pending_orders_before()
    return Stored(lambda stored: int(stored) + r.pending_orders_before())


def _lines_or_stored(fn: Callable[[list[Any], Binding], Any]) -> Callable[[OrderRow], Any]:
    def row(r: OrderRow) -> Any:
        lines = r.lines
        return STORED if lines is None else fn(lines, r.binding)

    return row


def _subtotal_row(r: OrderRow) -> Any:
    lines = r.lines
    return STORED if lines is None else subtotal(lines, r.get("subtotal"), r.currency, r.binding)


#: Between the codes of an order in the text its SQL expression gives (a code never holds it).
_CODE_SEPARATOR = "\x1f"


def _coupons_sql(b: Binding, ref: Ref) -> Any:
    found = b.coupon_codes()
    order_id = _order(ref).id
    if found is None or order_id is None:  # not mapped, or an order not stored yet
        return null()
    table, key, code = found
    codes = func.aggregate_strings(code, _CODE_SEPARATOR)
    return select(codes).select_from(table).where(key == order_id).scalar_subquery()


def _codes(value: Any) -> frozenset[str]:
    """The codes in the text of ``_coupons_sql`` (None: none), upper case."""
    if not value:
        return frozenset()
    return frozenset(c.upper() for c in str(value).split(_CODE_SEPARATOR) if c)


def _coupons_row(r: OrderRow) -> Any:
    """The codes in memory (a new order, or its codes loaded or changed), else stored."""
    key = r.binding.o.attr("coupons")
    if key is None:
        return frozenset()
    state = inspect(r.order)
    if state.pending or state.transient or key in state.dict:
        return frozenset(str(c.code).upper() for c in getattr(r.order, key))
    return STORED


def _labels_row(holder: str) -> Callable[[OrderRow], frozenset[str]]:
    def row(r: OrderRow) -> frozenset[str]:
        return r.labels(holder)

    return row


def _agent_name_row(r: OrderRow) -> Any:
    agent = r.agent
    if agent is not None:
        return r.binding.entity("agent").get(agent, "name")
    return STORED if r.get("agent_id") is not None else None


def _created_at_row(r: OrderRow) -> datetime:
    return aware(r.get("created_at")) or r.now


def _wedding_year(day: Any) -> int | None:
    return None if day is None else int(day.year if isinstance(day, date) else day)


def _facts(*facts: Fact) -> dict[str, Fact]:
    return {f.key: f for f in facts}


#: The facts of an order event (and of a ``daily for order`` run): the order,
#: its customer, its agent and its lines.
ORDER_FACTS: Mapping[str, Fact] = _facts(
    Fact(
        "order.subtotal",
        "what the order's lines cost; without lines, its stored subtotal",
        _subtotal_sql,
        _subtotal_row,
        Batch.PAGE,
        money,
    ),
    Fact(
        "order.shipping",
        "the order's shipping charge, before any shipping discount (0: none)",
        lambda b, ref: type_coerce(func.coalesce(_order(ref).shipping_amount, 0), Money()),
        lambda r: money(r.get("shipping_amount")),
        Batch.PAGE,
        money,
    ),
    Fact(
        "order.currency",
        "the order's currency (EUR when it has none)",
        lambda b, ref: func.coalesce(_order(ref).currency, "EUR"),
        lambda r: r.currency,
        Batch.PAGE,
    ),
    Fact(
        "order.created_at",
        "when the order was created; an order not stored yet without one: now",
        _order_column("created_at"),
        _created_at_row,
        Batch.PAGE,
        aware,
    ),
    Fact(
        "order.status",
        "the order's status (new when it has none)",
        lambda b, ref: func.coalesce(_order(ref).status, "new"),
        lambda r: r.get("status") or "new",
        Batch.PAGE,
    ),
    Fact(
        "order.wedding_date",
        "the day of the wedding the order is for, as its midnight UTC",
        _order_column("wedding_date"),
        lambda r: midnight(r.get("wedding_date")),
        Batch.PAGE,
        midnight,
    ),
    Fact(
        "order.wedding_year",
        "the year of the wedding the order is for",
        lambda b, ref: type_coerce(extract("year", _order(ref).wedding_date), Integer()),
        lambda r: _wedding_year(r.get("wedding_date")),
        Batch.PAGE,
        _wedding_year,
    ),
    Fact(
        "order.placed_by_customer",
        "whether the order has a customer",
        lambda b, ref: type_coerce(_order(ref).customer_id.is_not(None), Boolean()),
        lambda r: r.has_customer,
        Batch.PAGE,
        _flag,
    ),
    Fact(
        "order.created_by_agent",
        "whether an agent created the order",
        lambda b, ref: type_coerce(_order(ref).agent_id.is_not(None), Boolean()),
        lambda r: r.has_agent,
        Batch.PAGE,
        _flag,
    ),
    Fact(
        "customer.absent",
        "whether the order has no customer",
        lambda b, ref: type_coerce(_order(ref).customer_id.is_(None), Boolean()),
        lambda r: not r.has_customer,
        Batch.PAGE,
        _flag,
    ),
    Fact(
        "agent.absent",
        "whether the order has no agent",
        lambda b, ref: type_coerce(_order(ref).agent_id.is_(None), Boolean()),
        lambda r: not r.has_agent,
        Batch.PAGE,
        _flag,
    ),
    Fact(
        "order.coupons",
        "the coupon codes entered on the order, upper case",
        _coupons_sql,
        _coupons_row,
        Batch.PAGE,
        _codes,
    ),
    Fact(
        "order.line_count",
        "how many lines the order has",
        _over_lines(_line_count),
        _lines_or_stored(lambda lines, b: len(lines)),
        Batch.LINES,
        _count,
        part=_line_count,
        no_rows=0,
    ),
    Fact(
        "order.item_count",
        "how many items the order holds (the lines' quantities added up)",
        _over_lines(_item_count),
        _lines_or_stored(lambda lines, b: sum(b.ln.get(line, "quantity") or 0 for line in lines)),
        Batch.LINES,
        _count,
        part=_item_count,
        no_rows=0,
    ),
    Fact(
        "customer.order_count",
        "orders the customer placed before this one; for a customer alone, all their orders",
        _order_count_sql,
        _customer_count_row,
        Batch.ORDER_COUNT,
        _count,
    ),
    Fact(
        "agent.name",
        "the name of the agent who created the order",
        _over_agent(_agent_name),
        _agent_name_row,
        Batch.AGENT,
        part=_agent_name,
    ),
    *(
        Fact(
            f"{holder}.labels",
            f"the names of the {holder}'s labels",
            _labels_sql(holder),
            _labels_row(holder),
            Batch.LABELS,
        )
        for holder in ("order", "customer", "agent")
    ),
    Fact(
        "item.all",
        "the order's lines, each with the item facts below (ITEM_FACTS)",
        _members_sql,
        lambda r: r.items(),
        Batch.ITEMS,
    ),
)


# -------------------------------------------------------------- item facts --


@frozen
class ItemFact:
    """A fact of each member of ``item.all``: an order line (and the item it was sold from)."""

    key: str
    doc: str
    #: Its SQL expression over a row of the lines table (or an alias of it), and
    #: the currency of the line's order (a column of the enclosing statement, or
    #: :func:`~rulec.engine.db.facts.sql.line_currency`).
    sql: Callable[[Binding, FromClause, ColumnElement[Any]], Any]
    #: Its value for a line in memory, of an order in the currency given, through
    #: a binding (labels are read apart, in bulk).
    row: Callable[[Any, str, Binding], Any]
    decode: Callable[[Any], Any] = _same


def _line_labels_sql(b: Binding, line: FromClause) -> Any:
    own = label_names(b, "order_item", line.c.id)
    sold = label_names(b, "item", line.c.item_id)
    return own.union(sold)


#: The facts of each member of ``item.all``.
ITEM_FACTS: Mapping[str, ItemFact] = {
    f.key: f
    for f in (
        ItemFact(
            "item.labels",
            "the line's own labels and those of the catalog item it was sold from",
            lambda b, line, currency: _line_labels_sql(b, line),
            lambda line, currency, b: None,  # read in bulk by the readers
        ),
        ItemFact(
            "item.quantity",
            "how many of the item the line holds",
            lambda b, line, currency: line.c.quantity,
            lambda line, currency, b: b.ln.get(line, "quantity"),
        ),
        ItemFact(
            "item.unit_price",
            "the unit price the line was sold at",
            lambda b, line, currency: line.c.unit_price,
            lambda line, currency, b: b.ln.get(line, "unit_price"),
            money,
        ),
        ItemFact(
            "item.line_total",
            "quantity times unit price, rounded half-up to the currency's minor unit",
            lambda b, line, currency: type_coerce(
                line_cost_sql(line.c.quantity, line.c.unit_price, currency), Money()
            ),
            line_cost,
            money,
        ),
        ItemFact(
            "item.name",
            "the line's description (the item's name when it was sold)",
            lambda b, line, currency: line.c.description,
            lambda line, currency, b: b.ln.get(line, "description"),
        ),
    )
}


# ------------------------------------------------------------ holder facts --


def holder_sql(b: Binding, key: str, ref: HolderRef) -> Any:
    """The SQL expression of ``key`` for one label holder alone (``ref``).

    ``<holder>.labels``: the names of its labels; ``customer.order_count``:
    all the customer's orders (there is no order to count before);
    ``<holder>.<field>``: its column of that name.
    """
    entity, _, field = key.partition(".")
    if entity != ref.holder:
        raise KeyError(key)
    if field == "labels":
        return label_names(b, ref.holder, ref.row.c.id)
    if key == "customer.order_count":
        return _order_count_sql(b, ref)
    return ref.row.c[field]


def holder_field(row: Any, field: str) -> Any:
    """The value of a label holder's field: its column of that name, instants aware."""
    value = getattr(row, field)
    if type(value) is datetime:
        return aware(value)
    return value
