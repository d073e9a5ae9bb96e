"""The batch readers: the facts of many rows with a fixed number of statements per batch.

A batch is a page of rows in id order (keyset pagination: ``WHERE id >
:last ORDER BY id LIMIT :n``). Each fact is read by the statement its
:class:`~rulec.engine.db.facts.catalog.Batch` names, whatever the batch's
size: the page itself (the fact's SQL expression is one of its columns);
one statement per kind of fact over the batch's range of ids: the
customers' order counts (their SQL expression, correlated to each order of
the range), the line counts (the facts' aggregates of the lines, grouped
by order), the agents' names (the agents' column, joined); one per label
holder ((holder id, label name) pairs); three for the lines. Grouping and
joining, rather than one correlated subquery per row, is what keeps a batch
as fast as it was (a correlated name lookup per order costs PostgreSQL ten
times the join); the tests hold both forms equal. Only the facts asked for
are read.

:class:`OrderBatches` serves ``daily for order`` runs, :class:`CustomerBatches`
``daily for customer`` runs (:mod:`rulec.engine.db.scheduled`), and
:func:`labels_of_many` the listings (every candidate's labels and the
shared entities', one statement).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from attrs import field, frozen
from sqlalchemy import (
    ARRAY,
    Boolean,
    Connection,
    Integer,
    any_,
    bindparam,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from rulec.engine.core.facts import Facts
from rulec.engine.db.facts.binding import REFERENCE, Binding
from rulec.engine.db.facts.catalog import ITEM_FACTS, ORDER_FACTS, Batch
from rulec.engine.db.facts.sql import OrderRef, label_pairs, orders_by_customer

__all__ = [
    "ALWAYS",
    "BatchRow",
    "CustomerBatches",
    "OrderBatches",
    "Page",
    "labels_of_many",
]

#: The order facts every batch row carries (read with the page, at no cost).
ALWAYS = (
    "order.currency",
    "order.shipping",
    "order.created_at",
    "order.status",
    "order.placed_by_customer",
    "order.created_by_agent",
    "customer.absent",
    "agent.absent",
)


class _AmongIds(ColumnElement[bool]):
    """``column`` is one of the ids of the page (the parameter ``ids``, a list): an
    array parameter ``= ANY(:ids)`` on PostgreSQL (one parameter: a thousand
    placeholders cost the driver more than the query), ``IN (…)`` elsewhere."""

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column


@compiles(_AmongIds)
def _among_ids(element: _AmongIds, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column.in_(bindparam("ids", expanding=True)), **kw))


@compiles(_AmongIds, "postgresql")
def _among_ids_pg(element: _AmongIds, compiler: Any, **kw: Any) -> str:
    ids = bindparam("ids", type_=ARRAY(element.column.type))
    return str(compiler.process(element.column == any_(ids), **kw))


def _bounds(table: Any) -> tuple[BindParameter[Any], BindParameter[Any]]:
    """The first and last id of a page, typed as ``table``'s ids (integers, UUIDs)."""
    kind = table.c.id.type
    return bindparam("lo", type_=kind), bindparam("hi", type_=kind)


@frozen
class BatchRow:
    """One subject row of a batch: its id, the ids of its entities, its facts."""

    id: Any
    #: The id of each entity's row (``"order"``, ``"customer"``, ``"agent"``), None when missing.
    entities: dict[str, Any]
    #: Its facts but the labels (those are in :attr:`Page.labels`).
    facts: Facts
    #: Field values a rule may set, as stored (an order's status).
    fields: dict[str, Any] = field(factory=dict)


@frozen
class Page:
    """One batch: its ids, its rows, and the labels of their entities, by entity and id."""

    ids: list[Any]
    rows: list[BatchRow]
    labels: dict[str, dict[Any, set[str]]]

    def facts(self, row: BatchRow, entities: Iterable[str]) -> Facts:
        """``row``'s facts with the labels of ``entities`` as they are now in :attr:`labels`
        (set in ``row.facts``, which the batch made for this row alone)."""
        facts = row.facts
        for entity in entities:
            eid = row.entities.get(entity)
            held = self.labels[entity].get(eid) if eid is not None else None
            facts[f"{entity}.labels"] = frozenset(held) if held else frozenset()
        return facts


