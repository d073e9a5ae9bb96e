"""From ``.rules`` text to the AST, with friendly syntax errors.

The Lark LALR parser is built once. Parsing and transforming are separate
steps (a transformer given to ``Lark`` gets no positions;
:mod:`rulec.dsl.transform`). Text is parsed on the fast path
(:mod:`rulec.dsl.fastparse`) up to a syntax error; the Lark parser reads
only the item with the error and says what is wrong, as a
:class:`Diagnostic` (:mod:`rulec.dsl.syntaxerrors`), and the parser
resynchronises at the next top-level item, so one pass reports every broken
rule of a file, not only the first. Without the fast driver (a Lark it cannot
read) the Lark parser reads everything, with the same results.

Comments are kept (:func:`parse_source`), for a formatter and a language
server: Lark hands each one to a lexer callback on the grammar's ``COMMENT``
terminal (its ``lexer_callbacks``), and the fast path finds the same ones.
"""

from __future__ import annotations

import bisect
import functools
import logging
import re
from contextvars import ContextVar

from attrs import field, frozen
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput, VisitError
from lark.lexer import PatternStr

from rulec.dsl.diagnostics import Diagnostic, RulesSyntaxError
from rulec.dsl.fastparse import COMMENT, Driver, Run
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
    "keywords",
    "keywords_after",
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


@functools.cache
def keywords() -> tuple[str, ...]:
    """The grammar's keywords (``on``, ``when``, ``has``, ``expect``…), sorted: the
    words its terminals spell, read from the grammar itself so that a tool
    listing them (an editor's completion and highlighting) cannot drift from it."""
    return tuple(
        sorted(
            {
                t.pattern.value
                for t in _lark().terminals
                if isinstance(t.pattern, PatternStr) and t.pattern.value.isalpha()
            }
        )
    )


def keywords_after(text: str) -> tuple[tuple[str, ...], bool] | None:
    """What the grammar accepts after ``text``, the start of an item up to a cursor:
    the keywords, and whether a name (an event, entity, field, label…) may come
    next. None when ``text`` has a syntax error before its end."""
    lark = _lark()
    try:
        parser = lark.parse_interactive(text)
        parser.exhaust_lexer()
        accepted = parser.accepts()
    except UnexpectedInput:
        return None
    words = {
        t.name: t.pattern.value
        for t in lark.terminals
        if isinstance(t.pattern, PatternStr) and t.pattern.value.isalpha()
    }
    return tuple(sorted(words[n] for n in accepted if n in words)), "NAME" in accepted


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

#: Where an item may start, for recovery: a line starting with ``rule``,
#: ``label`` or ``test``, or ``on`` or ``group`` in the first column; in any capitals,
#: and ``if`` for ``on``, so that a rule written ``On …`` after a broken one is
#: reported too.
_RESYNC = re.compile(r"^(?:[ \t]*(?i:rule|label|test)\b|(?i:on|if|group)\b)", re.MULTILINE)
#: An item start as the grammar has it: an error there means the item before
#: did not end (an error at ``On`` is the item's own, reported once).
_START = re.compile(r"^(?:[ \t]*(?:rule|label|test)\b|(?:on|group)\b)", re.MULTILINE)


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
                    at=getattr(m, "start_pos", None),
                )
        stack.extend((c, depth) for c in node.children if isinstance(c, Tree))
    return None


def _parse_tree(
    text: str, file: str, comments: list[Comment] | None = None, source: str | None = None
) -> tuple[list[Item], list[Diagnostic]]:
    """Parse a whole (possibly masked) text; raise UnexpectedInput on syntax errors.

    ``comments`` receives the comments Lark read, up to the error if it
    raises. ``source`` is the file's own text, for the source lines of the
    diagnostics, when ``text`` is a region of it with the rest blanked.
    """
    sink: list[Token] | None = [] if comments is not None else None
    reset = _COMMENT_SINK.set(sink)
    try:
        tree = _lark().parse(text)
    finally:
        _COMMENT_SINK.reset(reset)
        if comments is not None and sink:
            comments.extend(_comment(file, str(c), c.line or 1, c.column or 1) for c in sink)
    source = text if source is None else source
    # drop only the items nested too deep: the others are still checked
    deep = [(c, _nesting_error(c, file, source)) for c in tree.children if isinstance(c, Tree)]
    tree.children = [c for c, d in deep if d is None]
    t = ToAst(file, source)
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
    """Clean input through the fast driver alone; None when the Lark parser has
    something to report (a syntax error, conditions nested too deep).

    ``comments`` receives the file's comments (nothing when it returns None).
    """
    driver = _driver()
    if driver is None:
        return None
    t = ToAst(file, text)
    found: list[tuple[str, int, int]] | None = [] if comments is not None else None
    run = driver.run(text, t, MAX_NESTING, found)
    if run.failed_at is not None or run.deep:
        return None
    if comments is not None and found:
        comments.extend(_comment(file, *c) for c in found)
    diagnostics = sorted(t.diagnostics, key=lambda d: (d.span.line, d.span.column))
    return run.items, diagnostics


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
    column, in any capitals) and goes on, up to :data:`MAX_SYNTAX_ERRORS` errors.
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
    if _driver() is not None:
        return _parse_fast(text, file, comments)
    return _parse_lark(text, file, comments)


