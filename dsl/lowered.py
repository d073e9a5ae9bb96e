"""The lowered form of a condition: a small tree of tests with ready values.

A checked rule's condition is lowered (:mod:`rulec.dsl.lower`) to these
frozen nodes: :class:`AllOf`, :class:`AnyOf`, :class:`Negation`,
:class:`Exists` over a list fact, and atoms, each a test of one fact
(:class:`Present`, :class:`HasLabel`, :class:`HasAnyLabel`, :class:`CouponIn`,
:class:`Compare`, :class:`OnDay`, :class:`Between`, :class:`In`,
:class:`InDays`). Their constants are ready values (``Decimal``, aware
``datetime``, ``str``, ``int``, ``bool``, ``frozenset``), every node keeps
its own :class:`~rulec.dsl.nodes.Span` (outside equality), and every atom
can say in words what it tests (:meth:`Condition.describe`).

A node class says, in its fields' metadata, which fields are part of the
condition's shape, which hold constants and which hold sub-conditions
(:data:`FIELDS`), so the shape and the constants are found by one generic
walk (:mod:`rulec.dsl.shapes`), never by a second visitor kept in step
with the first. The compiler (:mod:`rulec.dsl.compiler`) and the tracing
interpreter (:mod:`rulec.dsl.trace`) read these nodes alike.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs
from attrs import frozen

from rulec.dsl.nodes import Span

__all__ = [
    "CHILD",
    "CHILDREN",
    "CLASSES",
    "CONST",
    "CONSTS",
    "FIELDS",
    "FIELD_VALUES",
    "INLINE_LABELS",
    "OPERATORS",
    "SHAPE",
    "AllOf",
    "AnyOf",
    "Atom",
    "Between",
    "Compare",
    "Condition",
    "Constant",
    "CouponIn",
    "Exists",
    "HasAnyLabel",
    "HasLabel",
    "In",
    "InDays",
    "Negation",
    "OnDay",
    "Present",
    "Slot",
]

#: The comparison operators a lowered condition may hold.
OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
#: Up to this many labels, ``has any label of`` tests each label in turn;
#: more are tested as one set (the compiler and the interpreter both follow it).
INLINE_LABELS = 4

#: The types a constant of a condition may have.
Constant = Decimal | int | str | bool | datetime | frozenset[Any]

# ------------------------------------------------------------ node roles ---

#: A field of the shape (a fact key, an operator, a flag): kept in the shape key.
SHAPE = "shape"
#: A field holding one constant.
CONST = "const"
#: A field holding a tuple of constants (its length is part of the shape).
CONSTS = "consts"
#: A field holding one sub-condition, or a tuple of them.
CHILD = "child"
CHILDREN = "children"


def _role(role: str, *types: type, choices: tuple[Any, ...] = ()) -> dict[str, Any]:
    """A field's metadata: its role, the types its values (or constants) take, its choices."""
    return {"role": role, "types": types, "choices": choices}


@frozen
class Slot:
    """Where a constant goes in a shape: ``c0``, ``c1``, … in walk order."""

    index: int

    def __repr__(self) -> str:
        return f"c{self.index}"