def _label_map(conn: Connection, query: Any, params: Mapping[str, Any]) -> dict[Any, set[str]]:
    found: dict[Any, set[str]] = {}
    for holder, name in conn.execute(query, params):
        found.setdefault(holder, set()).add(name)
    return found


class OrderBatches:
    """Pages of orders with the facts ``keys`` (and the labels of ``label_entities``)."""

    def __init__(
        self,
        keys: Iterable[str],
        label_entities: Iterable[str] = (),
        base: Mapping[str, Any] | None = None,
        binding: Binding = REFERENCE,
        by_ids: bool = False,
    ) -> None:
        """``by_ids``: pages are given by their orders' ids (:meth:`read_ids`), as
        back-testing reads the orders SQL selected; each statement then reads
        the facts of those orders alone, not of every order of the ids' range."""
        b = self.binding = binding
        keys = frozenset(keys)
        self.base = Facts(base or {})
        orders = b.orders
        ref = OrderRef.of(orders)
        lo, hi = _bounds(orders)  # the bounds of a page's ids
        wanted = [k for k in ORDER_FACTS if k in keys or k in ALWAYS]
        by_batch: dict[Batch, list[str]] = {}
        for key in wanted:
            by_batch.setdefault(ORDER_FACTS[key].batch, []).append(key)
        self.page_keys = tuple(by_batch.pop(Batch.PAGE, ()))
        #: The first page (from the start: ``last`` None), and the pages after ``last``.
        first = select(
            orders.c.id,
            orders.c.customer_id,
            orders.c.agent_id,
            orders.c.status,
            *(ORDER_FACTS[k].sql(b, ref) for k in self.page_keys),
        )
        self.first = first.order_by(orders.c.id).limit(bindparam("n"))
        self.page = self.first.where(orders.c.id > bindparam("last", type_=orders.c.id.type))
        #: The page of the orders with the ids given (``by_ids``).
        self.of_ids = first.where(_AmongIds(orders.c.id)).order_by(orders.c.id)
        in_range = orders.c.id.between(lo, hi)
        lines = b.lines
        #: The lines of the page's orders.
        lines_in_range: ColumnElement[bool] = lines.c.order_id.between(lo, hi)
        if by_ids:  # the page's orders only (their ids), not every order of its range
            in_range = _AmongIds(orders.c.id)
            lines_in_range = _AmongIds(lines.c.order_id)
        #: (keys, statement) of the statements of one kind of fact each: (order id, values).
        self.groups: list[tuple[tuple[str, ...], Any]] = []
        for kind, group in by_batch.items():
            facts = [ORDER_FACTS[k] for k in group]
            if kind is Batch.LINES:  # the lines' aggregates, grouped by order
                query = (
                    select(lines.c.order_id, *(f.part(b) for f in facts if f.part))
                    .where(lines_in_range)
                    .group_by(lines.c.order_id)
                )
            elif kind is Batch.AGENT:  # the agent's columns, joined
                agents = b.agents
                query = (
                    select(orders.c.id, *(f.part(b) for f in facts if f.part))
                    .join_from(orders, agents, agents.c.id == orders.c.agent_id)
                    .where(in_range)
                )
            elif kind is Batch.ORDER_COUNT:  # the SQL expressions, over each order
                query = select(orders.c.id, *(f.sql(b, ref) for f in facts)).where(in_range)
            else:
                continue
            self.groups.append((tuple(group), query))
        #: What an order without lines (or agent) gets from the grouped statements.
        self.no_rows = {k: ORDER_FACTS[k].no_rows for keys, _ in self.groups for k in keys}
        self.items = "item.all" in keys
        of_batch = {
            "customer": select(orders.c.customer_id).where(in_range).scalar_subquery(),
            "agent": select(orders.c.agent_id).where(in_range).scalar_subquery(),
        }
        self.label_queries: dict[str, Any] = {}
        for entity in dict.fromkeys(label_entities):
            column = b.labels.holder_column(entity)
            if entity == "order":
                which = column.between(lo, hi) if not by_ids else _AmongIds(column)
            else:
                which = column.in_(of_batch[entity])
            self.label_queries[entity] = label_pairs(b, entity, which)
        member_keys = tuple(k for k in ITEM_FACTS if k != "item.labels")
        self.member_keys = member_keys
        self.lines = (
            select(
                lines.c.order_id,
                lines.c.id,
                *(ITEM_FACTS[k].sql(b, lines, orders.c.currency) for k in member_keys),
            )
            .join_from(lines, orders, orders.c.id == lines.c.order_id)  # the lines' currency
            .where(lines_in_range)
            .order_by(lines.c.order_id, lines.c.id)
        )
        own_column = b.labels.holder_column("order_item")
        self.line_labels = label_pairs(
            b,
            "order_item",
            own_column.in_(select(lines.c.id).where(lines_in_range).scalar_subquery()),
        )
        # the catalog items' labels, joined on the lines' item ids: only where the
        # binding's items carry labels (else no holder id to compare them with)
        self.sold_labels: Any = None
        if "item" in b.holders:
            item_column = b.labels.holder_column("item")
            sold = label_pairs(
                b,
                "item",
                item_column.in_(select(lines.c.item_id).where(lines_in_range).scalar_subquery()),
            ).subquery("sold")
            self.sold_labels = (
                select(lines.c.id, sold.c[1])
                .join_from(lines, sold, sold.c[0] == lines.c.item_id)
                .where(lines_in_range)
            )

    def read(self, conn: Connection, last: Any, limit: int) -> Page:
        """The page of at most ``limit`` orders after id ``last`` (None: the first)."""
        if last is None:
            found = conn.execute(self.first, {"n": limit}).all()
        else:
            found = conn.execute(self.page, {"last": last, "n": limit}).all()
        return self._page(conn, found)

    def read_ids(self, conn: Connection, ids: Sequence[Any]) -> Page:
        """The page of the orders with ``ids`` (made with ``by_ids``), in id order."""
        return self._page(conn, conn.execute(self.of_ids, {"ids": list(ids)}).all())

    def _page(self, conn: Connection, found: Sequence[Any]) -> Page:
        if not found:
            return Page([], [], {})
        ids = [r[0] for r in found]
        bounds = {"lo": ids[0], "hi": ids[-1], "ids": ids}
        labels = {
            entity: _label_map(conn, query, bounds) for entity, query in self.label_queries.items()
        }
        grouped: dict[Any, list[tuple[str, Any]]] = {}
        for keys, query in self.groups:
            for row in conn.execute(query, bounds):
                grouped.setdefault(row[0], []).extend(zip(keys, row[1:], strict=True))
        items = self._items(conn, bounds) if self.items else None
        decoders = [ORDER_FACTS[k].decode for k in self.page_keys]
        rows = []
        for r in found:
            oid, customer_id, agent_id, status = r[0], r[1], r[2], r[3]
            facts = Facts(self.base)
            for key, decode, value in zip(self.page_keys, decoders, r[4:], strict=True):
                facts[key] = decode(value)
            facts.update(self.no_rows)
            for key, value in grouped.get(oid, ()):
                facts[key] = ORDER_FACTS[key].decode(value)
            if items is not None:
                facts["item.all"] = tuple(items.get(oid, ()))
            entities = {"order": oid, "customer": customer_id, "agent": agent_id}
            rows.append(BatchRow(oid, entities, facts, {"status": status}))
        return Page(ids, rows, labels)

    def _items(self, conn: Connection, bounds: Mapping[str, Any]) -> dict[Any, list[Facts]]:
        """The lines of the batch's orders as ``item.all`` members (3 queries).

        A line's labels are its own and those of the catalog item it was sold from.
        """
        line_labels = _label_map(conn, self.line_labels, bounds)
        if self.sold_labels is not None:
            for line_id, name in conn.execute(self.sold_labels, bounds):
                line_labels.setdefault(line_id, set()).add(name)
        decoders = [(k, ITEM_FACTS[k].decode) for k in self.member_keys]
        items: dict[Any, list[Facts]] = {}
        for row in conn.execute(self.lines, bounds):
            member = Facts(
                {key: decode(value) for (key, decode), value in zip(decoders, row[2:], strict=True)}
            )
            member["item.labels"] = frozenset(line_labels.get(row[1], ()))
            items.setdefault(row[0], []).append(member)
        return items