def _parse_lark(
    text: str, file: str, comments: list[Comment] | None
) -> tuple[list[Item], list[Diagnostic]]:
    """The Lark parser alone (:func:`_parse_slow`), each comment kept once."""
    # a region is parsed again after an error, so a comment may be read twice
    found: list[Comment] | None = [] if comments is not None else None
    parsed = _parse_slow(text, file, found)
    if comments is not None and found:
        _add_unique(comments, found)
    return parsed


def _add_unique(comments: list[Comment], found: list[Comment]) -> None:
    """Add ``found`` to ``comments`` in the order of the file, each comment once."""
    unique = {(c.span.line, c.span.column): c for c in found if c.span is not None}
    comments.extend(unique[k] for k in sorted(unique))


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
        masked = _mask(text, pos, len(text)) if pos else text
        try:
            got, ds = _parse_tree(masked, file, comments)
        except UnexpectedInput as e:
            diag, off = explain(e, text, file, _lark(), masked)
            diagnostics.append(diag)
            errors += 1
            resume: int | None
            if off in starts and _START.match(text, off):
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
                        at=resume,
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


# ------------------------------------------ the fast path, with errors ---
#
# _parse_slow parses the whole text with Lark, and after each error parses
# again from the item where the error is (to keep the items before it) and
# from the next item start. _parse_fast gives exactly the same items,
# diagnostics and comments while the Lark parser reads only the item with
# the error and the one before it; the fast driver reads all the rest, once.
# Why each step is the same as _parse_slow's:
#
# - Lark from ``pos`` fails where the driver fails: both run the same tables
#   with the same scanners, and the items before are clean input, on which
#   the two are held equal. Its diagnostic depends on the parser state at the
#   error, which is the same whether Lark starts at ``pos`` or one item before
#   the one with the error: after one item or many, the stack of a file's
#   items is the same (the items' rule is left-recursive). So Lark parses
#   from the item before (or from ``pos`` when the error is in the first).
# - The items between ``pos`` and the item start where recovery cuts
#   (``fail_start``) are those the driver parsed before it, plus what the
#   text from the last item start before ``fail_start`` to ``fail_start``
#   parses to (less than an item, or one, read again by the driver). A parse
#   that fails there keeps nothing, as Lark's does.
# - The comments Lark reads are those up to the error token; the driver's run
#   read the same ones up to the item before, and Lark the rest.
# - An item nested too deep is parsed whole by the driver and marked; Lark
#   parses that item alone for its R111.
#
# Where the driver and Lark would disagree about a failure, the code falls
# back to doing exactly what _parse_slow does for that step.


def _region(text: str, start: int, stop: int | None = None) -> str:
    """``text[start:stop]`` with the text before it blank: positions stay the file's.

    The same lines and columns as :func:`_mask` gives, at a fraction of the
    cost: the blank head is one run of spaces and newlines, and nothing is
    kept after ``stop``.
    """
    if start == 0:
        return text if stop is None else text[:stop]
    newlines = text.count("\n", 0, start)
    if newlines:
        last = text.rindex("\n", 0, start)
        head = " " * (last + 1 - newlines) + "\n" * newlines + " " * (start - last - 1)
    else:
        head = " " * start
    return head + text[start:stop]


def _last_start(text: str, low: int, high: int) -> int | None:
    """The last offset in ``[low, high]`` where :data:`_RESYNC` matches (a line start)."""
    i = high
    while i >= low:
        line = text.rfind("\n", 0, i) + 1
        if line < low:
            return None
        if _RESYNC.match(text, line):
            return line
        i = line - 1
    return None


def _resync(text: str, pos: int, off: int) -> tuple[int, int | None]:
    """Where _parse_slow cuts (``fail_start``) and resumes after an error at ``off``."""
    if _START.match(text, off):  # an item start: the error is that the previous did not end
        before = _last_start(text, pos, off - 1)
        return (pos if before is None else before), off
    before = _last_start(text, pos, off)
    after = _RESYNC.search(text, off + 1)
    return (pos if before is None else before), (after.start() if after else None)


