"""The single-row reader: one order (or one label holder) in a session, as the engine decides it.

Exactly what the rule set reads is loaded, no more. What is in memory is
the truth: an order's unflushed columns, its live lines (without those
deleted in the session, with those added by ``order_id``), labels that are
loaded or belong to a new row. The rest is read from the database through
the catalog's SQL expressions, bound to the row: a rule set that only tests
customer labels costs one label query per order, and none when the
customer's labels are already loaded.

The statements are built once per binding, with bound parameters, and run
as Core statements on the session's connection, inside the caller's
transaction: an order backend pays this on every order, and building and
caching a statement each time costs more than the query itself.

An order an agent created alone has no customer: its facts say
``customer.absent`` (and ``agent.absent`` for an order without an agent),
and carry no labels and no fields for the missing entity.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import Session

from rulec.engine.core.facts import Facts
from rulec.engine.db.facts.binding import REFERENCE, Binding
from rulec.engine.db.facts.catalog import (
    ITEM_FACTS,
    ORDER_FACTS,
    Stored,
    aware,
    holder_field,
)
from rulec.engine.db.facts.labels import loaded
from rulec.engine.db.facts.sql import OrderRef, label_names, label_pairs, orders_before

__all__ = [
    "OrderRow",
    "customer_order_count",
    "holder_fields",
    "label_names_of",
    "labels_loaded",
    "lines_of",
    "load_facts",
    "load_holder_facts",
    "read_order",
]

#: The facts every order carries, whatever the rules read: the decision needs them
#: (its shipping charge too: 0 when the binding maps none).
BASE_KEYS = ("order.subtotal", "order.currency", "order.created_at", "order.shipping")

_statements: dict[tuple[Binding, Any], Any] = {}


def _statement(b: Binding, key: Any, build: Any) -> Any:
    """The statement ``build()`` makes, built once per binding and ``key``."""
    found = _statements.get((b, key))
    if found is None:
        found = _statements[(b, key)] = build()
    return found


def labels_loaded(row: Any, binding: Binding = REFERENCE) -> bool:
    """Whether ``row``'s labels are in memory: loaded, or the row is new."""
    return loaded(row, binding.labels.relation)


def label_names_of(
    session: Session,
    holder: str,
    row: Any,
    row_id: int | None = None,
    binding: Binding = REFERENCE,
) -> frozenset[str]:
    """The names of ``row``'s labels (a ``holder`` row, or the one with id ``row_id``):
    from memory when they are loaded or the row is new (unflushed changes
    count), else one query; only those of the holder's entity type count."""
    if row is not None:
        if labels_loaded(row, binding):
            return binding.held(holder, row)
        row_id = inspect(row).identity[0] if inspect(row).identity else None
    if row_id is None:
        return frozenset()
    query = _statement(
        binding,
        ("labels", holder),
        lambda: label_names(binding, holder, bindparam("holder_id")),
    )
    conn = session.connection({"mapper": binding.order})
    return frozenset(conn.execute(query, {"holder_id": row_id}).scalars())


def lines_of(order: Any, binding: Binding = REFERENCE) -> list[Any]:
    """The order's lines as they are in its session: without those deleted there,
    with those added there by ``order_id``, neither flushed yet.

    Free for a new order; one query for a stored one whose lines are not loaded.
    """
    o, ln = binding.o, binding.ln
    items = o.get(order, "items")
    session = inspect(order).session
    if session is None:
        return list(items)
    deleted = session.deleted
    lines = [line for line in items if line not in deleted]
    key = o.get(order, "id")
    if key is not None:  # lines added by order_id, not through order.items
        known = set(map(id, lines))
        lines.extend(
            obj
            for obj in session.new
            if isinstance(obj, binding.line)
            and ln.get(obj, "order_id") == key
            and id(obj) not in known
        )
    return lines


def _loaded(order: Any, name: str | None, cls: type[Any] | None, key: Any) -> Any:
    """The order's ``name`` relation if it is already in memory (no query).

    Either the attribute is loaded, or the row its foreign key names is in
    the session's identity map.
    """
    if cls is None:
        return None
    state = inspect(order)
    value = state.dict.get(name) if name is not None else None  # loaded, without loading it
    if value is not None:
        return value
    session = state.session
    if key is None or session is None:
        return None
    return session.identity_map.get(inspect(cls).identity_key_from_primary_key((key,)))


