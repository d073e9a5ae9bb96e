"""What is at a place in a rule file: a name of the syntax tree and its role, or a keyword.

Positions here are the syntax tree's: 1-based lines and columns counted in
characters (:class:`rulec.dsl.nodes.Span`). The server converts the editor's
0-based positions (in its own code units) to these and back.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator

from attrs import frozen

from rulec.dsl.nodes import (
    CouponFamily,
    FieldRef,
    GroupDecl,
    HasCouponIn,
    Item,
    LabelDecl,
    Name,
    Node,
    Span,
    walk,
)

__all__ = ["NameRef", "Role", "contains", "in_code", "name_at", "names", "word_at"]


class Role(enum.Enum):
    """What a name of the syntax tree names."""

    LABEL_DECLARATION = "label declaration"
    LABEL = "label"
    ENTITY = "entity"
    FIELD = "field"
    EVENT = "event"
    ACTION = "action"
    CURRENCY = "currency"
    ZONE = "time zone"
    GROUP_DECLARATION = "group declaration"
    GROUP = "stacking group"
    #: A coupon family's name, where it is declared and where a rule tests it.
    COUPON_FAMILY = "coupon family"


@frozen
class NameRef:
    """A name in a rule file, what it names, and the node it belongs to."""

    name: Name
    role: Role
    node: Node
    #: For a field, its entity as written.
    entity: str | None = None


#: The attribute a name is held in → its role (the same attribute names serve
#: every node class that holds one: ``entity`` of HasLabel, FieldRef, Some, …).
_ROLES = {
    "label": Role.LABEL,
    "labels": Role.LABEL,
    "entity": Role.ENTITY,
    "subject": Role.ENTITY,
    "event": Role.EVENT,
    "verb": Role.ACTION,
    "currency": Role.CURRENCY,
    "zone": Role.ZONE,
    "group": Role.GROUP,  # in group NAME
    "after": Role.GROUP,  # group NAME after GROUP, …
}


def names(items: Iterable[Item]) -> Iterator[NameRef]:
    """Every name of ``items`` with its role, in the order of the tree."""
    for item in items:
        for node in walk(item):
            for a in node.__attrs_attrs__:  # type: ignore[attr-defined]
                value = getattr(node, a.name)
                found = value if isinstance(value, tuple) else (value,)
                for v in found:
                    if not isinstance(v, Name) or v.span is None:
                        continue
                    if isinstance(node, LabelDecl) and a.name == "names":
                        yield NameRef(v, Role.LABEL_DECLARATION, node)
                    elif isinstance(node, GroupDecl) and a.name == "name":
                        yield NameRef(v, Role.GROUP_DECLARATION, node)
                    elif (isinstance(node, CouponFamily) and a.name == "name") or (
                        isinstance(node, HasCouponIn) and a.name == "family"
                    ):
                        yield NameRef(v, Role.COUPON_FAMILY, node)
                    elif isinstance(node, FieldRef) and a.name == "field":
                        yield NameRef(v, Role.FIELD, node, node.entity.text)
                    elif a.name in _ROLES:
                        yield NameRef(v, _ROLES[a.name], node)


def contains(span: Span, line: int, column: int) -> bool:
    """Whether ``line``:``column`` is in ``span`` or just after its end (a cursor after a word)."""
    if (line, column) < (span.line, span.column):
        return False
    return (line, column) <= (span.end_line, span.end_column)


def name_at(items: Iterable[Item], line: int, column: int) -> NameRef | None:
    """The name at ``line``:``column`` (1-based), the innermost when names nest."""
    best: NameRef | None = None
    for ref in names(items):
        span = ref.name.span
        assert span is not None
        # a cursor between two names touches both: the one it is in wins
        later = best is None or (span.line, span.column) > _start(best)
        if contains(span, line, column) and later:
            best = ref
    return best


def _start(ref: NameRef) -> tuple[int, int]:
    span = ref.name.span
    assert span is not None
    return (span.line, span.column)


#: A quoted text (up to its closing quote, or the end of the line) or a comment.
_NOT_CODE = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*')


def in_code(line_text: str, column: int) -> bool:
    """Whether the 1-based ``column`` of a line is outside quoted text and comments."""
    at = column - 1
    for m in _NOT_CODE.finditer(line_text):
        if m.start() >= at:
            break
        text = m.group()
        if text.startswith("#") or at < m.end():
            return False
        if at == m.end() and (len(text) == 1 or not text.endswith('"')):
            return False  # an unterminated string runs to the end of the line
    return True


_WORD = re.compile(r"\w+")


def word_at(line_text: str, column: int) -> tuple[str, int, int] | None:
    """The word at the 1-based ``column`` (or just before it) and its columns, if in code."""
    at = column - 1
    for m in _WORD.finditer(line_text):
        if m.start() <= at <= m.end():
            if not in_code(line_text, m.start() + 1):
                return None
            return m.group(), m.start() + 1, m.end() + 1
        if m.start() > at:
            break
    return None
