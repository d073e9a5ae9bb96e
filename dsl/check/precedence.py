"""'and' and 'or' mixed without parentheses (R312, a warning).

``customer has label A or customer has label B and order subtotal >= 100.00``
means ``A or (B and …)``: ``and`` binds first, as in most languages, but
analysts read such a line both ways. The rule is valid, so this is a lint:
the warning says how the condition binds and shows both bracketings,
rewritten from the user's own text, so that adding the parentheses is a
copy and a paste.
"""

from __future__ import annotations

import re

from rulec.dsl.check.context import Context, walk
from rulec.dsl.nodes import And, Condition, Or

__all__ = ["stage_precedence"]


def stage_precedence(ctx: Context) -> None:
    """R312: an 'or' with an 'and' among its operands that has no parentheses of its own."""
    for rule in ctx.rules:
        if not isinstance(rule.condition, And | Or):
            continue  # the common case: one test, no mix
        for c in walk(rule.condition):
            if not isinstance(c, Or):
                continue
            bare = [_bare(ctx, c, k) for k in range(len(c.operands))]
            if not any(b is True for b in bare):
                continue
            message, suggestion = _message(ctx, c, bare)
            ctx.report("R312", message, c.span, suggestion)


def _bare(ctx: Context, parent: Or, k: int) -> bool | None:
    """Whether ``parent``'s operand ``k`` is an 'and' written without parentheses
    (None: it is an 'and' between two others, and the text is not at hand to tell).

    A node's span runs from its first word to its last, the parentheses around
    its own parts included but not its own: those belong to its parent. So the
    first operand is bare when the 'or' starts where it starts, the last when
    the 'or' ends where it ends; one between two others when no opening
    parenthesis is written between the operand before it and it.
    """
    op = parent.operands[k]
    if not isinstance(op, And) or op.span is None or parent.span is None:
        return False
    start, end = parent.span, op.span
    if k == 0:
        return (start.line, start.column) == (end.line, end.column)
    if k == len(parent.operands) - 1:
        return (start.end_line, start.end_column) == (end.end_line, end.end_column)
    before = parent.operands[k - 1].span
    text = ctx.texts.get(op.span.file)
    if text is None or before is None:
        return None
    gap = text[
        ctx.offset(op.span.file, before.end_line, before.end_column) : ctx.offset(
            op.span.file, op.span.line, op.span.column
        )
    ]
    return "(" not in _COMMENT.sub("", gap)


_COMMENT = re.compile(r"#[^\n]*")
_SPACE = re.compile(r"\s+")
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\s+|[^"#\s]+|.')


def _words(ctx: Context, c: Condition) -> str | None:
    """The text of ``c`` as written, on one line, without comments."""
    text = ctx.source(c.span)
    if text is None:
        return None
    if '"' not in text and "#" not in text:
        return _SPACE.sub(" ", text).strip()
    parts: list[str] = []
    for tok in _TOKEN.findall(text):  # quoted texts kept as they are
        if tok.startswith("#"):
            continue
        if tok.isspace():
            if parts and parts[-1] != " ":
                parts.append(" ")
        else:
            parts.append(tok)
    return "".join(parts).strip()


def _piece(ctx: Context, c: Condition) -> str | None:
    """An operand as a piece of a rewritten condition: in parentheses when it is
    itself an 'and' or an 'or' (which were written in parentheses)."""
    words = _words(ctx, c)
    if words is None:
        return None
    return f"({words})" if isinstance(c, And | Or) else words


def _message(ctx: Context, c: Or, bare: list[bool | None]) -> tuple[str, str]:
    """R312's message and suggestion: how ``c`` binds, and both bracketings."""
    # the condition as a flat run of pieces and the words between them
    pieces: list[str] = []
    joins: list[str] = []
    for k, op in enumerate(c.operands):
        if k:
            joins.append("or")
        parts = list(op.operands) if isinstance(op, And) and bare[k] else [op]
        for n, part in enumerate(parts):
            if n:
                joins.append("and")
            piece = _piece(ctx, part)
            if piece is None:
                return (
                    "'and' and 'or' are mixed without parentheses: 'and' binds first",
                    "add parentheses around the tests that go together",
                )
            pieces.append(piece)
    as_written = _bracket(pieces, joins, first="and")
    other = _bracket(pieces, joins, first="or")
    return (
        "'and' and 'or' are mixed without parentheses; 'and' binds first, so this reads as "
        + as_written,
        f"write these parentheses to keep that meaning, or write {other} if that is what is meant",
    )


def _bracket(pieces: list[str], joins: list[str], *, first: str) -> str:
    """``pieces`` joined by ``joins``, the ``first`` word binding first and its
    groups in parentheses: the reading with 'and' first, or with 'or' first."""
    later = "or" if first == "and" else "and"
    groups: list[list[str]] = [[pieces[0]]]
    for word, piece in zip(joins, pieces[1:], strict=True):
        if word == first:
            groups[-1].append(piece)
        else:
            groups.append([piece])
    return f" {later} ".join(f"({f' {first} '.join(g)})" if len(g) > 1 else g[0] for g in groups)
