"""From ``.rules`` text to the AST, with friendly syntax errors.

The Lark LALR parser is built once. Parsing and transforming are separate
steps (a transformer given to ``Lark`` gets no positions). Syntax errors
become :class:`Diagnostic` values; the parser resynchronises at the next
top-level item so one pass reports every broken rule of a file, not only the
first.

Comments are kept (:func:`parse_source`), for a formatter and a language
server: Lark hands each one to a lexer callback on the grammar's ``COMMENT``
terminal (its ``lexer_callbacks``), and the fast path finds the same ones.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal
from typing import Any

from attrs import field, frozen
from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.lexer import PatternStr

from rulec.dsl.diagnostics import CODES, Diagnostic, RulesSyntaxError
from rulec.dsl.fastparse import COMMENT, Driver
from rulec.dsl.nodes import And as AndNode
from rulec.dsl.nodes import (
    Between,
    Cap,
    Combinable,
    Comment,
    Compare,
    Condition,
    DateValue,
    Description,
    Enabled,
    EntityAction,
    Exclusive,
    FieldRef,
    FixedDiscount,
    HasAnyLabel,
    HasLabel,
    Ident,
    In,
    Is,
    Item,
    LabelAction,
    LabelDecl,
    Meta,
    Name,
    Not,
    Number,
    Or,
    PercentDiscount,
    Priority,
    Rule,
    SetField,
    Some,
    Span,
    String,
    Window,
    comment_at,
    name_at,
)

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NESTING",
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
#: Priorities are whole numbers within this bound.
MAX_PRIORITY = 1_000_000_000
#: Source lines longer than this are shortened around the column for display.
_DISPLAY_WIDTH = 160

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
            _diag(
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
            _diag(
                "R102",
                f"file is not valid UTF-8: byte 0x{data[e.start]:02x} at offset {e.start}",
                Span(file, line, column, line, column + 1),
                suggestion="save the file as UTF-8",
            )
        ]
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, []


def source_line(text: str, line: int, column: int = 1) -> str:
    """The ``line``-th line of ``text``, shortened around ``column`` if very long."""
    lines = text.splitlines() if text else []
    if not 1 <= line <= len(lines):
        return ""
    s = lines[line - 1]
    if len(s) > _DISPLAY_WIDTH:
        start = max(0, column - 1 - _DISPLAY_WIDTH // 2)
        s = s[start : start + _DISPLAY_WIDTH]
    return s


def _diag(
    code: str,
    message: str,
    span: Span,
    *,
    suggestion: str | None = None,
    text: str | None = None,
) -> Diagnostic:
    return Diagnostic(
        code,
        message,
        span,
        CODES[code][0],
        suggestion,
        source_line(text, span.line, span.column) if text is not None else None,
    )


def show(s: str, limit: int = 40) -> str:
    """Quote user text for a message: control and invisible characters escaped."""
    if len(s) > limit:
        s = s[:limit] + "…"
    out = []
    for ch in s:
        if ch.isprintable() and ch not in "\u200b\u200c\u200d\u2060\ufeff":
            out.append(ch)
        else:
            out.append(ascii(ch)[1:-1])
    return "'" + "".join(out) + "'"


# ------------------------------------------------------------ transform ---


def _tok_span(file: str, tok: Token) -> Span:
    return Span(file, tok.line or 1, tok.column or 1, tok.end_line or 1, tok.end_column or 1)


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


def _shared_zone(low: Any, high: Any) -> Any:
    """``between D1 and D2 ZONE``: the zone applies to D1 too, unless D1 has its own.

    As in a validity window (``from D1 until D2 ZONE``). A first date with a
    zone or a UTC offset of its own keeps it; anything that is not a valid
    date is left for the checker to report.
    """
    if not (
        isinstance(low, DateValue)
        and isinstance(high, DateValue)
        and low.zone is None
        and high.zone is not None
    ):
        return low
    try:
        if datetime.fromisoformat(low.text).tzinfo is not None:
            return low
    except ValueError:
        return low
    return DateValue(low.text, high.zone, span=low.span)


#: The value of a field written alone as a condition (``viewer is_agent``):
#: ``true`` to the compiler, told apart from a written ``true`` by the checker.
IMPLICIT_TRUE = "true"


class _Subject:
    """``for NAME`` after a rule's event, until the rule is built."""

    __slots__ = ("name",)

    def __init__(self, name: Name) -> None:
        self.name = name


