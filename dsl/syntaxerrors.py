"""Syntax diagnostics: Lark's errors turned into friendly ones, and their helpers.

``explain`` names the usual mistakes (a missing ``then``, a missing ``%``,
an unquoted description) from the parser state where Lark stopped, with
Lark's ``match_examples``; an action whose shape the grammar does not know
(``discount cheapest item "3 for 2"``) with what its verb takes and the
action rewritten from the user's words; and says what was expected
otherwise.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from rulec.dsl.diagnostics import CODES, Diagnostic
from rulec.dsl.habits import diagnose
from rulec.dsl.nodes import Span
from rulec.dsl.pasted import Found
from rulec.dsl.quoting import unquoted, unterminated
from rulec.dsl.values import suggest
from rulec.dsl.verbs import ACTIONS

__all__ = ["diagnostic", "explain", "show", "source_line", "token_span"]


#: Source lines longer than this are shortened around the column for display.
_DISPLAY_WIDTH = 160


def token_span(file: str, tok: Token) -> Span:
    """Where a Lark token is in ``file``."""
    return Span(file, tok.line or 1, tok.column or 1, tok.end_line or 1, tok.end_column or 1)


def source_line(text: str, line: int, column: int = 1, at: int | None = None) -> str:
    """The ``line``-th line of ``text``, shortened around ``column`` if very long.

    Lines are counted as the parser counts them, at ``\n`` only (``str.splitlines``
    also splits at form feeds, ``\x1c`` to ``\x1e``, ``\x85`` and U+2028), and a
    CRLF file's ``\r`` is not part of the line. ``at``, an offset on that
    line, finds it without counting the lines before (a file may have
    hundreds of thousands, and as many diagnostics).
    """
    if line < 1 or not text:
        return ""
    if at is not None:
        start = text.rfind("\n", 0, at) + 1
    else:
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
    at: int | None = None,
) -> Diagnostic:
    """A diagnostic with the code's severity and, given the file's ``text``, its source line.

    ``at`` is an offset in ``text`` on the span's first line, when known.
    """
    return Diagnostic(
        code,
        message,
        span,
        CODES[code][0],
        suggestion,
        source_line(text, span.line, span.column, at) if text is not None else None,
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
    "R105": 'put the text in double quotes (")',
}


def _last_position(text: str) -> tuple[int, int]:
    return text.count("\n") + 1, len(text) - text.rfind("\n")


def explain(
    e: UnexpectedInput, text: str, file: str, lark: Lark, parsed: str | None = None
) -> tuple[Diagnostic, int]:
    """Turn a Lark error from ``lark`` into a diagnostic; also return its offset in ``text``.

    ``parsed`` is the text Lark parsed when it raised (``text`` itself, or a
    region of it with the rest blank): the tokens before the error are read
    from it again when the error may be in an action.
    """
    if isinstance(e, UnexpectedCharacters):
        line, col, pos = e.line, e.column, int(e.pos_in_stream or 0)
        ch = text[pos] if 0 <= pos < len(text) else ""
        span = Span(file, line, col, line, col + 1)
        if ch == '"':
            found = unterminated(text, pos)
            if found is not None:
                return _from_found(found, text, file, line, pos), pos
            return diagnostic(
                "R106",
                "unterminated string: the closing '\"' is missing on this line",
                span,
                suggestion='end the text with " on the same line',
                text=text,
                at=pos,
            ), pos
        found = diagnose(text, pos) if ch else None
        if found is not None:
            return _from_found(found, text, file, line, pos), pos
        return diagnostic(
            "R101",
            f"unexpected character {show(ch)}",
            span,
            suggestion="rules may contain only words, numbers, quoted text and , ( ) % < > = !",
            text=text,
            at=pos,
        ), pos

    tok = getattr(e, "token", None)
    at_end = isinstance(e, UnexpectedEOF) or (tok is not None and tok.type == "$END")
    if at_end or tok is None:
        accepted = _accepted(
            getattr(e, "expected", None) or getattr(e, "accepts", None) or (), lark
        )
        found = diagnose(text, len(text), ("$END", "", len(text)), accepted)
        if found is not None:
            line, _ = _last_position(text)
            return _from_found(found, text, file, line, len(text)), len(text)
        if tok is not None and parsed is not None:
            # an action that ran on past its line to the end: `set order status
            # confirmed` then a block's `end`, read as more words of the field
            action = _malformed_action(tok, text, file, lark, parsed, at_end=True)
            if action is not None:
                return action, len(text)
        line, col = _last_position(text)
        expected = getattr(e, "accepts", None) or getattr(e, "expected", None) or ()
        return diagnostic(
            "R107",
            "unexpected end of file: the last rule is incomplete",
            Span(file, line, col, line, col),
            suggestion=f"expected {_expected(expected, lark)}" if expected else None,
            text=text,
            at=len(text),
        ), len(text)

    assert isinstance(e, UnexpectedToken)
    span = token_span(file, tok)
    pos = tok.start_pos if tok.start_pos is not None else 0
    accepted = _accepted(e.accepts or e.expected or (), lark)
    end = tok.end_pos if tok.end_pos is not None else pos + len(str(tok))
    found = diagnose(text, pos, (tok.type, str(tok), end), accepted)
    if found is not None:
        return _from_found(found, text, file, tok.line or 1, pos), pos
    code = _match_example(e, lambda s: lark.parse(s))
    if code == "R105" and (found := unquoted(text, pos, tok.end_pos or pos)) is not None:
        return _from_found(found, text, file, tok.line or 1, pos), pos
    if code in _FRIENDLY:
        suggestion = _SUGGEST[code]
        return diagnostic(
            code, _FRIENDLY[code], span, suggestion=suggestion, text=text, at=tok.start_pos
        ), pos
    expected = e.accepts or e.expected
    if parsed is not None:
        action = _malformed_action(tok, text, file, lark, parsed)
        if action is not None:
            return action, pos
    return diagnostic(
        "R100",
        f"unexpected {show(str(tok))}",
        span,
        suggestion=f"expected {_expected(expected, lark)}",
        text=text,
        at=tok.start_pos,
    ), pos


def _accepted(names: Iterable[str], lark: Lark) -> set[str]:
    """The keywords and signs among the terminals ``names``, as written; the
    others (names, numbers, quoted text) as ``<NAME>``, ``<NUMBER>``, …"""
    words = _terminal_words(lark)
    return {words[n][1:-1] if words.get(n, "").startswith("'") else f"<{n}>" for n in names}


def _at(text: str, off: int, line: int, pos: int) -> tuple[int, int]:
    """The line and column of offset ``off``, given that ``pos`` is on ``line``."""
    if off <= pos:
        line -= text.count("\n", off, pos)
    else:
        line += text.count("\n", pos, off)
    return line, off - text.rfind("\n", 0, off)


def _clip(s: str, limit: int = 300) -> str:
    """A message kept short, whatever the text it quotes."""
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _from_found(found: Found, text: str, file: str, line: int, pos: int) -> Diagnostic:
    """A habit's diagnostic (:mod:`rulec.dsl.habits`), given that ``pos`` is on ``line``."""
    start = _at(text, found.start, line, pos)
    end = _at(text, found.end, line, pos)
    return diagnostic(
        found.code,
        _clip(found.message),
        Span(file, *start, *end),
        suggestion=_clip(found.suggestion),
        text=text,
        at=found.start,
    )


