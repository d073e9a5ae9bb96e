"""Lowering: a checked rule becomes a lowered rule, its record and its condition as data.

Everything the language means is decided here, once: the fact each test
reads, date-only values as whole days, the ``is not None`` guard of ordered
comparisons, the presence guard of optional entities on negative tests,
``is`` by the entity's identity field, ``has any label of`` without repeats.
What comes out is plain data that the compiler (:mod:`rulec.dsl.compiler`),
the tracing interpreter (:mod:`rulec.dsl.trace`) and later SQL all read
alike:

- a :class:`LoweredRule`: the rule's record (id, name, position, event,
  actions as data, settings, validity window as instants, the label index,
  the facts it reads) and its :class:`Lowered` condition;
- a lowered condition: a tree of frozen nodes (:class:`AllOf`,
  :class:`AnyOf`, :class:`Negation`, :class:`Exists` over a list fact, and
  atoms such as :class:`HasLabel` or :class:`Compare`) whose constants are
  ready values (``Decimal``, aware ``datetime``, ``str``, ``int``, ``bool``,
  ``frozenset``) and whose every node keeps its own :class:`Span`;
- from a condition, :func:`split` gives its **shape** (a hashable key,
  nested tuples of names and flags: the tree with its constants left out)
  and its **constants** (a tuple, in walk order). :func:`shape_tree` turns
  a key back into the tree with :class:`Slot` ``c0``, ``c1``, … where the
  constants were, and :func:`fill` puts constants and positions back in.

A node class says which of its fields are part of the shape, which hold
constants and which hold sub-conditions (the ``role`` of each field), so
the shape, the constants and the positions are found by one generic walk,
never by a second visitor kept in step with the first.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs
from attrs import frozen

from rulec.dsl.checker import entity_of, negative_atom, resolve_field, window_bounds
from rulec.dsl.nodes import (
    And,
    DateValue,
    EntityAction,
    FieldRef,
    FixedDiscount,
    Ident,
    Is,
    Item,
    LabelAction,
    Name,
    Not,
    Number,
    Or,
    PercentDiscount,
    Rule,
    SetField,
    Some,
    Span,
    String,
    Value,
)
from rulec.dsl.nodes import (
    Between as AstBetween,
)
from rulec.dsl.nodes import (
    Compare as AstCompare,
)
from rulec.dsl.nodes import Condition as AstCondition
from rulec.dsl.nodes import (
    HasAnyLabel as AstHasAnyLabel,
)
from rulec.dsl.nodes import (
    HasLabel as AstHasLabel,
)
from rulec.dsl.nodes import (
    In as AstIn,
)
from rulec.dsl.values import Instant, parse_date
from rulec.dsl.vocabulary import (
    Event,
    Type,
    Vocabulary,
    absent_key,
    fact_key,
    labels_key,
    many_key,
)

__all__ = [
    "INLINE_LABELS",
    "OPERATORS",
    "RECORD_FIELDS",
    "AllOf",
    "AnyOf",
    "Atom",
    "Between",
    "Compare",
    "Condition",
    "Exists",
    "HasAnyLabel",
    "HasLabel",
    "In",
    "InDays",
    "Lowered",
    "LoweredRule",
    "Negation",
    "OnDay",
    "Present",
    "Slot",
    "fill",
    "lower_rules",
    "rule_name",
    "shape_tree",
    "slot_types",
    "split",
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
        return f"{self.entity} {'lacks' if self.negated else 'has'} label {_show(self.label)}"


@frozen
class HasAnyLabel(Atom):
    """One of ``labels`` is in ``facts[key]`` (none is, when negated); no label twice."""

    labels: tuple[str | Slot, ...] = attrs.field(metadata=_role(CONSTS, str))
    negated: bool = attrs.field(metadata=_role(SHAPE, bool))

    def describe(self) -> str:
        verb = "lacks" if self.negated else "has"
        return f"{self.entity} {verb} any label of {', '.join(map(_show, self.labels))}"


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
        Compare,
        OnDay,
        Between,
        In,
        InDays,
    )
}

#: Per class: (field name, role, allowed types, choices) for each field but the span.
_PLANS: dict[type, tuple[tuple[str, str, tuple[type, ...], tuple[Any, ...]], ...]] = {
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


#: Per class: the values of its fields (``_PLANS`` order) as a tuple.
_GETTERS = {cls: _getter([p[0] for p in plan]) for cls, plan in _PLANS.items()}

# ------------------------------------------------------ shape and constants ---


def split(condition: Condition) -> tuple[Hashable, tuple[Any, ...], tuple[int, ...]]:
    """The shape key, the constants and the nodes' positions of ``condition``.

    The key is nested tuples: per node, its class name, then per field its
    shape value, the length of a tuple of constants, or its sub-conditions'
    keys; constants are left out (they are the slots, in walk order).
    Positions are four numbers per node (line, column, end line, end column;
    zeros for a node without a span), in the same walk order: the node,
    then its fields in order.
    """
    constants: list[Any] = []
    positions: list[int] = []
    key = _split(condition, constants, positions)
    return key, tuple(constants), tuple(positions)


#: The position of a node without a span.
_NOWHERE = (0, 0, 0, 0)


def _split(node: Condition, constants: list[Any], positions: list[int]) -> tuple[Any, ...]:
    span = node.span
    positions += (
        _NOWHERE if span is None else (span.line, span.column, span.end_line, span.end_column)
    )
    plan = _PLANS[type(node)]
    key: list[Any] = [type(node).__name__]
    for (_, role, _, _), value in zip(plan, _GETTERS[type(node)](node), strict=True):
        if role is SHAPE:
            key.append(value)
        elif role is CONST:
            constants.append(value)
        elif role is CONSTS:
            key.append(len(value))
            constants.extend(value)
        elif role is CHILD:
            key.append(_split(value, constants, positions))
        else:
            key.append(tuple(_split(c, constants, positions) for c in value))
    return tuple(key)


#: Limits on a shape key read back (a cache file): depth and widths.
MAX_DEPTH = 200
MAX_WIDTH = 100_000


def shape_tree(key: Any) -> Condition:
    """The shape of ``key`` as a tree, :class:`Slot` where its constants go.

    Raises ValueError for anything :func:`split` does not make (an unknown
    class, a missing or extra field, a value of the wrong type): a key read
    from a cache file goes through here before anything is built from it.
    """
    counter = [0]
    tree = _build(key, counter, 0)
    return tree


def _build(key: Any, counter: list[int], depth: int) -> Condition:
    if type(key) is not tuple or not key or depth > MAX_DEPTH:
        raise ValueError("not a shape")
    cls = CLASSES.get(key[0]) if type(key[0]) is str else None
    if cls is None:
        raise ValueError(f"unknown kind of condition {key[0]!r}")
    plan = _PLANS[cls]
    keyed = [p for p in plan if p[1] is not CONST]  # a constant has no place in the key
    if len(key) != len(keyed) + 1:
        raise ValueError(f"{cls.__name__} takes {len(keyed)} fields")
    values = iter(key[1:])
    fields: dict[str, Any] = {}
    for name, role, types, choices in plan:
        if role is CONST:
            fields[name] = Slot(counter[0])
            counter[0] += 1
            continue
        value = next(values)
        if role is SHAPE:
            if type(value) not in types or (choices and value not in choices):
                raise ValueError(f"bad {name} in {cls.__name__}")
            if type(value) is tuple and not all(type(v) is bool for v in value):
                raise ValueError(f"bad {name} in {cls.__name__}")
            fields[name] = value
        elif role is CONSTS:
            if type(value) is not int or not 0 < value <= MAX_WIDTH:
                raise ValueError(f"bad {name} in {cls.__name__}")
            fields[name] = tuple(Slot(counter[0] + i) for i in range(value))
            counter[0] += value
        elif role is CHILD:
            fields[name] = _build(value, counter, depth + 1)
        else:
            if type(value) is not tuple or not value or len(value) > MAX_WIDTH:
                raise ValueError(f"bad {name} in {cls.__name__}")
            fields[name] = tuple(_build(v, counter, depth + 1) for v in value)
    node = cls(**fields)
    if isinstance(node, InDays) and len(node.bounds) != sum(2 if w else 1 for w in node.whole):
        raise ValueError("the bounds of InDays do not match its days")
    if isinstance(node, InDays) and not node.whole:
        raise ValueError("InDays without members")
    return node


def slot_types(tree: Condition) -> tuple[tuple[type, ...], ...]:
    """The types each slot of a shape tree may take, in slot order."""
    out: list[tuple[type, ...]] = []
    _slot_types(tree, out)
    return tuple(out)


def _slot_types(node: Condition, out: list[tuple[type, ...]]) -> None:
    for name, role, types, _ in _PLANS[type(node)]:
        value = getattr(node, name)
        if role is CONST:
            out.append(types)
        elif role is CONSTS:
            out.extend([types] * len(value))
        elif role is CHILD:
            _slot_types(value, out)
        elif role is CHILDREN:
            for c in value:
                _slot_types(c, out)


def fill(
    tree: Condition, constants: Sequence[Any], positions: Sequence[int], file: str
) -> Condition:
    """A shape tree with ``constants`` in its slots and spans in ``file`` at ``positions``."""
    got = _fill(tree, iter(constants), iter(positions), file)
    return got


def _fill(node: Condition, constants: Iterator[Any], positions: Iterator[int], file: str) -> Any:
    pos = (next(positions), next(positions), next(positions), next(positions))
    fields: dict[str, Any] = {}
    for name, role, _, _ in _PLANS[type(node)]:
        value = getattr(node, name)
        if role is SHAPE:
            fields[name] = value
        elif role is CONST:
            fields[name] = next(constants)
        elif role is CONSTS:
            fields[name] = tuple(next(constants) for _ in value)
        elif role is CHILD:
            fields[name] = _fill(value, constants, positions, file)
        else:
            fields[name] = tuple(_fill(c, constants, positions, file) for c in value)
    span = None if pos == _NOWHERE else Span(file, *pos)
    return type(node)(**fields, span=span)


@frozen
class Lowered:
    """A rule's lowered condition: its shape key, constants and positions.

    Rules of one shape share one compiled factory (``shape`` is the key);
    ``constants`` are what the rule's test closes over. :attr:`condition` is
    the tree (spans in ``file``), made from the three on first use when the
    rule came from a cache file (tracing is not on the way of a decision).
    """

    shape: Hashable
    constants: tuple[Any, ...]
    file: str
    #: Four numbers per node of the condition (see :func:`split`).
    positions: tuple[int, ...]
    _tree: Condition | None = attrs.field(default=None, eq=False, repr=False, alias="tree")

    @classmethod
    def of(cls, condition: Condition, file: str) -> Lowered:
        shape, constants, positions = split(condition)
        return cls(shape, constants, file, positions, tree=condition)

    @property
    def condition(self) -> Condition:
        tree = self._tree
        if tree is None:
            tree = fill(shape_tree(self.shape), self.constants, self.positions, self.file)
            object.__setattr__(self, "_tree", tree)  # a cache: equal either way
        return tree


# ------------------------------------------------------------ the rules ---

#: The fields of a rule's record, in order (``rulec compile`` shows them so).
RECORD_FIELDS = (
    "id",
    "name",
    "file",
    "line",
    "column",
    "event",
    "actions",
    "priority",
    "enabled",
    "exclusive",
    "combinable",
    "valid_from",
    "valid_until",
    "description",
    "labels",
    "facts",
    "label_only",
)


@frozen
class LoweredRule:
    """A checked rule as data: its record and its lowered condition.

    ``actions`` are tuples of ready values: ``("percent", Decimal, title,
    cap or None, cap currency or None)``, ``("fixed", Decimal, currency,
    title)``, ``("label", entity, label, add)``, ``("set", entity, field,
    value)``, ``("show" | "hide", entity)``. ``lowered`` is None for a rule
    without a condition (it always holds).
    """

    id: str
    name: str
    file: str
    line: int
    column: int
    event: str
    actions: tuple[tuple[Any, ...], ...]
    priority: int
    enabled: bool
    exclusive: bool
    combinable: bool
    valid_from: datetime | None
    valid_until: datetime | None
    description: str | None
    #: ``(entity, label)`` pairs of which one must be present, or None.
    labels: tuple[tuple[str, str], ...] | None
    #: The facts the condition reads, sorted.
    facts: tuple[str, ...]
    #: The condition holds exactly when one of ``labels`` is present.
    label_only: bool
    lowered: Lowered | None

    @property
    def condition(self) -> Condition | None:
        return None if self.lowered is None else self.lowered.condition

    def record(self) -> tuple[Any, ...]:
        """The record's fields in :data:`RECORD_FIELDS` order."""
        return tuple(getattr(self, f) for f in RECORD_FIELDS)


