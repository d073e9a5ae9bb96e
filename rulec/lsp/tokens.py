"""Semantic tokens: colouring by meaning, for editors without a TextMate grammar.

Neovim and Helix do not read TextMate grammars; they colour a file with the
server's semantic tokens instead. Names are coloured by what the syntax tree
says they are (a label, an entity, a field, an event, an action, a currency,
a time zone; a label's declaration marked as such), which no pattern can
tell; keywords are the grammar's own (:func:`rulec.dsl.parser.keywords`)
wherever a word is not a name; texts, numbers, comparisons and comments are
found as the TextMate grammar finds them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rulec.dsl.nodes import Item
from rulec.dsl.parser import keywords
from rulec.lsp.lookup import Role, names
from rulec.lsp.positions import Positions

__all__ = ["MODIFIERS", "TYPES", "semantic_tokens"]

#: The legend's token types, in the order their numbers refer to.
TYPES = (
    "keyword",
    "string",
    "number",
    "comment",
    "operator",
    "event",
    "class",
    "property",
    "enumMember",
    "function",
    "type",
    "namespace",
)
#: The legend's modifiers (bit 0: a label's or a group's declaration).
MODIFIERS = ("declaration",)

_ROLE_TYPES = {
    Role.LABEL_DECLARATION: "enumMember",
    Role.LABEL: "enumMember",
    Role.ENTITY: "class",
    Role.FIELD: "property",
    Role.EVENT: "event",
    Role.ACTION: "function",
    Role.CURRENCY: "type",
    Role.ZONE: "namespace",
    Role.GROUP_DECLARATION: "namespace",
    Role.GROUP: "namespace",
    Role.COUPON_FAMILY: "type",
}

_LEXEME = re.compile(
    r"(?P<comment>#[^\n]*)"
    r'|(?P<string>"(?:[^"\\\n]|\\.)*"?)'
    r"|(?P<number>(?<![\w.])[+-]?\d[\d:./T+-]*(?:\.\d+)?%?)"
    r"|(?P<operator>[<>=!]+)"
    r"|(?P<word>[^\W\d][\w/+-]*)"
)


def semantic_tokens(items: Iterable[Item], positions: Positions) -> list[int]:
    """The file's tokens, encoded as the protocol wants them (relative, in client units)."""
    named: dict[tuple[int, int], tuple[int, int, str, int]] = {}
    for ref in names(items):
        span = ref.name.span
        assert span is not None
        if span.line != span.end_line:
            continue
        declaration = ref.role is Role.LABEL_DECLARATION or ref.role is Role.GROUP_DECLARATION
        modifiers = 1 if declaration else 0
        named[(span.line, span.column)] = (span.end_column, 0, _ROLE_TYPES[ref.role], modifiers)
    spans = sorted(named.items())
    words = set(keywords())
    found: list[tuple[int, int, int, str, int]] = []  # line, column, end column, type, modifiers
    for n, line in enumerate(positions.lines, 1):
        for m in _LEXEME.finditer(line):
            kind = m.lastgroup
            assert kind is not None
            start, end = m.start() + 1, m.end() + 1
            inside = _name_around(spans, n, start)
            if inside is not None:
                found.append((n, start, min(end, inside[0]), inside[2], inside[3]))
            elif kind == "word":
                word = m.group()
                if word in words:
                    found.append((n, start, end, "keyword", 0))
            else:
                found.append((n, start, end, kind, 0))
    return _encode(found, positions)


def _name_around(
    spans: list[tuple[tuple[int, int], tuple[int, int, str, int]]], line: int, column: int
) -> tuple[int, int, str, int] | None:
    """The name whose span holds ``line``:``column``, if one does."""
    lo, hi = 0, len(spans)
    while lo < hi:  # the last span starting at or before the place
        mid = (lo + hi) // 2
        if spans[mid][0] <= (line, column):
            lo = mid + 1
        else:
            hi = mid
    if lo == 0:
        return None
    (start_line, _), found = spans[lo - 1]
    return found if start_line == line and column < found[0] else None


def _encode(found: list[tuple[int, int, int, str, int]], positions: Positions) -> list[int]:
    data: list[int] = []
    last_line = last_start = 0
    for line, start, end, kind, modifiers in found:
        begin = positions.to_client(line, start)
        stop = positions.to_client(line, end)
        if stop.character <= begin.character:
            continue
        delta_line = begin.line - last_line
        delta_start = begin.character - (last_start if delta_line == 0 else 0)
        data += [
            delta_line,
            delta_start,
            stop.character - begin.character,
            TYPES.index(kind),
            modifiers,
        ]
        last_line, last_start = begin.line, begin.character
    return data