# ------------------------------------------------------ malformed actions ---
#
# The grammar reads an action by its shape, not by its verb (``name PERCENT
# STRING``, ``name "label" name "to" name``, ``name target target_word+ "to"
# value``, ``name target``), so that a known shape with the wrong verb gets
# the checker's R214 with the verb's own shape. When the words after a verb
# fit no shape, Lark stops at the first word that cannot follow, which says
# nothing of what the action should be: ``discount cheapest item "3 for 2"``
# stops at the title. The tokens of the action are read again, up to the
# error, with Lark's interactive parser.


@functools.cache
def _keyword_types(lark: Lark) -> dict[str, str]:
    """The terminal type of each keyword and punctuation of the grammar, by its text."""
    return {
        t.pattern.value: t.name
        for t in lark.terminals
        if isinstance(t.pattern, PatternStr) and not t.pattern.flags
    }


def _tokens_before(lark: Lark, parsed: str, offset: int) -> list[Token]:
    """The tokens Lark read from ``parsed`` before ``offset``, where it stopped."""
    tokens: list[Token] = []
    parser = lark.parse_interactive(parsed)
    try:
        for tok in parser.iter_parse():
            if tok.start_pos is None or tok.start_pos >= offset:
                break
            tokens.append(tok)
    except UnexpectedInput:
        pass  # the token at the error, when the lexer is the one to stop
    return tokens


