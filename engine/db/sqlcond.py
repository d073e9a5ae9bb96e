"""Conditions as SQL: a rule's lowered condition as a SQLAlchemy Core predicate over orders.

Back-testing (:mod:`rulec.engine.db.backtest`) asks the database which
orders a rule can hold for, so that only those are read and decided in
Python. :func:`rule_predicate` turns a loaded rule (its lowered condition,
:mod:`rulec.dsl.lowered`, and its validity window) into a boolean column
expression over the rows of the binding's order view. Every fact is the
catalog's own SQL expression (:mod:`rulec.engine.db.facts.catalog`): a
field is the fact's column, a label the row's id among the label's holders
(read from the link tables once per statement), ``any item …`` an EXISTS
over the order's lines (each line's facts from ``ITEM_FACTS``),
``customer order_count`` the customer's orders before this one, a validity
window a range of ``created_at`` (the window's instants, in
the zone the rule was written in, compared as UTC).

The predicate means what the engine's test means, in two-valued logic: a
fact that is NULL is guarded exactly as the compiled code guards None
(``=`` false, ``!=`` true, an ordered comparison false), so ``NOT`` of a
predicate is never NULL. What SQL cannot say the same way (a fact the
catalog has no SQL expression for, an ordered comparison of texts, whose
order depends on the database's collation) is *relaxed*: the atom is taken
as true where that widens the selection and false under a ``not``, so the
predicate still selects every order the rule holds for, and the rule is
marked inexact (:attr:`Predicate.exact`); the engine decides those orders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from attrs import frozen
from sqlalchemy import (
    Date,
    DateTime,
    FromClause,
    Numeric,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from rulec.dsl.lowered import (
    AllOf,
    AnyOf,
    Atom,
    Between,
    Compare,
    Condition,
    CouponIn,
    Exists,
    HasAnyLabel,
    HasLabel,
    In,
    InDays,
    Negation,
    OnDay,
    Present,
)
from rulec.engine.core.rules import Rule_
from rulec.engine.db.facts.binding import Binding
from rulec.engine.db.facts.catalog import ITEM_FACTS, ORDER_FACTS, Batch, aware, midnight, money
from rulec.engine.db.facts.sql import OrderRef, line_currency

__all__ = [
    "COSTLY",
    "SCALAR_FACTS",
    "Predicate",
    "any_of",
    "condition_predicate",
    "fact_columns",
    "rule_predicate",
    "window_predicate",
]

_Col = ColumnElement[Any]


class _Relaxed(Exception):
    """An atom SQL cannot say as the engine means it."""


class _number(FunctionElement[Any]):
    """A money expression as a number: on SQLite, where money is kept as decimal text,
    ``CAST(x AS REAL)`` (decimal places up to the money columns' 4 and below 10**10
    compare exactly as doubles); elsewhere the expression itself (exact NUMERIC)."""

    type = Numeric()
    inherit_cache = True
    name = "rulec_number"


@compiles(_number)
def _number_default(element: Any, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(next(iter(element.clauses)), **kw))


@compiles(_number, "sqlite")
def _number_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(next(iter(element.clauses)), **kw)} AS REAL)"


@frozen
class Predicate:
    """A rule's SQL predicate, and whether it is exact (else a superset of the orders)."""

    sql: _Col
    exact: bool


def rule_predicate(
    rule: Rule_, b: Binding, ref: OrderRef, facts: Mapping[str, _Col] | None = None
) -> Predicate:
    """The orders (rows of ``ref``) ``rule`` holds for, its validity window included.

    ``facts``: columns holding the SQL expressions of some facts of the order,
    computed once per row (see :func:`fact_columns`); the others are written out.
    """
    found = condition_predicate(rule.condition, b, ref, facts)
    window = window_predicate(rule, ref)
    if window is None:
        return found
    return Predicate(and_(window, found.sql), found.exact)


def window_predicate(rule: Rule_, ref: OrderRef) -> _Col | None:
    """The orders created within ``rule``'s validity window ``[from, until)``; an order
    without a creation instant is judged at the present, so it is kept (None: no window)."""
    parts = []
    if rule.valid_from is not None:
        parts.append(ref.created_at >= _instant(rule.valid_from))
    if rule.valid_until is not None:
        parts.append(ref.created_at < _instant(rule.valid_until))
    if not parts:
        return None
    return or_(ref.created_at.is_(None), and_(*parts))