class CustomerBatches:
    """Pages of customers with ``customer.order_count`` (when asked) and their labels."""

    def __init__(
        self,
        keys: Iterable[str],
        label_entities: Iterable[str] = (),
        base: Mapping[str, Any] | None = None,
        binding: Binding = REFERENCE,
    ) -> None:
        b = self.binding = binding
        keys = frozenset(keys)
        self.base = Facts(base or {})
        customers = b.customers
        lo, hi = _bounds(customers)  # the bounds of a page's ids
        self.first = select(customers.c.id).order_by(customers.c.id).limit(bindparam("n"))
        self.page = self.first.where(customers.c.id > bindparam("last", type_=customers.c.id.type))
        # the customers' order counts, grouped (those without an order have none)
        self.counts = orders_by_customer(b, lo, hi) if "customer.order_count" in keys else None
        column = b.labels.holder_column("customer")
        self.label_query = (
            label_pairs(b, "customer", column.between(lo, hi))
            if "customer" in label_entities
            else None
        )

    def read(self, conn: Connection, last: Any, limit: int) -> Page:
        """The page of at most ``limit`` customers after id ``last`` (None: the first)."""
        if last is None:
            ids = list(conn.execute(self.first, {"n": limit}).scalars())
        else:
            ids = list(conn.execute(self.page, {"last": last, "n": limit}).scalars())
        if not ids:
            return Page([], [], {})
        bounds = {"lo": ids[0], "hi": ids[-1]}
        labels = {}
        if self.label_query is not None:
            labels["customer"] = _label_map(conn, self.label_query, bounds)
        counts = None
        if self.counts is not None:
            counts = {cid: int(n) for cid, n in conn.execute(self.counts, bounds)}
        rows = []
        for cid in ids:
            facts = Facts(self.base)
            if counts is not None:
                facts["customer.order_count"] = counts.get(cid, 0)
            rows.append(BatchRow(cid, {"customer": cid}, facts))
        return Page(ids, rows, labels)