#: A word of an action as the user wrote it, for the suggestion: a quoted
#: text, a percentage, a number, a name, a comment (the end), another sign.
_WORD = re.compile(
    r'(?P<string>"(?:[^"\\\r\n]|\\.)*")|(?P<percent>[+-]?\d+(?:\.\d+)?%)'
    r"|(?P<number>[+-]?\d+(?:\.\d+)?)|(?P<name>[^\W\d]\w*)|(?P<comment>#)|(?P<sign>\S)"
)
#: How far before an error the last 'then' may be for the error to be read
#: as an action's: no rule's actions are that long, and a text of names that
#: long (10 µs a token through Lark) is not read twice.
_NEAR_ACTION = 100_000
#: Words that end an action on its line (a following action or item).
_ENDS = frozenset({"and", "then", "when", "on", "rule", "end"})


def _words(line: str) -> list[tuple[str, str]]:
    """The words of an action, from its verb to its end on the verb's line."""
    out: list[tuple[str, str]] = []
    for m in _WORD.finditer(line):
        kind, word = str(m.lastgroup), m.group()
        if kind == "comment" or word == "," or (kind == "name" and word in _ENDS and out):
            break
        if kind == "name" and word == "label" and len(out) > 1:
            break  # a declaration after the action
        out.append((kind, word))
    return out[1:]  # without the verb


def _shown(word: str, limit: int = 40) -> str:
    """A word of the user's for a suggestion: long text shortened, invisible characters escaped."""
    if word.startswith('"') and len(word) > limit + 2:
        word = word[: limit + 1] + '…"'
    elif len(word) > limit:
        word = word[:limit] + "…"
    return show(word, len(word))[1:-1]


def _rewrite(verb: str, words: list[tuple[str, str]]) -> str:
    """The action as ``verb`` takes it, from the user's own words where they fit."""
    names = [w for k, w in words if k == "name" and w not in ("label", "to", "from", "up")]
    if verb == "buy":
        title = next((w for k, w in words if k == "string"), '"TITLE"')
        first, second = [*(w for k, w in words if k == "number"), "2", "1"][:2]
        if "for" in names:
            return f"'buy {first} for {second} {title}'"
        return f"'buy {first} get {second} free {title}'"
    if verb == "discount" and any(w == "from" for _, w in words):
        return f"'discount {_tiers(words)}'"
    if verb == "discount":
        title = next((w for k, w in words if k == "string"), '"TITLE"')
        kinds = [k for k, _ in words]
        percent = next((w for k, w in words if k == "percent"), None)
        amount = next((i for i, k in enumerate(kinds) if k == "number"), None)
        money = ""
        if amount is not None:
            after = words[amount + 1] if amount + 1 < len(words) else ("", "")
            currency = after[1] if after[0] == "name" else "EUR"
            money = f"{words[amount][1]} {currency}"
        if percent is not None:
            cap = f" up to {money}" if money else ""
            return f"'discount {percent}{cap} {title}'"
        if money:
            return f"'discount {money} {title}'"
        return f"'discount 10% {title}' or 'discount 5.00 EUR {title}'"
    if verb == "free":
        title = next((w for k, w in words if k == "string"), '"TITLE"')
        return f"'free shipping {title}'"
    if verb in ("add", "remove"):
        preposition = "to" if verb == "add" else "from"
        label = names[0] if names else "NAME"
        entity = names[-1] if len(names) > 1 else "ENTITY"
        return f"'{verb} label {label} {preposition} {entity}'"
    if verb == "set":
        values = [w for k, w in words if w != "to" and k != "sign"]
        if len(values) >= 3:
            return f"'set {' '.join(values[:-1])} to {values[-1]}'"
        return f"'set {' '.join([*values, 'ENTITY', 'FIELD'][:2])} to VALUE'"
    return f"'{verb} {names[0] if names else 'ENTITY'}'"


def _tiers(words: list[tuple[str, str]]) -> str:
    """``10.00 EUR from 100.00 EUR, 25.00 EUR from 200.00 EUR "title"`` from the user's
    words of a tiered discount (a comma forgotten, a currency left out)."""
    tiers = []
    currency = next((w for k, w in words if k == "name" and w not in ("from",)), "EUR")
    n = 0
    while n < len(words):
        if words[n][1] != "from":
            n += 1
            continue
        before = words[:n]
        figure = next((w for k, w in reversed(before) if k in ("percent", "number")), "10.00")
        if not figure.endswith("%"):
            figure += f" {currency}"
        after = [w for k, w in words[n + 1 :] if k == "number"][:1] or ["100.00"]
        tiers.append(f"{figure} from {after[0]} {currency}")
        n += 1
    title = next((w for k, w in words if k == "string"), '"TITLE"')
    return ", ".join(tiers) + f" {title}"