def rule_name(rule: Rule, file: str) -> str:
    """A rule's display name: its block name, else ``file:line``."""
    if rule.name is not None:
        return rule.name
    base = file.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{base}:{rule.span.line if rule.span else 0}"


def lower_rules(
    items: Sequence[Item], vocabulary: Vocabulary, file: str = "<string>"
) -> tuple[LoweredRule, ...]:
    """The lowered rules of one file's checked items, in source order (``rule_0001``, …).

    Only rules that passed :func:`rulec.dsl.checker.check` may be lowered.
    """
    lowering = _Lowering(vocabulary, file)
    rules = [i for i in items if isinstance(i, Rule)]
    return tuple(lowering.rule(r, f"rule_{n:04d}") for n, r in enumerate(rules, start=1))


#: Priority, enabled, exclusive and combinable of a rule without metadata.
_NO_META = (0, True, False, False)


class _Lowering:
    """One ``lower_<Node>`` per condition node of the syntax tree."""

    def __init__(self, vocabulary: Vocabulary, file: str) -> None:
        self.vocabulary = vocabulary
        self.file = file
        #: (entity, field) -> (fact key, type), resolved once per rule set.
        self.fields: dict[tuple[str, str], tuple[str, Type]] = {}
        self.events: dict[tuple[str, str | None], Event | None] = {}
        self.shapes: dict[Hashable, Hashable] = {}
        self.read_keys: dict[tuple[str, ...], tuple[str, ...]] = {}
        #: The facts the rule being lowered reads.
        self.keys: set[str] = set()
        self.event: Event | None = None
        #: Inside ``any ENTITY …``: facts are the member's, not the event's.
        self.within = False

    def rule(self, rule: Rule, rule_id: str) -> LoweredRule:
        subject = rule.subject.text if rule.subject is not None else None
        where = (rule.event.text, subject)
        if where not in self.events:
            self.events[where] = self.vocabulary.event(*where)
        self.event = event = self.events[where]
        self.keys = set()
        self.within = False
        cond = rule.condition
        lowered = None
        if cond is not None:
            tree = self.lower(cond)
            shape, constants, positions = split(tree)
            shape = self.shapes.setdefault(shape, shape)  # one key object per shape
            lowered = Lowered(shape, constants, self.file, positions, tree=tree)
        start = end = None
        if rule.meta:
            window = rule.window
            if window is not None:
                got = window_bounds(window)
                assert not isinstance(got, str), "lower only checked rules"
                w_start, w_end = got
                start = w_start.start if w_start else None
                end = w_end.end if w_end else None
            meta = (rule.priority, rule.enabled, rule.exclusive, rule.combinable)
            description = rule.description
        else:  # a one-line rule: the defaults, without a look at its (empty) metadata
            meta = _NO_META
            description = None
        labels = _index_labels(cond)
        span = rule.span
        return LoweredRule(
            rule_id,
            rule_name(rule, self.file),
            self.file,
            span.line if span else 0,
            span.column if span else 0,
            event.key if event is not None else rule.event.text,
            tuple(_action(a) for a in rule.actions),
            *meta,
            start,
            end,
            description,
            None if labels is None else tuple(sorted(labels)),
            self.interned(tuple(sorted(self.keys))),
            labels is not None and _label_only(cond),
            lowered,
        )

    def interned(self, value: tuple[str, ...]) -> tuple[str, ...]:
        """One tuple object for equal tuples of facts (most rules read the same few)."""
        return self.read_keys.setdefault(value, value)

    # -- conditions

    def lower(self, node: AstCondition) -> Condition:
        got: Condition = _LOWER[type(node)](self, node)
        entity = entity_of(node)
        event = self.event
        if (
            entity is not None
            and not self.within
            and event
            and entity in event.optional
            and negative_atom(node)
        ):
            # About a missing entity (no customer) a condition is false. The
            # positive ones already are: a missing entity has no labels and
            # its fields are None, which no positive test accepts.
            key = absent_key(entity)
            self.keys.add(key)
            guard = Present(key, span=node.span)
            got = AllOf((guard, got), span=node.span)
        return got

    def read(self, key: str) -> str:
        if not self.within:
            self.keys.add(key)
        return key

    def lower_And(self, node: And) -> Condition:
        return AllOf(tuple(map(self.lower, node.operands)), span=node.span)

    def lower_Or(self, node: Or) -> Condition:
        return AnyOf(tuple(map(self.lower, node.operands)), span=node.span)

    def lower_Not(self, node: Not) -> Condition:
        return Negation(self.lower(node.operand), span=node.span)

    def lower_Some(self, node: Some) -> Condition:
        key = self.read(many_key(node.entity.text))
        self.within = True
        try:
            inner = self.lower(node.condition)
        finally:
            self.within = False
        return Exists(key, inner, span=node.span)

    def lower_HasLabel(self, node: AstHasLabel) -> Condition:
        key = self.read(labels_key(node.entity.text))
        return HasLabel(key, node.label.text, node.negated, span=node.span)

    def lower_HasAnyLabel(self, node: AstHasAnyLabel) -> Condition:
        key = self.read(labels_key(node.entity.text))
        names = tuple(dict.fromkeys(n.text for n in node.labels))
        return HasAnyLabel(key, names, node.negated, span=node.span)

    def lower_Is(self, node: Is) -> Condition:
        entity = self.vocabulary.entity(node.entity.text)
        assert entity is not None and entity.identity is not None, "lower only checked rules"
        ref = FieldRef(node.entity, Name(entity.identity, span=node.span), span=node.span)
        op = Name("!=" if node.negated else "=")
        return self.lower_Compare(AstCompare(ref, op, node.value, span=node.span))

    def field(self, ref: FieldRef) -> tuple[str, Type]:
        where = (ref.entity.text, ref.field.text)
        got = self.fields.get(where)
        if got is None:
            resolved = resolve_field(self.vocabulary, ref)
            assert resolved is not None, "lower only checked rules"
            entity, f = resolved
            got = self.fields[where] = (fact_key(entity.name, f.name), f.type)
        self.read(got[0])
        return got

    def lower_Compare(self, node: AstCompare) -> Condition:
        key, t = self.field(node.field)
        value = _value(node.value, t)
        op = node.op.text
        if isinstance(value, Instant):
            if value.date_only:
                return OnDay(key, op, value.start, value.end, span=node.span)
            return Compare(key, op, value.start, True, span=node.span)
        return Compare(key, op, value, op not in ("=", "!="), span=node.span)

    def lower_Between(self, node: AstBetween) -> Condition:
        key, t = self.field(node.field)
        low = _value(node.low, t)
        high = _value(node.high, t)
        if isinstance(low, Instant):
            assert isinstance(high, Instant)
            top = high.end if high.date_only else high.start
            return Between(key, low.start, top, node.negated, high.date_only, span=node.span)
        return Between(key, low, high, node.negated, False, span=node.span)

    def lower_In(self, node: AstIn) -> Condition:
        key, t = self.field(node.field)
        values = [_value(v, t) for v in node.values]
        if t is Type.DATETIME:  # a date is a whole day: membership of ranges
            whole: list[bool] = []
            bounds: list[datetime] = []
            for v in values:
                assert isinstance(v, Instant)
                whole.append(v.date_only)
                bounds += (v.start, v.end) if v.date_only else (v.start,)
            return InDays(key, tuple(whole), tuple(bounds), node.negated, span=node.span)
        return In(key, frozenset(values), node.negated, span=node.span)