def condition_predicate(
    condition: Condition | None,
    b: Binding,
    ref: OrderRef,
    facts: Mapping[str, _Col] | None = None,
) -> Predicate:
    """``condition`` (None: it always holds) as a predicate over the rows of ``ref``."""
    if condition is None:
        return Predicate(true(), True)
    t = _Translate(b, ref)
    sql = t.node(condition, True, _Scope.order(b, ref, facts or {}))
    return Predicate(sql, t.exact)


@frozen
class _Fact:
    """A fact as SQL: its expression, and what kind of value it is."""

    sql: _Col
    #: "money", "instant", "date" (a date the engine reads as its midnight UTC), "bool" or
    #: "plain" (texts and integers).
    kind: str


@frozen
class _Scope:
    """Where facts are read: the order (and its customer, agent), or one of its lines."""

    fact: Callable[[str], _Fact]
    labels: Callable[[str, str], _Col]

    @classmethod
    def order(cls, b: Binding, ref: OrderRef, columns: Mapping[str, _Col]) -> _Scope:
        def fact(key: str) -> _Fact:
            f = ORDER_FACTS.get(key)
            if f is None or key not in SCALAR_FACTS:
                raise _Relaxed(key)
            kind = _KINDS.get(f.decode, "plain")
            if key in _BOOLEAN:
                kind = "bool"
            column = columns.get(key)
            return _Fact(f.sql(b, ref) if column is None else column, kind)

        def labels(key: str, name: str) -> _Col:
            holder = key.partition(".")[0]
            if key not in ORDER_FACTS or holder not in ("order", "customer", "agent"):
                raise _Relaxed(key)
            row_id = ref.id_of(holder)
            assert row_id is not None, "stored orders only"
            return _carries(b, holder, row_id, name)

        return cls(fact, labels)

    @classmethod
    def line(cls, b: Binding, line: FromClause) -> _Scope:
        currency = line_currency(b, line)

        def fact(key: str) -> _Fact:
            f = ITEM_FACTS.get(key)
            if f is None or key == "item.labels":
                raise _Relaxed(key)
            return _Fact(f.sql(b, line, currency), _KINDS.get(f.decode, "plain"))

        def labels(key: str, name: str) -> _Col:
            if key != "item.labels":
                raise _Relaxed(key)
            return or_(
                _carries(b, "order_item", line.c.id, name),
                _carries(b, "item", line.c.item_id, name),
            )

        return cls(fact, labels)


#: The order facts whose SQL expression is one value (not labels, not the lines).
SCALAR_FACTS = frozenset(
    k for k, f in ORDER_FACTS.items() if f.batch not in (Batch.LABELS, Batch.ITEMS)
)


#: Facts too costly to compute for every order when few orders need them: they are
#: left in the predicates, tested after the cheaper tests of their rule.
COSTLY = frozenset({"customer.order_count"})


def fact_columns(conditions: Iterable[Condition | None]) -> list[str]:
    """The scalar order facts ``conditions`` read outside ``any item`` (but the
    :data:`COSTLY` ones), in catalog order: a statement may compute each once
    per order (:func:`rule_predicate`'s ``facts``)."""
    found: set[str] = set()
    for c in conditions:
        if c is not None:
            _scalars(c, found)
    return [k for k in ORDER_FACTS if k in found and k not in COSTLY]


def _scalars(node: Condition, found: set[str]) -> None:
    if isinstance(node, AllOf | AnyOf):
        for o in node.operands:
            _scalars(o, found)
    elif isinstance(node, Negation):
        _scalars(node.operand, found)
    elif isinstance(node, Atom) and node.key in SCALAR_FACTS and node.key != COUPONS:
        found.add(node.key)  # the codes are tested by an EXISTS of their own


def _carries(b: Binding, holder: str, row_id: _Col, name: str) -> _Col:
    """Whether the ``holder`` row ``row_id`` carries the label ``name``: its id among
    the holders of that label, read from the link tables once per statement (a
    hashed subplan on PostgreSQL, an index SQLite builds once), not once per order.
    A missing row (NULL) carries no label."""
    if holder not in b.holders:  # its rows carry no labels, as a row in memory reads them
        return false()
    pairs = b.labels.pairs(holder, true()).subquery()
    holders = select(pairs.c[0]).where(pairs.c[1] == name)
    return and_(row_id.is_not(None), row_id.in_(holders))


_KINDS: dict[Any, str] = {money: "money", midnight: "date", aware: "instant"}
_BOOLEAN = frozenset(
    {"order.placed_by_customer", "order.created_by_agent", "customer.absent", "agent.absent"}
)