def _shape(types: list[str], kw: dict[str, str]) -> tuple[str, ...] | None:
    """The verbs whose shape the token types after a verb make whole, if they make one."""
    label, to, from_, up = kw["label"], kw["to"], kw["from"], kw["up"]
    if not types:
        return None
    first, rest = types[0], types[1:]
    if first == "PERCENT" and rest in (["STRING"], [up, to, "NUMBER", "NAME", "STRING"]):
        return ("discount",)
    if first == "NUMBER" and rest == ["NAME", "STRING"]:
        return ("discount",)
    if first == label and rest in (["NAME", to, "NAME"], ["NAME", from_, "NAME"]):
        return ("add", "remove")
    if first == "NAME" and not rest:
        return ("show", "hide")
    if first == "NAME" and to in rest:
        i = rest.index(to)
        value = rest[i + 1 :]
        words = rest[:i]
        values = (["NUMBER"], ["STRING"], ["NAME"], ["DATE"], ["DATE", "NAME"], ["DATE", "TZNAME"])
        if words and all(w == "NAME" for w in words) and value in values:
            return ("set",)
    return None


def _malformed_action(
    tok: Token,
    text: str,
    file: str,
    lark: Lark,
    parsed: str,
    at_end: bool = False,
) -> Diagnostic | None:
    """R214 (or R202 for an unknown verb) when Lark stopped inside an action whose
    words fit no shape of its verb; None when the error is elsewhere.

    ``at_end``: the file ended there. An action cut by the end of the file is
    R107's, unless the action runs on past its verb's line (a word was taken
    for more of it: then the end of the file is not where the mistake is).
    """
    offset = len(parsed) if at_end else tok.start_pos
    if offset is None:  # pragma: no cover - Lark's tokens have their offsets
        return None
    # no actions before the error; or none near it: read no more than an action's worth
    then_at = text.rfind("then", max(0, offset - _NEAR_ACTION), offset)
    if then_at < 0:
        return None
    kw = _keyword_types(lark)
    then, comma, and_, label = kw["then"], kw[","], kw["and"], kw["label"]
    # an item start or a block's end after 'then' means the error is not in an action
    item_ends = {kw["on"], kw["rule"], kw["end"]}
    tokens = _tokens_before(lark, parsed, offset)
    last_then = max((i for i, t in enumerate(tokens) if t.type == then), default=None)
    if last_then is None:
        return None
    start = last_then + 1
    for i in range(start, len(tokens)):
        t = tokens[i]
        if t.type in (comma, and_):
            start = i + 1
        elif t.type in item_ends or (t.type == label and i != start + 1):
            return None
    action = tokens[start:]
    if not action or action[0].type != "NAME":
        return None
    verb_tok = action[0]
    verb = str(verb_tok)
    if at_end and all(t.line == verb_tok.line for t in action):
        return None
    shape = _shape([t.type for t in action[1:]], kw)
    if shape is not None and (verb not in ACTIONS or verb in shape):
        return None  # a whole action of its verb's shape (or an unknown verb's): the error is after
    if verb not in ACTIONS:
        return diagnostic(
            "R202",
            f"unknown action {show(verb)}",
            token_span(file, verb_tok),
            suggestion=(
                f"did you mean '{best}'?"
                if (best := suggest(verb, ACTIONS))
                else "actions are " + ", ".join(ACTIONS)
            ),
            text=text,
            at=verb_tok.start_pos,
        )
    # the span: the action's words on the verb's line, the error's word too if it is one
    last = action[-1]
    if not at_end and tok.type not in item_ends | {label} and tok.line == verb_tok.line:
        last = tok
    on_line = [t for t in (*action, last) if t.line == verb_tok.line]
    last = on_line[-1]
    span = Span(
        file,
        verb_tok.line or 1,
        verb_tok.column or 1,
        last.end_line or 1,
        last.end_column or 1,
    )
    begin = verb_tok.start_pos or 0
    end = text.find("\n", begin)
    line = text[begin : len(text) if end < 0 else end]
    return diagnostic(
        "R214",
        f"this {show(verb)} action has an unknown shape: {show(verb)} takes {ACTIONS[verb]}",
        span,
        suggestion="write " + _rewrite(verb, [(k, _shown(w)) for k, w in _words(line)]),
        text=text,
        at=verb_tok.start_pos,
    )