@v_args(meta=True, inline=True)
class _ToAst(Transformer[Token, Any]):
    """Lark tree → AST nodes. Rule names match grammar rule names."""

    def __init__(self, file: str, text: str) -> None:
        super().__init__()
        self.file = file
        self.text = text
        self.diagnostics: list[Diagnostic] = []

    def _span(self, meta: Any) -> Span | None:
        if meta.empty:
            return None
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _string(self, tok: Token) -> str:
        raw = str(tok)[1:-1]
        if "\x00" in raw:
            self._nul(tok, raw)
        if "\\" not in raw:
            return raw
        out: list[str] = []
        i = 0
        while i < len(raw):
            ch = raw[i]
            if ch == "\\":
                nxt = raw[i + 1]
                if nxt in _ESCAPES:
                    out.append(_ESCAPES[nxt])
                else:
                    line = tok.line or 1
                    col = (tok.column or 1) + 1 + i
                    self.diagnostics.append(
                        _diag(
                            "R108",
                            f"unknown escape sequence {show(chr(92) + nxt)} in a string",
                            Span(self.file, line, col, line, col + 2),
                            suggestion='write \\\\ for a backslash and \\" for a quote',
                            text=self.text,
                        )
                    )
                    out.append(nxt)
                i += 2
            else:
                out.append(ch)
                i += 1
        return "".join(out)

    def _nul(self, tok: Token, raw: str) -> None:
        """R101 for a NUL inside quoted text: databases (PostgreSQL) cannot store it."""
        line = tok.line or 1
        col = (tok.column or 1) + 1 + raw.index("\x00")
        self.diagnostics.append(
            _diag(
                "R101",
                "unexpected character '\\x00' (NUL) in a quoted text",
                Span(self.file, line, col, line, col + 1),
                suggestion="remove it: a text with a NUL cannot be stored in the database",
                text=self.text,
            )
        )

    # names and values
    def name(self, meta: Any, tok: Token) -> Name:
        return Name(str(tok), span=_tok_span(self.file, tok))

    subject = name
    target = name
    target_word = name
    word = name

    def token_builders(self) -> dict[str, Callable[[str, int, int], Any]]:
        """For the fast parser: the one-token rules built from their text and position."""
        file = self.file

        def name(text: str, line: int, column: int) -> Name:
            return name_at(text, file, line, column)

        return {"name": name, "subject": name, "word": name, "target": name, "target_word": name}

    def zone(self, meta: Any, z: Token | Name) -> Name:
        if isinstance(z, Name):
            return z
        return Name(str(z), span=_tok_span(self.file, z))

    def number(self, meta: Any, tok: Token) -> Number:
        return Number(Decimal(str(tok)), span=_tok_span(self.file, tok))

    def string(self, meta: Any, tok: Token) -> String:
        return String(self._string(tok), span=_tok_span(self.file, tok))

    def ident(self, meta: Any, name: Name) -> Ident:
        return Ident(name.text, span=name.span)

    def date(self, meta: Any, tok: Token, zone: Name | None = None) -> DateValue:
        return DateValue(" ".join(str(tok).split()), zone, span=self._span(meta))

    # conditions
    def field(self, meta: Any, entity: Name, *words: Name) -> FieldRef:
        first, last = words[0].span, words[-1].span
        span = (
            Span(self.file, first.line, first.column, last.end_line, last.end_column)
            if first and last
            else None
        )
        return FieldRef(
            entity, Name("_".join(w.text for w in words), span=span), span=self._span(meta)
        )

    def or_(self, meta: Any, *ops: Condition) -> Condition:
        return ops[0] if len(ops) == 1 else Or(ops, span=self._span(meta))

    def and_(self, meta: Any, *ops: Condition) -> Condition:
        return ops[0] if len(ops) == 1 else AndNode(ops, span=self._span(meta))

    def not_(self, meta: Any, op: Condition) -> Condition:
        return Not(op, span=self._span(meta))

    def has_label(self, meta: Any, entity: Name, label: Name) -> HasLabel:
        return HasLabel(entity, label, span=self._span(meta))

    def lacks_label(self, meta: Any, entity: Name, label: Name) -> HasLabel:
        return HasLabel(entity, label, True, span=self._span(meta))

    def has_any_label(self, meta: Any, entity: Name, *labels: Name) -> HasAnyLabel:
        return HasAnyLabel(entity, labels, span=self._span(meta))

    def lacks_any_label(self, meta: Any, entity: Name, *labels: Name) -> HasAnyLabel:
        return HasAnyLabel(entity, labels, True, span=self._span(meta))

    def any_has_label(self, meta: Any, entity: Name, label: Name) -> Some:
        return Some(entity, HasLabel(entity, label, span=self._span(meta)), span=self._span(meta))

    def any_has_any_label(self, meta: Any, entity: Name, *labels: Name) -> Some:
        inner = HasAnyLabel(entity, labels, span=self._span(meta))
        return Some(entity, inner, span=self._span(meta))

    def any_compare(self, meta: Any, field: FieldRef, op: Token, value: Any) -> Some:
        return Some(field.entity, self.compare(meta, field, op, value), span=self._span(meta))

    def any_compare_is(self, meta: Any, field: FieldRef, is_: Token, value: Any) -> Some:
        return Some(field.entity, self.compare_is(meta, field, is_, value), span=self._span(meta))

    def any_compare_is_not(
        self, meta: Any, field: FieldRef, is_: Token, not_: Token, value: Any
    ) -> Some:
        inner = self.compare_is_not(meta, field, is_, not_, value)
        return Some(field.entity, inner, span=self._span(meta))

    def entity_is(self, meta: Any, entity: Name, is_: Token, value: Any) -> Is:
        return Is(entity, value, span=self._span(meta))

    def entity_is_not(self, meta: Any, entity: Name, is_: Token, not_: Token, value: Any) -> Is:
        return Is(entity, value, True, span=self._span(meta))

    def is_true(self, meta: Any, field: FieldRef) -> Compare:
        """``viewer is_agent``: short for ``viewer is_agent is true`` (the checker
        requires a true-or-false field and says how to compare any other)."""
        span = self._span(meta)
        return Compare(
            field,
            Name("=", span=span),
            Ident(IMPLICIT_TRUE, span=span),
            span=span,
        )

    def compare(self, meta: Any, field: FieldRef, op: Token, value: Any) -> Compare:
        return Compare(
            field, Name(str(op), span=_tok_span(self.file, op)), value, span=self._span(meta)
        )

    def compare_is(self, meta: Any, field: FieldRef, is_: Token, value: Any) -> Compare:
        return Compare(
            field, Name("=", span=_tok_span(self.file, is_)), value, span=self._span(meta)
        )

    def compare_is_not(
        self, meta: Any, field: FieldRef, is_: Token, not_: Token, value: Any
    ) -> Compare:
        return Compare(
            field, Name("!=", span=_tok_span(self.file, is_)), value, span=self._span(meta)
        )

    def in_(self, meta: Any, field: FieldRef, *values: Any) -> In:
        return In(field, values, span=self._span(meta))

    def not_in(self, meta: Any, field: FieldRef, *values: Any) -> In:
        return In(field, values, True, span=self._span(meta))

    def between(self, meta: Any, field: FieldRef, low: Any, high: Any) -> Between:
        return Between(field, _shared_zone(low, high), high, span=self._span(meta))

    def not_between(self, meta: Any, field: FieldRef, low: Any, high: Any) -> Between:
        return Between(field, _shared_zone(low, high), high, True, span=self._span(meta))

    # actions
    def actions(self, meta: Any, *acts: Any) -> tuple[Any, ...]:
        return acts

    def cap(self, meta: Any, amount: Token, currency: Name) -> Cap:
        return Cap(Decimal(str(amount)), currency, span=self._span(meta))

    def percent_discount(self, meta: Any, verb: Name, pct: Token, *rest: Any) -> PercentDiscount:
        cap = rest[0] if len(rest) == 2 else None
        title = self._string(rest[-1])
        return PercentDiscount(verb, Decimal(str(pct)[:-1]), title, cap, span=self._span(meta))

    def fixed_discount(
        self, meta: Any, verb: Name, amount: Token, currency: Name, title: Token
    ) -> FixedDiscount:
        return FixedDiscount(
            verb, Decimal(str(amount)), currency, self._string(title), span=self._span(meta)
        )

    def label_to(self, meta: Any, verb: Name, label: Name, entity: Name) -> LabelAction:
        return LabelAction(verb, label, "to", entity, span=self._span(meta))

    def label_from(self, meta: Any, verb: Name, label: Name, entity: Name) -> LabelAction:
        return LabelAction(verb, label, "from", entity, span=self._span(meta))

    def set_field(self, meta: Any, verb: Name, entity: Name, *rest: Any) -> SetField:
        *words, value = rest
        field = self.field(meta, entity, *words)
        first, last = entity.span, words[-1].span
        if first and last:
            field = FieldRef(
                field.entity,
                field.field,
                span=Span(self.file, first.line, first.column, last.end_line, last.end_column),
            )
        return SetField(verb, field, value, span=self._span(meta))

    def entity_action(self, meta: Any, verb: Name, entity: Name) -> EntityAction:
        return EntityAction(verb, entity, span=self._span(meta))

    # metadata
    def description(self, meta: Any, text: Token) -> Description:
        return Description(self._string(text), span=self._span(meta))

    def priority(self, meta: Any, tok: Token) -> Priority:
        digits = str(tok).lstrip("+-")
        value = int(str(tok)) if len(digits) <= 12 else MAX_PRIORITY + 1
        if abs(value) > MAX_PRIORITY:
            self.diagnostics.append(
                _diag(
                    "R206",
                    "priority must be a whole number between "
                    f"-{MAX_PRIORITY:,} and {MAX_PRIORITY:,}",
                    _tok_span(self.file, tok),
                    text=self.text,
                )
            )
            value = 0
        return Priority(value, span=self._span(meta))

    def enabled(self, meta: Any) -> Enabled:
        return Enabled(True, span=self._span(meta))

    def disabled(self, meta: Any) -> Enabled:
        return Enabled(False, span=self._span(meta))

    def exclusive(self, meta: Any) -> Exclusive:
        return Exclusive(span=self._span(meta))

    def combinable(self, meta: Any) -> Combinable:
        return Combinable(span=self._span(meta))

    def window_from(self, meta: Any, start: DateValue, end: DateValue | None = None) -> Window:
        return Window(start, end, span=self._span(meta))

    def window_until(self, meta: Any, end: DateValue) -> Window:
        return Window(None, end, span=self._span(meta))

    # top level
    def label_decl(self, meta: Any, *names: Name) -> LabelDecl:
        return LabelDecl(names[:-1], names[-1], span=self._span(meta))

    def for_subject(self, meta: Any, subject: Name) -> _Subject:
        return _Subject(subject)

    def rule(self, meta: Any, event: Name, *rest: Any) -> Rule:
        subject = rest[0].name if isinstance(rest[0], _Subject) else None
        rest = rest[1:] if subject is not None else rest
        condition = rest[0] if len(rest) == 2 else None
        return Rule(event, condition, rest[-1], subject=subject, span=self._span(meta))

    def block_rule(self, meta: Any, name: Token, *rest: Any) -> Rule:
        metas = [m for m in rest if isinstance(m, Meta)]
        tail = [x for x in rest if not isinstance(x, Meta)]
        subject = tail[1].name if isinstance(tail[1], _Subject) else None
        if subject is not None:
            del tail[1]
        event, actions = tail[0], tail[-1]
        condition = tail[1] if len(tail) == 3 else None
        return Rule(
            event,
            condition,
            actions,
            self._string(name),
            tuple(metas),
            subject=subject,
            span=self._span(meta),
        )

    def start(self, meta: Any, *items: Item) -> list[Item]:
        return list(items)


