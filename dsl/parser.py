"""From ``.rules`` text to the AST, with friendly syntax errors.

The Lark LALR parser is built once. Parsing and transforming are separate
steps (a transformer given to ``Lark`` gets no positions;
:mod:`rulec.dsl.transform`). Clean input takes the fast path
(:mod:`rulec.dsl.fastparse`); on anything else, syntax errors become
:class:`Diagnostic` values (:mod:`rulec.dsl.syntaxerrors`) and the parser
resynchronises at the next top-level item, so one pass reports every broken
rule of a file, not only the first.

Comments are kept (:func:`parse_source`), for a formatter and a language
server: Lark hands each one to a lexer callback on the grammar's ``COMMENT``
terminal (its ``lexer_callbacks``), and the fast path finds the same ones.
"""

from __future__ import annotations

import functools
import logging
import re
from contextvars import ContextVar

from attrs import field, frozen
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput, VisitError

from rulec.dsl.diagnostics import Diagnostic, RulesSyntaxError
from rulec.dsl.fastparse import COMMENT, Driver
from rulec.dsl.nodes import Comment, Item, Span, comment_at
from rulec.dsl.syntaxerrors import diagnostic, explain, source_line
from rulec.dsl.transform import MAX_PRIORITY, ToAst

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NESTING",
    "MAX_PRIORITY",
    "MAX_SYNTAX_ERRORS",
    "Parsed",
    "decode_source",
    "parse",
    "parse_collect",
    "parse_source",
    "source_line",
]

#: Larger files are refused with R110 before parsing.
MAX_FILE_BYTES = 16 * 1024 * 1024
#: Conditions nested deeper than this (parentheses or ``not``) get R111.
MAX_NESTING = 32
#: After this many syntax errors in one file the parser stops with R113.
MAX_SYNTAX_ERRORS = 20

logger = logging.getLogger("rulec.dsl")


#: Where the comment callback puts the comment tokens of the parse under way
#: (None: not collecting). The Lark parser is shared; each thread and task
#: sees its own sink.
_COMMENT_SINK: ContextVar[list[Token] | None] = ContextVar("rulec_comments", default=None)


def _keep_comment(token: Token) -> Token:
    """Lark's lexer callback on ``COMMENT``: keep the token, if a parse asks for comments."""
    sink = _COMMENT_SINK.get()
    if sink is not None:
        sink.append(token)
    return token


@functools.cache
def _lark() -> Lark:
    return Lark.open_from_package(
        "rulec.grammar",
        "rules.lark",
        ("",),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=False,
        lexer_callbacks={COMMENT: _keep_comment},
    )


def _comment(file: str, text: str, line: int, column: int) -> Comment:
    """A comment as both paths build it: the text without a CRLF file's ``\\r``."""
    return comment_at(text.removesuffix("\r"), file, line, column)


# ------------------------------------------------------------- decoding ---


def decode_source(data: bytes, file: str) -> tuple[str | None, list[Diagnostic]]:
    """Decode a file's bytes: UTF-8, an optional byte-order mark, size limit."""
    if len(data) > MAX_FILE_BYTES:
        return None, [
            diagnostic(
                "R110",
                f"file is {len(data):,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes",
                Span(file, 1, 1, 1, 1),
                suggestion="split the rules into several files",
            )
        ]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        # positions count from after a byte-order mark, as for every other diagnostic
        bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        before = data[bom : e.start]
        line = before.count(b"\n") + 1
        col_bytes = before[before.rfind(b"\n") + 1 :]
        column = len(col_bytes.decode("utf-8", errors="replace")) + 1
        return None, [
            diagnostic(
                "R102",
                f"file is not valid UTF-8: byte 0x{data[e.start]:02x} at offset {e.start}",
                Span(file, line, column, line, column + 1),
                suggestion="save the file as UTF-8",
            )
        ]
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, []


# -------------------------------------------------------------- parsing ---

_RESYNC = re.compile(r"^(?:[ \t]*(?:rule|label)\b|on\b)", re.MULTILINE)


def _mask(text: str, start: int, end: int) -> str:
    """``text`` with everything outside ``[start, end)`` blanked, newlines kept."""
    head = re.sub(r"[^\n]", " ", text[:start])
    tail = re.sub(r"[^\n]", " ", text[end:])
    return head + text[start:end] + tail


def _nesting_error(tree: Tree[Token], file: str, text: str) -> Diagnostic | None:
    # every condition is wrapped in one or_ node: that one is level 0, not 1
    stack: list[tuple[Tree[Token], int]] = [(tree, -1)]
    while stack:
        node, depth = stack.pop()
        if node.data in ("or_", "not_"):
            depth += 1
            if depth > MAX_NESTING:
                m = node.meta
                span = Span(file, m.line, m.column, m.end_line, m.end_column)
                return diagnostic(
                    "R111",
                    f"conditions are nested more than {MAX_NESTING} levels deep",
                    span,
                    suggestion="split the condition into simpler rules",
                    text=text,
                )
        stack.extend((c, depth) for c in node.children if isinstance(c, Tree))
    return None


def _parse_tree(
    text: str, file: str, comments: list[Comment] | None = None
) -> tuple[list[Item], list[Diagnostic]]:
    """Parse a whole (possibly masked) text; raise UnexpectedInput on syntax errors.

    ``comments`` receives the comments Lark read, up to the error if it
    raises.
    """
    sink: list[Token] | None = [] if comments is not None else None
    reset = _COMMENT_SINK.set(sink)
    try:
        tree = _lark().parse(text)
    finally:
        _COMMENT_SINK.reset(reset)
        if comments is not None and sink:
            comments.extend(_comment(file, str(c), c.line or 1, c.column or 1) for c in sink)
    # drop only the items nested too deep: the others are still checked
    deep = [(c, _nesting_error(c, file, text)) for c in tree.children if isinstance(c, Tree)]
    tree.children = [c for c, d in deep if d is None]
    t = ToAst(file, text)
    try:
        items = t.transform(tree)
    except VisitError as e:  # pragma: no cover - the transformer raises nothing itself
        raise e.orig_exc from None
    return items, t.diagnostics + [d for _, d in deep if d is not None]