class _Translate:
    """One condition's translation; ``exact`` turns False at the first relaxed atom."""

    def __init__(self, b: Binding, ref: OrderRef) -> None:
        self.b = b
        self.ref = ref
        self.exact = True
        self.lines = 0

    def node(self, node: Condition, positive: bool, scope: _Scope) -> _Col:
        if isinstance(node, AllOf):  # the cheaper tests first: the others only when they hold
            operands = sorted(node.operands, key=_cost)
            return and_(*(self.node(o, positive, scope) for o in operands))
        if isinstance(node, AnyOf):
            return or_(*(self.node(o, positive, scope) for o in node.operands))
        if isinstance(node, Negation):
            return not_(self.node(node.operand, not positive, scope))
        if isinstance(node, Exists):
            return self.exists(node, positive)
        assert isinstance(node, Atom)
        try:
            return self.atom(node, scope)
        except _Relaxed:
            self.exact = False
            # widen: true where it selects more orders, false under a NOT
            return true() if positive else false()

    def exists(self, node: Exists, positive: bool) -> _Col:
        if node.key != "item.all":
            self.exact = False
            return true() if positive else false()
        self.lines += 1
        line = self.b.lines.alias(f"line_{self.lines}")
        inner = self.node(node.condition, positive, _Scope.line(self.b, line))
        assert self.ref.id is not None, "stored orders only"
        return exists(
            select(literal(1)).select_from(line).where(line.c.order_id == self.ref.id, inner)
        )

    def atom(self, node: Atom, scope: _Scope) -> _Col:
        if isinstance(node, Present):
            return not_(scope.fact(node.key).sql)
        if node.key == COUPONS and isinstance(node, HasLabel | CouponIn):
            entered = self.coupon(node)
            return not_(entered) if node.negated else entered
        if isinstance(node, HasLabel):
            has = scope.labels(node.key, _text(node.label))
            return not_(has) if node.negated else has
        if isinstance(node, HasAnyLabel):
            any_of = or_(*(scope.labels(node.key, _text(n)) for n in node.labels))
            return not_(any_of) if node.negated else any_of
        fact = scope.fact(node.key)
        if isinstance(node, Compare):
            return _compare(fact, node.op, node.value, node.guarded)
        if isinstance(node, OnDay):
            return _on_day(fact, node.op, node.start, node.end)
        if isinstance(node, Between):
            return _between(fact, node)
        if isinstance(node, In):
            return _in(fact, node)
        if isinstance(node, InDays):
            return _in_days(fact, node)
        raise _Relaxed(type(node).__name__)

    def coupon(self, node: HasLabel | CouponIn) -> _Col:
        """Whether the order carries a code ``node`` accepts: an EXISTS over its rows of
        codes, each compared in capitals (``code IN (…) OR code LIKE 'PARTNER-%'``, the
        prefix's ``%`` and ``_`` escaped)."""
        if self.b.o.attr("coupons") is None:
            return false()  # the order carries no codes: the engine reads none
        found = self.b.coupon_codes()
        if found is None or self.ref.id is None:
            raise _Relaxed(COUPONS)
        table, key, column = found
        code = func.upper(func.trim(column))
        if isinstance(node, HasLabel):
            test = code == bindparam(None, _text(node.label))
        else:
            assert isinstance(node.codes, frozenset) and isinstance(node.prefixes, frozenset)
            tests: list[_Col] = [code.in_(sorted(node.codes))] if node.codes else []
            tests += [code.startswith(p, autoescape=True) for p in sorted(node.prefixes)]
            test = or_(*tests) if tests else false()
        return exists(select(literal(1)).select_from(table).where(key == self.ref.id, test))


#: The fact of the codes entered on the order.
COUPONS = "order.coupons"


def _cost(node: Condition) -> int:
    """How costly a test is in SQL, roughly: a column, a label, the lines, an order count."""
    if isinstance(node, AllOf | AnyOf):
        return max(map(_cost, node.operands))
    if isinstance(node, Negation):
        return _cost(node.operand)
    if isinstance(node, Exists):
        return 2
    if isinstance(node, Atom) and node.key in COSTLY:
        return 3
    if isinstance(node, HasLabel | HasAnyLabel | CouponIn):
        return 1
    return 0


def _text(value: Any) -> str:
    assert isinstance(value, str), "a filled condition"
    return value


# --------------------------------------------------------------- atoms --

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": lambda x, v: x == v,
    "!=": lambda x, v: x != v,
    "<": lambda x, v: x < v,
    "<=": lambda x, v: x <= v,
    ">": lambda x, v: x > v,
    ">=": lambda x, v: x >= v,
}