# --------------------------------------------------------------- errors ---

_WORDS = {
    "NAME": "a name",
    "STRING": "a quoted text",
    "NUMBER": "a number",
    "SIGNED_INT": "a whole number",
    "PERCENT": "a percentage such as 10%",
    "DATE": "a date such as 2026-11-27",
    "OP": "a comparison such as >=",
    "TZNAME": "a time zone",
    "$END": "the end of the file",
}


@functools.cache
def _terminal_words() -> dict[str, str]:
    words = dict(_WORDS)
    for t in _lark().terminals:
        if isinstance(t.pattern, PatternStr):
            words[t.name] = f"'{t.pattern.value}'"
    return words


def _expected(names: Iterable[str]) -> str:
    words = _terminal_words()
    shown = sorted({words.get(n, n.lower()) for n in names}, key=lambda w: (w[0] != "'", w))
    if len(shown) > 8:
        shown = [*shown[:8], "…"]
    return ", ".join(shown)


_EXAMPLES: dict[str, list[str]] = {
    "R103": [
        'on order_created when customer has label X discount 10% "x"',
        "on order_created when customer has label X add label Y to customer",
        'on order_created when order subtotal > 5 discount 10% "x"',
        'on order_created when order currency is EUR discount 10% "x"',
        'on order_created when customer has any label of A, B discount 10% "x"',
        'on order_created when (customer has label X) discount 10% "x"',
        'on order_created discount 10% "x"',
        'rule "r" on order_created when customer has label X discount 10% "x" end',
        'rule "r" on order_created discount 10% "x" end',
    ],
    "R104": [
        'on order_created then discount 10 "x"',
        'on order_created when customer has label X then discount 10 "x"',
        'on order_created then discount 10% "a", discount 10 "x"',
        'rule "r" on order_created then discount 10 "x" end',
    ],
    "R105": [
        "on order_created then discount 10% VIP",
        "on order_created then discount 10% up to 5.00 EUR VIP",
        "on order_created then discount 5.00 EUR VIP",
        'rule "r" on order_created then discount 10% VIP end',
        'rule "r" on order_created then discount 5.00 EUR VIP end',
        'rule r on order_created then discount 10% "x" end',
        'rule "r" description hello on order_created then discount 10% "x" end',
    ],
}