class OrderRow:
    """One order in a session, as the catalog's ``row`` functions read it.

    ``lines``: the order's :func:`lines_of` when they are in hand, else None
    (the subtotal and the line counts then come from the database; ``item.all``
    loads the lines). ``customer``: the customer whose orders
    ``customer.order_count`` counts when it is not the order's own (the
    customer a listing is shown to).
    """

    def __init__(
        self,
        session: Session,
        order: Any,
        lines: Sequence[Any] | None,
        binding: Binding = REFERENCE,
        *,
        customer: Any = None,
    ) -> None:
        self.session = session
        self.order = order
        self.binding = binding
        self.lines = list(lines) if lines is not None else None
        self._now: datetime | None = None
        o = binding.o
        cust = binding.entity("customer")
        if customer is None:
            self.customer = _loaded(
                order, o.attr("customer"), binding.customer, o.get(order, "customer_id")
            )
            self.customer_id = (
                cust.get(self.customer, "id")
                if self.customer is not None
                else o.get(order, "customer_id")
            )
        else:
            self.customer, self.customer_id = customer, cust.get(customer, "id")
        self.has_customer = self.customer is not None or self.customer_id is not None
        self.agent_id = o.get(order, "agent_id")
        self.agent = _loaded(order, o.attr("agent"), binding.agent, self.agent_id)
        self.has_agent = self.agent is not None or self.agent_id is not None

    def get(self, name: str) -> Any:
        """The order's field ``name`` through the binding (None when not mapped)."""
        return self.binding.o.get(self.order, name)

    @property
    def currency(self) -> str:
        """The order's currency (EUR when it has none), as ``order.currency`` reads it."""
        currency: str = self.get("currency") or "EUR"
        return currency

    @property
    def now(self) -> datetime:
        """The present, read once: a new order without a creation instant is created now."""
        if self._now is None:
            self._now = datetime.now(UTC)
        return self._now

    def labels(self, holder: str) -> frozenset[str]:
        if holder == "customer":
            return label_names_of(
                self.session, holder, self.customer, self.customer_id, self.binding
            )
        if holder == "agent":
            return label_names_of(self.session, holder, self.agent, self.agent_id, self.binding)
        return label_names_of(self.session, holder, self.order, None, self.binding)

    def created_at(self) -> datetime:
        """The order's creation instant, as the catalog defines ``order.created_at``."""
        created: datetime = ORDER_FACTS["order.created_at"].row(self)
        return created

    def pending_orders_before(self) -> int:
        """Orders of the same customer added to the session, not flushed yet, and
        placed before this one (each has its creation instant: the engine gives it
        one when it decides it)."""
        session, order = self.session, self.order
        mine = self.created_at()
        mine_new = inspect(order).pending or inspect(order).transient
        order_no = inspect(order).insert_order
        count = 0
        o = self.binding.o
        for other in session.new:
            if other is order or not isinstance(other, self.binding.order):
                continue
            if not self._same_customer(other):
                continue
            at = aware(o.get(other, "created_at"))
            if at is None:  # not decided yet: it is given a later instant
                continue
            if at < mine or (
                at == mine and mine_new and (inspect(other).insert_order or 0) < (order_no or 0)
            ):
                count += 1
        return count

    def _same_customer(self, other: Any) -> bool:
        o = self.binding.o
        relation = o.attr("customer")
        customer = other.__dict__.get(relation) if relation else None  # loaded, not loading it
        if customer is not None and customer is self.customer:
            return True
        cid = self.customer_id
        if cid is None:
            return False
        return o.get(other, "customer_id") == cid or (
            customer is not None and self.binding.entity("customer").get(customer, "id") == cid
        )

    def items(self) -> tuple[Facts, ...]:
        """``item.all``: one Facts per line (its labels: at most two queries in all)."""
        lines = self.lines
        if lines is None:
            lines = self.lines = lines_of(self.order, self.binding)
        return line_members(self.session, lines, self.binding, self.currency)

    def bound(self) -> dict[str, Any]:
        """The order's columns as the parameters of :meth:`OrderRef.bound`."""
        created = self.created_at().astimezone(UTC)
        get = self.get
        return {
            "order_id": get("id"),
            "customer_id": self.customer_id,
            "agent_id": self.agent_id,
            "created_at": created,
            "subtotal": get("subtotal"),
            "currency": get("currency"),
            "status": get("status"),
            "wedding_date": get("wedding_date"),
            "shipping_amount": get("shipping_amount"),
        }

    def stored(self, keys: Sequence[str]) -> list[Any]:
        """The values of ``keys`` from their SQL expressions bound to this order: one query."""
        b, stored = self.binding, self.get("id") is not None

        def build() -> Any:
            ref = OrderRef.bound(stored, b.orders)
            return select(*(ORDER_FACTS[k].sql(b, ref) for k in keys))

        query = _statement(b, ("order", stored, tuple(keys)), build)
        conn = self.session.connection({"mapper": b.order})
        row = conn.execute(query, self.bound()).one()
        return [ORDER_FACTS[k].decode(v) for k, v in zip(keys, row, strict=True)]