#: ``_Lowering``'s method per syntax node class.
_LOWER: dict[type, Any] = {
    cls: getattr(_Lowering, f"lower_{cls.__name__}")
    for cls in (Some, Is, And, Or, Not, AstHasLabel, AstHasAnyLabel, AstCompare, AstBetween, AstIn)
}


def _value(v: Value, t: Type) -> Any:
    """A literal as a ready value: Decimal, int, str, bool, or an Instant for dates."""
    if isinstance(v, Number):
        return int(v.value) if t is Type.INTEGER else v.value
    if isinstance(v, String):
        return v.value
    if isinstance(v, Ident):
        return v.name in ("true", "yes") if t is Type.BOOLEAN else v.name
    assert isinstance(v, DateValue)
    got = parse_date(v)
    assert isinstance(got, Instant), "lower only checked rules"
    return got


def _action(a: Any) -> tuple[Any, ...]:
    """An action as data: ``("percent", Decimal("10"), title, cap, cap_currency)``, …"""
    if isinstance(a, PercentDiscount):
        cap = a.cap
        return (
            "percent",
            a.percent,
            a.title,
            None if cap is None else cap.amount,
            None if cap is None else cap.currency.text,
        )
    if isinstance(a, FixedDiscount):
        return ("fixed", a.amount, a.currency.text, a.title)
    if isinstance(a, SetField):
        value = a.value
        text = value.name if isinstance(value, Ident) else getattr(value, "value", None)
        assert isinstance(text, str), "lower only checked rules: settable fields are texts"
        return ("set", a.field.entity.text, a.field.field.text, text)
    if isinstance(a, EntityAction):
        return (a.verb.text, a.entity.text)
    assert isinstance(a, LabelAction)
    return ("label", a.entity.text, a.label.text, a.verb.text == "add")