class _Settled:
    """A run's items in the form _parse_tree returns them, the deep ones replaced by R111."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.transformed: list[Diagnostic] = []
        self.deep: list[Diagnostic] = []

    def add(
        self, run: Run, diagnostics: list[Diagnostic], count: int, stop: int, text: str, file: str
    ) -> _Settled:
        """Add the first ``count`` items of ``run`` (``stop``: where the region ends)."""
        marks = run.diagnostic_marks
        upto = marks[count] if count < len(marks) else len(diagnostics)
        if not run.deep:
            self.items.extend(run.items[:count])
            self.transformed.extend(diagnostics[:upto])
            return self
        for i in range(count):
            after = marks[i + 1] if i + 1 < len(marks) else len(diagnostics)
            if i not in run.deep:
                self.items.append(run.items[i])
                self.transformed.extend(diagnostics[marks[i] : after])
                continue
            end = run.starts[i + 1] if i + 1 < len(run.starts) else stop
            _, ds = _parse_tree(_region(text, run.starts[i], end), file, None, text)
            self.deep.extend(ds)
        return self

    def into(self, items: list[Item], diagnostics: list[Diagnostic]) -> None:
        items.extend(self.items)
        diagnostics.extend(self.transformed + self.deep)


class _Read:
    """What the Lark parser makes of the text from ``begin`` on: the items (no
    error), or the diagnostic of its first error and that error's offset."""

    __slots__ = ("begin", "comments", "diagnostics", "error", "items")

    def __init__(self, text: str, file: str, begin: int, comments: bool) -> None:
        self.begin = begin
        #: the comments Lark read (up to the error), when wanted
        self.comments: list[Comment] | None = [] if comments else None
        self.items: list[Item] = []
        self.diagnostics: list[Diagnostic] = []
        self.error: tuple[Diagnostic, int] | None = None
        masked = _region(text, begin)
        try:
            self.items, self.diagnostics = _parse_tree(masked, file, self.comments, text)
        except UnexpectedInput as e:
            self.error = explain(e, text, file, _lark(), masked)


def _parse_fast(
    text: str, file: str, comments: list[Comment] | None
) -> tuple[list[Item], list[Diagnostic]]:
    """:func:`parse_collect` with the fast driver, and the Lark parser only around errors.

    Gives what :func:`_parse_lark` gives: the same items, diagnostics and
    comments (the notes above say why).
    """
    driver = _driver()
    assert driver is not None
    items: list[Item] = []
    diagnostics: list[Diagnostic] = []
    found: list[Comment] | None = [] if comments is not None else None
    pos = 0
    errors = 0
    while True:
        t = ToAst(file, text)
        seen: list[tuple[str, int, int]] | None = [] if found is not None else None
        run = driver.run(text, t, MAX_NESTING, seen, pos)
        if run.failed_at is None:
            _Settled().add(run, t.diagnostics, len(run.items), len(text), text, file).into(
                items, diagnostics
            )
            if found is not None and seen:
                found.extend(_comment(file, *c) for c in seen)
            break
        # Lark, from the item before the one the driver stopped in, says what is wrong
        k = len(run.items)
        read = _Read(text, file, run.starts[k - 1] if k else pos, found is not None)
        failing = run.starts[k] if k < len(run.starts) else run.failed_at
        trusted = read.error is None or read.error[1] >= failing or read.begin == pos
        if not trusted:  # Lark stopped before the driver did: do as _parse_slow does
            read = _Read(text, file, pos, found is not None)
        if found is not None and seen is not None and read.comments is not None:
            if read.begin > pos:  # the comments before, as the driver read them
                found.extend(_comment(file, *c) for c in seen[: run.comment_marks[k - 1]])
            found.extend(read.comments)
        if read.error is None:  # Lark takes what the driver stopped at: so would it from pos
            if read.begin > pos:
                _Settled().add(run, t.diagnostics, k - 1, read.begin, text, file).into(
                    items, diagnostics
                )
            items.extend(read.items)
            diagnostics.extend(read.diagnostics)
            break
        diag, off = read.error
        diagnostics.append(diag)
        errors += 1
        fail_start, resume = _resync(text, pos, off)
        if fail_start > pos:
            _before(driver, run, t.diagnostics, text, file, fail_start, trusted).into(
                items, diagnostics
            )
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
                    at=resume,
                )
            )
            break
        pos = resume
    diagnostics.sort(key=lambda d: (d.span.line, d.span.column))
    if comments is not None and found:
        _add_unique(comments, found)
    return items, diagnostics


def _before(
    driver: Driver,
    run: Run,
    diagnostics: list[Diagnostic],
    text: str,
    file: str,
    fail_start: int,
    trusted: bool,
) -> _Settled:
    """What Lark gives for the text from ``run``'s start to ``fail_start``: the
    items there, or nothing if that text does not parse.

    ``run`` stopped at the error, so it knows the items before it; unless
    Lark found the error elsewhere (not ``trusted``, or beyond where the run
    stopped): then the driver parses that text again.
    """
    settled = _Settled()
    assert run.failed_at is not None
    if not trusted or fail_start > run.failed_at:
        begin = run.start
    else:
        j = bisect.bisect_left(run.starts, fail_start)  # the item starts before fail_start
        if j == 0:  # only spaces and comments
            return settled
        begin = run.starts[j - 1]
        settled.add(run, diagnostics, j - 1, begin, text, file)
    t = ToAst(file, text)
    rest = driver.run(text, t, MAX_NESTING, None, begin, fail_start)
    if rest.failed_at is not None:
        return _Settled()
    return settled.add(rest, t.diagnostics, len(rest.items), fail_start, text, file)


def parse(text: str, file: str = "<string>") -> tuple[Item, ...]:
    """Parse ``text`` into top-level items; raise :class:`RulesSyntaxError`."""
    items, diagnostics = parse_collect(text, file)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise RulesSyntaxError(errors)
    return tuple(items)