#: The member facts read from the line itself (its labels are read in bulk).
_ITEM_VALUES = tuple((k, f) for k, f in ITEM_FACTS.items() if k != "item.labels")


def line_members(
    session: Session, lines: Sequence[Any], b: Binding, currency: str, *, labels: bool = True
) -> tuple[Facts, ...]:
    """One Facts per line of an order in ``currency``: its labels and its catalog
    item's, quantity, prices, name.

    The lines' labels take at most two queries for the whole order (the
    catalog items' and the lines' own), and none for what is in memory;
    ``labels=False`` leaves them out (no query at all).
    """
    if not lines:
        return ()
    if not labels:
        return tuple(
            Facts({key: f.row(line, currency, b) for key, f in _ITEM_VALUES}) for line in lines
        )
    own = (
        _labels_in_bulk(session, b, "order_item", lines, lambda line: line)
        if "order_item" in b.holders  # a backend's lines may carry no labels
        else [frozenset()] * len(lines)
    )
    relation = b.ln.attr("item")
    sold = (
        _labels_in_bulk(session, b, "item", lines, lambda line: getattr(line, relation))
        if relation is not None and "item" in b.holders
        else [frozenset()] * len(lines)
    )
    members = []
    for n, line in enumerate(lines):
        facts = Facts({key: f.row(line, currency, b) for key, f in _ITEM_VALUES})
        facts["item.labels"] = own[n] | sold[n]
        members.append(facts)
    return tuple(members)


def _labels_in_bulk(
    session: Session, b: Binding, holder: str, lines: Sequence[Any], row_of: Any
) -> list[frozenset[str]]:
    """Each line's ``holder`` row's labels: from memory, or one query for all of them."""
    found: list[frozenset[str] | None] = []
    wanted: dict[Any, list[int]] = {}
    for n, line in enumerate(lines):
        row = row_of(line)
        item_id = b.ln.get(line, "item_id") if holder == "item" else None
        if row is None and item_id is not None:
            wanted.setdefault(item_id, []).append(n)
            found.append(None)
        elif row is None:
            found.append(frozenset())
        elif labels_loaded(row, b):
            found.append(b.held(holder, row))
        else:
            wanted.setdefault(inspect(row).identity[0], []).append(n)
            found.append(None)
    if wanted:

        def build() -> Any:
            column = b.labels.holder_column(holder)
            return label_pairs(b, holder, column.in_(bindparam("ids", expanding=True)))

        query = _statement(b, ("labels of many", holder), build)
        names: dict[Any, set[str]] = {}
        conn = session.connection({"mapper": b.order})
        for key, name in conn.execute(query, {"ids": list(wanted)}):
            names.setdefault(key, set()).add(name)
        for key, places in wanted.items():
            for n in places:
                found[n] = frozenset(names.get(key, ()))
    return [f if f is not None else frozenset() for f in found]


def _missing(key: str) -> Any:
    return frozenset() if key.endswith(".labels") else None


