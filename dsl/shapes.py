"""A lowered condition's shape and constants.

:func:`split` gives a condition's **shape** (a hashable key, nested tuples
of class names, fact keys, operators and flags: the tree with its
constants left out), its **constants** (a tuple, in walk order) and its
nodes' positions. :func:`shape_tree` turns a key back into the tree with a
:class:`~rulec.dsl.lowered.Slot` (``c0``, ``c1``, …) where each constant
was, refusing anything :func:`split` does not make (a key read from a
cache file goes through it), and :func:`fill` puts constants and positions
back in. Rules whose conditions have one shape share one compiled factory
(:mod:`rulec.dsl.compiler`). All of it is driven by the fields' roles
(:data:`rulec.dsl.lowered.FIELDS`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import attrs
from attrs import frozen

from rulec.dsl.lowered import (
    CHILD,
    CHILDREN,
    CLASSES,
    CONST,
    CONSTS,
    FIELD_VALUES,
    FIELDS,
    SHAPE,
    Condition,
    InDays,
    Slot,
)
from rulec.dsl.nodes import Span

__all__ = ["MAX_DEPTH", "MAX_WIDTH", "Lowered", "fill", "shape_tree", "slot_types", "split"]


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
    plan = FIELDS[type(node)]
    key: list[Any] = [type(node).__name__]
    for (_, role, _, _), value in zip(plan, FIELD_VALUES[type(node)](node), strict=True):
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
    plan = FIELDS[cls]
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
    for name, role, types, _ in FIELDS[type(node)]:
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
    for name, role, _, _ in FIELDS[type(node)]:
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