#: The same examples after a first item: Lark compares parser stacks, and the
#: stack is one deeper for every item after the first of a file.
_EXAMPLES_LATER = {
    code: [f"label Z for customer\n{ex}" for ex in exs] for code, exs in _EXAMPLES.items()
}


def _match_example(e: UnexpectedInput, parse: Callable[[str], Any]) -> str | None:
    # One code at a time: when an example of another code stops in the same
    # parser state with other accepted tokens, Lark 1.3's match_examples
    # fails formatting a debug message (TypeError), which must not hide a
    # match for this code.
    for examples in (_EXAMPLES, _EXAMPLES_LATER):
        for code, exs in examples.items():
            try:
                found = e.match_examples(parse, {code: exs}, use_accepts=True)
            except Exception:
                continue
            if found is not None:
                return str(found)
    return None


_FRIENDLY = {
    "R103": "missing 'then' before the actions",
    "R104": "an amount needs '%' for a percentage or a currency code for a fixed amount",
    "R105": "the description must be in double quotes",
}
_SUGGEST = {
    "R103": "write 'then' between the conditions and the actions",
    "R104": "write 10% for a percentage, or 10.00 EUR for a fixed amount",
    "R105": 'write it as "VIP New Order Discount"',
}


def _last_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def _error_diagnostic(e: UnexpectedInput, text: str, file: str) -> tuple[Diagnostic, int]:
    """Turn a Lark error into a diagnostic; also return its offset in ``text``."""
    if isinstance(e, UnexpectedCharacters):
        line, col, pos = e.line, e.column, int(e.pos_in_stream or 0)
        ch = text[pos] if 0 <= pos < len(text) else ""
        span = Span(file, line, col, line, col + 1)
        if ch == '"':
            return _diag(
                "R106",
                "unterminated string: the closing '\"' is missing on this line",
                span,
                suggestion='end the text with " on the same line',
                text=text,
            ), pos
        return _diag(
            "R101",
            f"unexpected character {show(ch)}",
            span,
            suggestion="rules may contain only words, numbers, quoted text and , ( ) % < > = !",
            text=text,
        ), pos

    tok = getattr(e, "token", None)
    at_end = isinstance(e, UnexpectedEOF) or (tok is not None and tok.type == "$END")
    if at_end or tok is None:
        line, col = _last_position(text)
        expected = getattr(e, "expected", None) or getattr(e, "accepts", None) or ()
        return _diag(
            "R107",
            "unexpected end of file: the last rule is incomplete",
            Span(file, line, col, line, col),
            suggestion=f"expected {_expected(expected)}" if expected else None,
            text=text,
        ), len(text)

    assert isinstance(e, UnexpectedToken)
    span = _tok_span(file, tok)
    pos = tok.start_pos if tok.start_pos is not None else 0
    code = _match_example(e, lambda s: _lark().parse(s))
    if code in _FRIENDLY:
        return _diag(code, _FRIENDLY[code], span, suggestion=_SUGGEST[code], text=text), pos
    expected = e.accepts or e.expected
    return _diag(
        "R100",
        f"unexpected {show(str(tok))}",
        span,
        suggestion=f"expected {_expected(expected)}",
        text=text,
    ), pos


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
                return _diag(
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
    t = _ToAst(file, text)
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
    t = _ToAst(file, text)
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
            _diag(
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
            diag, off = _error_diagnostic(e, text, file)
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
                    _diag(
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