def _show(value: Any) -> str:
    """A constant (or a slot) in words."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, frozenset):
        return "(" + ", ".join(sorted(map(_show, value))) + ")"
    return str(value)


@frozen
class Condition:
    """A lowered condition. ``span`` is where it is written; it is not part of equality."""

    span: Span | None = attrs.field(default=None, kw_only=True, eq=False, repr=False)

    def describe(self) -> str:  # pragma: no cover - every class has its own
        raise NotImplementedError


@frozen
class AllOf(Condition):
    """``a and b and …``: false at the first operand that is false."""

    operands: tuple[Condition, ...] = attrs.field(metadata=_role(CHILDREN))

    def describe(self) -> str:
        return " and ".join(f"({o.describe()})" for o in self.operands)


@frozen
class AnyOf(Condition):
    """``a or b or …``: true at the first operand that is true."""

    operands: tuple[Condition, ...] = attrs.field(metadata=_role(CHILDREN))

    def describe(self) -> str:
        return " or ".join(f"({o.describe()})" for o in self.operands)


@frozen
class Negation(Condition):
    """``not a``."""

    operand: Condition = attrs.field(metadata=_role(CHILD))

    def describe(self) -> str:
        return f"not ({self.operand.describe()})"


@frozen
class Exists(Condition):
    """``any ENTITY …``: ``condition`` holds for one member of the list fact ``key``.

    Inside, facts are the member's (``item.labels``), not the event's.
    """

    key: str = attrs.field(metadata=_role(SHAPE, str))
    condition: Condition = attrs.field(metadata=_role(CHILD))

    def describe(self) -> str:
        return f"any {self.key.rsplit('.', 1)[0]} ({self.condition.describe()})"


@frozen
class Atom(Condition):
    """A test of one fact, ``key``: what the tracing interpreter reports, with its value."""

    key: str = attrs.field(metadata=_role(SHAPE, str))

    @property
    def entity(self) -> str:
        return self.key.rsplit(".", 1)[0]


@frozen
class Present(Atom):
    """The presence guard of an optional entity: ``not facts.get('customer.absent')``.

    Put before a negative test (``customer lacks label X``) of an entity the
    event may not have: about a missing entity every condition is false.
    """

    def describe(self) -> str:
        return f"{self.entity} is present"


@frozen
class HasLabel(Atom):
    """``label in facts[key]`` (``not in`` when negated)."""

    label: str | Slot = attrs.field(metadata=_role(CONST, str))
    negated: bool = attrs.field(metadata=_role(SHAPE, bool))

    def describe(self) -> str:
        verb = "lacks" if self.negated else "has"
        what = "coupon" if self.key.endswith(".coupons") else "label"
        return f"{self.entity} {verb} {what} {_show(self.label)}"


@frozen
class HasAnyLabel(Atom):
    """One of ``labels`` is in ``facts[key]`` (none is, when negated); no label twice."""

    labels: tuple[str | Slot, ...] = attrs.field(metadata=_role(CONSTS, str))
    negated: bool = attrs.field(metadata=_role(SHAPE, bool))

    def describe(self) -> str:
        verb = "lacks" if self.negated else "has"
        return f"{self.entity} {verb} any label of {', '.join(map(_show, self.labels))}"


@frozen
class CouponIn(Atom):
    """A code of the family ``family`` is in ``facts[key]`` (none is, when negated): a
    code among ``codes``, or one that starts with one of ``prefixes`` (upper case)."""

    family: str = attrs.field(metadata=_role(SHAPE, str))
    codes: frozenset[str] | Slot = attrs.field(metadata=_role(CONST, frozenset))
    prefixes: frozenset[str] | Slot = attrs.field(metadata=_role(CONST, frozenset))
    negated: bool = attrs.field(metadata=_role(SHAPE, bool))

    def accepts(self, code: str) -> bool:
        """Whether ``code`` (upper case) is one of the family's (a filled atom)."""
        assert isinstance(self.codes, frozenset) and isinstance(self.prefixes, frozenset)
        return code in self.codes or any(code.startswith(p) for p in self.prefixes)

    def describe(self) -> str:
        verb = "lacks" if self.negated else "has"
        members = []
        if isinstance(self.codes, frozenset):
            members += sorted(self.codes)
        if isinstance(self.prefixes, frozenset):
            members += sorted(p + "*" for p in self.prefixes)
        shown = f" ({', '.join(members)})" if members else ""
        return f"{self.entity} {verb} coupon in {self.family}{shown}"


@frozen
class Compare(Atom):
    """``facts[key] OP value``; ``guarded``: false when the fact is None.

    Ordered comparisons and comparisons with an instant are guarded (a
    missing value is never before or after anything); ``=`` and ``!=`` of
    other values compare None as a value.
    """

    op: str = attrs.field(metadata=_role(SHAPE, str, choices=OPERATORS))
    value: Constant | Slot = attrs.field(metadata=_role(CONST, Decimal, int, str, bool, datetime))
    guarded: bool = attrs.field(metadata=_role(SHAPE, bool))

    def describe(self) -> str:
        return f"{self.key} {self.op} {_show(self.value)}"