def _field(row: OrderRow, key: str) -> Any:
    """A field of the order or its customer that the catalog does not define (a field
    of the project's vocabulary, ``order.channel``): its mapped attribute."""
    entity, _, name = key.partition(".")
    mapped = row.binding.entities.get(entity)
    if entity not in ("order", "customer") or mapped is None or not mapped.has(name):
        return _missing(key)
    if entity == "order":
        target = row.order
    else:
        target = row.customer
        if target is None and row.customer_id is not None:
            target = row.session.get(row.binding.customer, row.customer_id)
        if target is None:
            return None
    return holder_field(target, mapped.attr(name) or name)


def load_facts(
    session: Session,
    order: Any,
    keys: Iterable[str],
    lines: Sequence[Any] | None = None,
    binding: Binding = REFERENCE,
) -> Facts:
    """The flat facts for ``order``, loading only the ``keys`` rules read.

    ``lines``: the order's :func:`lines_of`, when the caller has them already.
    """
    if lines is None:
        lines = lines_of(order, binding)
    row = OrderRow(session, order, lines, binding)
    facts = read_order(row, (*BASE_KEYS, *keys))
    if lines and "item.all" not in facts:
        # the lines' costs, for each line's share of the discount (no rule reads
        # their labels: those would cost queries)
        facts["item.all"] = line_members(session, lines, binding, row.currency, labels=False)
    return facts


def read_order(row: OrderRow, keys: Iterable[str]) -> Facts:
    """The facts ``keys`` of one order: from memory, the rest in one query."""
    facts = Facts()
    stored: list[tuple[str, Stored]] = []
    for key in keys:
        if key in facts:
            continue
        fact = ORDER_FACTS.get(key)
        if fact is None:
            facts[key] = _field(row, key)
            continue
        value = fact.row(row)
        if isinstance(value, Stored):
            stored.append((key, value))
        else:
            facts[key] = value
    if stored:
        for (key, how), value in zip(stored, row.stored([k for k, _ in stored]), strict=True):
            facts[key] = how.then(value) if how.then is not None else value
    return facts


def load_holder_facts(
    session: Session, holder: str, row: Any, keys: Iterable[str], binding: Binding = REFERENCE
) -> Facts:
    """Facts of a label holder that is not an order (a customer, a price, …):
    its labels and its fields, for label events."""
    facts = Facts()
    prefix = f"{holder}."
    for key in keys:
        if key == f"{holder}.labels":
            facts[key] = label_names_of(session, holder, row, None, binding)
        elif key == "customer.order_count" and holder == "customer":
            facts[key] = customer_order_count(session, row, binding)
        elif key.startswith(prefix) and (attr := _attr(binding, holder, row, key[len(prefix) :])):
            facts[key] = holder_field(row, attr)
        else:
            facts[key] = _missing(key)
    return facts


def _attr(binding: Binding, holder: str, row: Any, name: str) -> str | None:
    """The attribute of a holder's field: mapped by the binding, else of the same name."""
    mapped = binding.entities.get(holder)
    if mapped is not None and mapped.cls is type(row):
        return mapped.attr(name)
    return name if hasattr(type(row), name) else None


def holder_fields(holder: str, row: Any, binding: Binding = REFERENCE) -> Facts:
    """Every field of a label holder's row (``price.amount``): its columns, by attribute
    name, and the fields its binding maps to other attributes (``customer.name``)."""
    columns = inspect(type(row)).column_attrs
    facts = Facts({f"{holder}.{c.key}": holder_field(row, c.key) for c in columns})
    mapped = binding.entities.get(holder)
    if mapped is not None and mapped.cls is type(row):
        for name, attr in mapped.names.items():
            if attr is not None and attr in inspect(type(row)).column_attrs:
                facts[f"{holder}.{name}"] = holder_field(row, attr)
    return facts


def customer_order_count(session: Session, customer: Any, binding: Binding = REFERENCE) -> int:
    """All the orders of ``customer`` (a customer alone): one query, none for a new one."""
    identity = inspect(customer).identity
    if identity is None:
        return 0

    def build() -> Any:
        key = binding.orders.c.customer_id.type
        return select(orders_before(binding, bindparam("customer_id", type_=key), None))

    query = _statement(binding, ("customer", "order_count"), build)
    conn = session.connection({"mapper": binding.order})
    return int(conn.execute(query, {"customer_id": identity[0]}).scalar_one())