def labels_of_many(
    conn: Connection,
    wanted: Sequence[tuple[str, list[int]]],
    chunk: int,
    binding: Binding = REFERENCE,
) -> list[dict[int, set[str]]]:
    """Labels of many holders' rows, one ``UNION ALL`` statement (per ``chunk`` ids).

    ``wanted`` pairs a holder (``"price"``) with row ids; the result has, per
    pair, a dict from id to label names (ids without labels left out).
    """
    found: list[dict[int, set[str]]] = [{} for _ in wanted]
    pending = [(n, holder, ids) for n, (holder, ids) in enumerate(wanted) if ids]
    while pending:
        parts = []
        room = chunk
        rest = []
        for n, holder, ids in pending:
            if room <= 0:
                rest.append((n, holder, ids))
                continue
            take, more = ids[:room], ids[room:]
            room -= len(take)
            column = binding.labels.holder_column(holder)
            pairs = label_pairs(binding, holder, column.in_(take)).subquery()
            parts.append(
                select(literal(n, Integer).label("part"), pairs.c[0].label("id"), pairs.c[1])
            )
            if more:
                rest.append((n, holder, more))
        statement = parts[0] if len(parts) == 1 else union_all(*parts)
        for part, row_id, name in conn.execute(statement):
            found[part].setdefault(row_id, set()).add(name)
        pending = rest
    return found