def _index_labels(cond: AstCondition | None) -> frozenset[tuple[str, str]] | None:
    """Labels of which at least one must be present for ``cond`` to hold.

    None means no such set is known and the rule must be scanned on every
    event; the engine indexes rules by these labels (a Rete alpha network).
    """
    if isinstance(cond, AstHasLabel) and not cond.negated:
        return frozenset({(cond.entity.text, cond.label.text)})
    if isinstance(cond, AstHasAnyLabel) and not cond.negated:
        return frozenset((cond.entity.text, n.text) for n in cond.labels)
    if isinstance(cond, And):
        known = [s for s in map(_index_labels, cond.operands) if s is not None]
        return min(known, key=len) if known else None
    if isinstance(cond, Or):
        parts: list[frozenset[tuple[str, str]]] = []
        for o in cond.operands:
            part = _index_labels(o)
            if part is None:
                return None
            parts.append(part)
        return frozenset().union(*parts)
    return None


def _label_only(cond: AstCondition | None) -> bool:
    """Whether ``cond`` holds exactly when one of its :func:`_index_labels` is present.

    ``customer has label VIP``, ``has any label of A, B`` and ``or`` of such:
    the engine, which finds the rule through those labels, knows the answer
    without calling the rule's test.
    """
    if isinstance(cond, AstHasLabel | AstHasAnyLabel):
        return not cond.negated
    if isinstance(cond, Or):
        return all(map(_label_only, cond.operands))
    return False
