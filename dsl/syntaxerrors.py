"""Syntax diagnostics: Lark's errors turned into friendly ones, and their helpers.

``explain`` names the usual mistakes (a missing ``then``, a missing ``%``,
an unquoted description) from the parser state where Lark stopped, with
Lark's ``match_examples``, and says what was expected otherwise.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from rulec.dsl.diagnostics import CODES, Diagnostic
from rulec.dsl.nodes import Span

__all__ = ["diagnostic", "explain", "show", "source_line", "token_span"]


#: Source lines longer than this are shortened around the column for display.
_DISPLAY_WIDTH = 160


def token_span(file: str, tok: Token) -> Span:
    """Where a Lark token is in ``file``."""
    return Span(file, tok.line or 1, tok.column or 1, tok.end_line or 1, tok.end_column or 1)


def source_line(text: str, line: int, column: int = 1) -> str:
    """The ``line``-th line of ``text``, shortened around ``column`` if very long.

    Lines are counted as the parser counts them, at ``\n`` only (``str.splitlines``
    also splits at form feeds, ``\x1c`` to ``\x1e``, ``\x85`` and U+2028), and a
    CRLF file's ``\r`` is not part of the line.
    """
    if line < 1 or not text:
        return ""
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
        if not start:
            return ""
    end = text.find("\n", start)
    s = (text[start:] if end < 0 else text[start:end]).removesuffix("\r")
    if len(s) > _DISPLAY_WIDTH:
        start = max(0, column - 1 - _DISPLAY_WIDTH // 2)
        s = s[start : start + _DISPLAY_WIDTH]
    return s


def diagnostic(
    code: str,
    message: str,
    span: Span,
    *,
    suggestion: str | None = None,
    text: str | None = None,
) -> Diagnostic:
    """A diagnostic with the code's severity and, given the file's ``text``, its source line."""
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
def _terminal_words(lark: Lark) -> dict[str, str]:
    words = dict(_WORDS)
    for t in lark.terminals:
        if isinstance(t.pattern, PatternStr):
            words[t.name] = f"'{t.pattern.value}'"
    return words


def _expected(names: Iterable[str], lark: Lark) -> str:
    words = _terminal_words(lark)
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


def explain(e: UnexpectedInput, text: str, file: str, lark: Lark) -> tuple[Diagnostic, int]:
    """Turn a Lark error from ``lark`` into a diagnostic; also return its offset in ``text``."""
    if isinstance(e, UnexpectedCharacters):
        line, col, pos = e.line, e.column, int(e.pos_in_stream or 0)
        ch = text[pos] if 0 <= pos < len(text) else ""
        span = Span(file, line, col, line, col + 1)
        if ch == '"':
            return diagnostic(
                "R106",
                "unterminated string: the closing '\"' is missing on this line",
                span,
                suggestion='end the text with " on the same line',
                text=text,
            ), pos
        return diagnostic(
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
        return diagnostic(
            "R107",
            "unexpected end of file: the last rule is incomplete",
            Span(file, line, col, line, col),
            suggestion=f"expected {_expected(expected, lark)}" if expected else None,
            text=text,
        ), len(text)

    assert isinstance(e, UnexpectedToken)
    span = token_span(file, tok)
    pos = tok.start_pos if tok.start_pos is not None else 0
    code = _match_example(e, lambda s: lark.parse(s))
    if code in _FRIENDLY:
        return diagnostic(code, _FRIENDLY[code], span, suggestion=_SUGGEST[code], text=text), pos
    expected = e.accepts or e.expected
    return diagnostic(
        "R100",
        f"unexpected {show(str(tok))}",
        span,
        suggestion=f"expected {_expected(expected, lark)}",
        text=text,
    ), pos