@frozen
class OnDay(Atom):
    """A comparison with a date, which means its whole day ``[start, end)``.

    ``=``: within the day; ``!=``: not within it; ``<``: before its start;
    ``<=``: before its end; ``>``: from its end; ``>=``: from its start.
    False when the fact is None.
    """

    op: str = attrs.field(metadata=_role(SHAPE, str, choices=OPERATORS))
    start: datetime | Slot = attrs.field(metadata=_role(CONST, datetime))
    end: datetime | Slot = attrs.field(metadata=_role(CONST, datetime))

    def describe(self) -> str:
        return f"{self.key} {self.op} the day [{_show(self.start)}, {_show(self.end)})"


@frozen
class Between(Atom):
    """``low <= facts[key] <= high`` (``< high`` when ``open_high``: up to a day's end).

    False when the fact is None, negated or not.
    """

    low: Decimal | int | datetime | Slot = attrs.field(
        metadata=_role(CONST, Decimal, int, datetime)
    )
    high: Decimal | int | datetime | Slot = attrs.field(
        metadata=_role(CONST, Decimal, int, datetime)
    )
    negated: bool = attrs.field(metadata=_role(SHAPE, bool))
    open_high: bool = attrs.field(metadata=_role(SHAPE, bool))

    def describe(self) -> str:
        end = ")" if self.open_high else "]"
        verb = "not between" if self.negated else "between"
        return f"{self.key} {verb} [{_show(self.low)}, {_show(self.high)}{end}"


@frozen
class In(Atom):
    """``facts[key] in values`` (``not in`` when negated); None is a value."""

    values: frozenset[Any] | Slot = attrs.field(metadata=_role(CONST, frozenset))
    negated: bool = attrs.field(metadata=_role(SHAPE, bool))

    def describe(self) -> str:
        return f"{self.key} {'not in' if self.negated else 'in'} {_show(self.values)}"


@frozen
class InDays(Atom):
    """``facts[key]`` is within one of some days or at one of some instants.

    ``whole`` says, per member, whether it is a day (two ``bounds``: its
    start and end) or an instant (one: itself). False when the fact is None,
    negated or not.
    """

    whole: tuple[bool, ...] = attrs.field(metadata=_role(SHAPE, tuple))
    bounds: tuple[datetime | Slot, ...] = attrs.field(metadata=_role(CONSTS, datetime))
    negated: bool = attrs.field(metadata=_role(SHAPE, bool))

    def members(self) -> Iterator[tuple[Any, Any | None]]:
        """``(start, end)`` of each day, ``(instant, None)`` of each instant."""
        it = iter(self.bounds)
        for day in self.whole:
            yield (next(it), next(it)) if day else (next(it), None)

    def describe(self) -> str:
        parts = [
            f"the day [{_show(s)}, {_show(e)})" if e is not None else _show(s)
            for s, e in self.members()
        ]
        return f"{self.key} {'not in' if self.negated else 'in'} ({', '.join(parts)})"


#: Every node class, by name (the first member of each shape key's tuples).
CLASSES: dict[str, type[Condition]] = {
    cls.__name__: cls
    for cls in (
        AllOf,
        AnyOf,
        Negation,
        Exists,
        Present,
        HasLabel,
        HasAnyLabel,
        CouponIn,
        Compare,
        OnDay,
        Between,
        In,
        InDays,
    )
}

#: Per class: (name, role, types, choices) of each of its fields but the span, in order.
FIELDS: dict[type, tuple[tuple[str, str, tuple[type, ...], tuple[Any, ...]], ...]] = {
    cls: tuple(
        (
            a.name,
            a.metadata["role"],
            a.metadata.get("types", ()),
            a.metadata.get("choices", ()),
        )
        for a in attrs.fields(cls)
        if a.name != "span"
    )
    for cls in CLASSES.values()
}


def _getter(names: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving the values of the fields ``names`` of a node, as a tuple."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    one = operator.attrgetter(names[0])
    return lambda node: (one(node),)


#: Per class: the values of its fields (``FIELDS`` order) as a tuple.
FIELD_VALUES = {cls: _getter([p[0] for p in plan]) for cls, plan in FIELDS.items()}