@functools.cache
def _driver() -> Driver | None:
    """The fast driver, or None when it cannot read this Lark's tables.

    The driver reads Lark's parse table and scanners, which are not a public
    API; with a Lark whose internals differ, rulec parses with Lark alone
    (slower, same results) instead of failing.
    """
    try:
        return Driver(_lark())
    except Exception as e:  # e.g. AttributeError from another Lark version
        logger.warning("fast parser unavailable, parsing with Lark only: %r", e)
        return None


def _fast_parse(
    text: str, file: str, comments: list[Comment] | None = None
) -> tuple[list[Item], list[Diagnostic]] | None:
    """Clean input through the fast driver; None when the Lark path must report errors.

    ``comments`` receives the file's comments (nothing when it returns None).
    """
    driver = _driver()
    if driver is None:
        return None
    t = ToAst(file, text)
    found: list[tuple[str, int, int]] | None = [] if comments is not None else None
    items = driver.parse(text, t, MAX_NESTING, found)
    if items is None:
        return None
    if comments is not None and found:
        comments.extend(_comment(file, *c) for c in found)
    diagnostics = sorted(t.diagnostics, key=lambda d: (d.span.line, d.span.column))
    return items, diagnostics


@frozen
class Parsed:
    """One file's parse: the items that parsed, its comments, its syntax diagnostics."""

    items: list[Item]
    comments: tuple[Comment, ...] = field(converter=tuple)
    diagnostics: list[Diagnostic]


def parse_source(text: str, file: str = "<string>") -> Parsed:
    """Parse ``text`` as :func:`parse_collect` does, keeping its comments too.

    In a file with syntax errors, the comments from an error to the next
    item are not kept: the parser skips that text.
    """
    comments: list[Comment] = []
    items, diagnostics = _parse(text, file, comments)
    return Parsed(items, comments, diagnostics)


def parse_collect(text: str, file: str = "<string>") -> tuple[list[Item], list[Diagnostic]]:
    """Parse ``text``; return the items that parsed and every syntax diagnostic.

    On a syntax error the parser reports it, skips to the next top-level
    item (a line starting with ``rule`` or ``label``, or ``on`` in the first
    column) and goes on, up to :data:`MAX_SYNTAX_ERRORS` errors.
    """
    return _parse(text, file, None)


def _parse(
    text: str, file: str, comments: list[Comment] | None
) -> tuple[list[Item], list[Diagnostic]]:
    """:func:`parse_collect`, the comments (when wanted) put in ``comments``."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if len(text) > MAX_FILE_BYTES:
        return [], [
            diagnostic(
                "R110",
                f"file has {len(text):,} characters, over the limit of {MAX_FILE_BYTES:,}",
                Span(file, 1, 1, 1, 1),
                suggestion="split the rules into several files",
            )
        ]
    fast = _fast_parse(text, file, comments)
    if fast is not None:
        return fast
    # the Lark path: a region is parsed again after an error, so a comment
    # may be read twice
    found: list[Comment] | None = [] if comments is not None else None
    parsed = _parse_slow(text, file, found)
    if comments is not None and found:
        unique = {(c.span.line, c.span.column): c for c in found if c.span is not None}
        comments.extend(unique[k] for k in sorted(unique))
    return parsed


def _parse_slow(
    text: str, file: str, comments: list[Comment] | None
) -> tuple[list[Item], list[Diagnostic]]:
    """The Lark path of :func:`parse_collect`, with error recovery."""
    items: list[Item] = []
    diagnostics: list[Diagnostic] = []
    starts = [m.start() for m in _RESYNC.finditer(text)]
    pos = 0
    errors = 0
    while True:
        try:
            got, ds = _parse_tree(_mask(text, pos, len(text)) if pos else text, file, comments)
        except UnexpectedInput as e:
            diag, off = explain(e, text, file, _lark())
            diagnostics.append(diag)
            errors += 1
            resume: int | None
            if off in starts:
                fail_start = max((s for s in starts if pos <= s < off), default=pos)
                resume = off
            else:
                fail_start = max((s for s in starts if pos <= s <= off), default=pos)
                resume = min((s for s in starts if s > off), default=None)
            if fail_start > pos:
                try:
                    got, ds = _parse_tree(_mask(text, pos, fail_start), file, comments)
                    items.extend(got)
                    diagnostics.extend(ds)
                except UnexpectedInput:
                    pass
            if resume is None or resume <= pos:
                break
            if errors >= MAX_SYNTAX_ERRORS:
                line = text.count("\n", 0, resume) + 1
                diagnostics.append(
                    diagnostic(
                        "R113",
                        f"stopped after {MAX_SYNTAX_ERRORS} syntax errors",
                        Span(file, line, 1, line, 1),
                        text=text,
                    )
                )
                break
            pos = resume
        else:
            items.extend(got)
            diagnostics.extend(ds)
            break
    diagnostics.sort(key=lambda d: (d.span.line, d.span.column))
    return items, diagnostics


def parse(text: str, file: str = "<string>") -> tuple[Item, ...]:
    """Parse ``text`` into top-level items; raise :class:`RulesSyntaxError`."""
    items, diagnostics = parse_collect(text, file)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise RulesSyntaxError(errors)
    return tuple(items)