def _instant(value: datetime) -> datetime:
    """An instant as the database compares it: in UTC (SQLite keeps UTC wall time)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _constant(fact: _Fact, value: Any) -> Any:
    """``value`` as a bound parameter of the fact's type."""
    if isinstance(value, bool):
        raise _Relaxed("boolean")  # handled by _compare; elsewhere left to the engine
    if isinstance(value, datetime):
        return bindparam(None, _instant(value), type_=DateTime(timezone=True))
    if isinstance(value, Decimal):
        if fact.kind != "money":
            raise _Relaxed("decimal")
        return bindparam(None, value, type_=Numeric(asdecimal=True))
    if isinstance(value, int):
        if fact.kind == "money":
            return bindparam(None, Decimal(value), type_=Numeric(asdecimal=True))
        return bindparam(None, value)
    if isinstance(value, str):
        return bindparam(None, value)
    raise _Relaxed(type(value).__name__)


def _operand(fact: _Fact) -> _Col:
    return _number(fact.sql) if fact.kind == "money" else fact.sql


def _test(fact: _Fact, op: str, value: Any) -> _Col:
    """``fact OP value`` for a fact that is not NULL."""
    if fact.kind == "date":
        return _date_test(fact.sql, op, value)
    if isinstance(value, str) and op not in ("=", "!="):
        raise _Relaxed("text order")  # collations differ from Python's order
    if isinstance(value, datetime) != (fact.kind == "instant"):
        raise _Relaxed("mixed kinds")
    result: _Col = _OPS[op](_operand(fact), _constant(fact, value))
    return result


def _date_test(column: _Col, op: str, value: Any) -> _Col:
    """``midnight(column) OP value`` for a date column and an instant ``value``."""
    if not isinstance(value, datetime):
        raise _Relaxed("date")
    at = _instant(value)
    day = at.date()
    exact = at == midnight(day)
    d = bindparam(None, day, type_=Date())
    if op == "=":
        return column == d if exact else false()
    if op == "!=":
        return column != d if exact else true()
    if op == "<":
        return column < d if exact else column <= d
    if op == "<=":
        return column <= d
    if op == ">":
        return column > d
    return column >= d if exact else column > d


def _compare(fact: _Fact, op: str, value: Any, guarded: bool) -> _Col:
    x = fact.sql
    if fact.kind == "bool":
        if not isinstance(value, bool) or op not in ("=", "!="):
            raise _Relaxed("boolean")
        holds = value == (op == "=")
        return x if holds else not_(x)
    if isinstance(value, bool):
        raise _Relaxed("boolean")
    test = _test(fact, op, value)
    if guarded or op == "=":  # None is never equal to a constant, nor ordered
        return and_(x.is_not(None), test)
    if op == "!=":
        return or_(x.is_(None), test)
    return and_(x.is_not(None), test)


def _on_day(fact: _Fact, op: str, start: Any, end: Any) -> _Col:
    x = fact.sql
    if op == "=":
        test = and_(_test(fact, ">=", start), _test(fact, "<", end))
    elif op == "!=":
        test = or_(_test(fact, "<", start), _test(fact, ">=", end))
    elif op == "<":
        test = _test(fact, "<", start)
    elif op == "<=":
        test = _test(fact, "<", end)
    elif op == ">":
        test = _test(fact, ">=", end)
    else:
        test = _test(fact, ">=", start)
    return and_(x.is_not(None), test)


def _between(fact: _Fact, node: Between) -> _Col:
    high = "<" if node.open_high else "<="
    inside = and_(_test(fact, ">=", node.low), _test(fact, high, node.high))
    return and_(fact.sql.is_not(None), not_(inside) if node.negated else inside)


def _in(fact: _Fact, node: In) -> _Col:
    values = node.values
    assert isinstance(values, frozenset), "a filled condition"
    if fact.kind in ("bool", "date") or any(isinstance(v, bool | datetime) for v in values):
        raise _Relaxed("in")
    x = fact.sql
    members = or_(*(_test(fact, "=", v) for v in sorted(values, key=repr)))
    if node.negated:  # None is in no set
        return or_(x.is_(None), not_(members))
    return and_(x.is_not(None), members)


def _in_days(fact: _Fact, node: InDays) -> _Col:
    parts = []
    for start, end in node.members():
        if end is None:
            parts.append(_test(fact, "=", start))
        else:
            parts.append(and_(_test(fact, ">=", start), _test(fact, "<", end)))
    found = or_(*parts)
    return and_(fact.sql.is_not(None), not_(found) if node.negated else found)


def any_of(predicates: Sequence[_Col]) -> _Col:
    """The orders at least one of ``predicates`` selects (none: no order)."""
    return or_(*predicates) if predicates else false()
