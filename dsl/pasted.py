"""Characters pasted from documents and numbers written as elsewhere (issue 21).

The lexer stops at a character no rule may hold; :func:`character` says
what it is doing there and how to write it: a curly quote, a no-break or
other Unicode space, an invisible character, a byte-order mark in the middle
of a file, a dash, ``≥ ≤ ≠`` or a full-width sign (R115); a currency symbol,
``€10`` for ``10.00 EUR`` (R116); ``&&`` and ``||`` (R117); a number with a
decimal comma or thousands separators, or glued to its currency (R120).
:mod:`rulec.dsl.habits` calls it, with the wording habits, only on a
syntax error.

A suggestion shows the clause around the mistake rewritten
(:func:`clause`); where the fix would look like the text typed (a plain
space for a no-break space), the character is named by its code point
instead, and never shown.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from attrs import frozen

from rulec.dsl.currencies import MINOR_UNITS
from rulec.dsl.spelling import lookalike

__all__ = [
    "SYMBOLS",
    "Found",
    "blank",
    "character",
    "clause",
    "line_bounds",
    "named",
    "number",
    "number_at",
]


@frozen
class Found:
    """A habit found in the text: its code, where it is (offsets), and what to say."""

    code: str
    start: int
    end: int
    message: str
    suggestion: str


def named(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'an unnamed character')}"


#: Quoted text and comments, blanked before looking for words.
_QUOTED_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')
#: Words that bound the clause a suggestion shows.
_BOUNDS = re.compile(r"\b(?:on|when|then|rule|end|description|priority)\b|#")


def line_bounds(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, (len(text) if end < 0 else end)


def blank(s: str) -> str:
    """``s`` with quoted text and comments blanked (same length, newlines kept)."""
    return _QUOTED_OR_COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), s)


def clause(text: str, start: int, end: int, new: str) -> str:
    """The clause around ``text[start:end]`` with ``new`` in its place, as the
    user would write it fixed: from the keyword before to the keyword after
    (``order subtotal >= 5`` for ``≥``), on the line, shortened if long."""
    lo, hi = line_bounds(text, start)
    hi = max(hi, line_bounds(text, max(start, end - 1))[1])
    line = text[lo:start] + new + text[end:hi]
    cut_lo, cut_hi = start - lo, start - lo + len(new)
    blanked = blank(line)
    left = 0
    for m in _BOUNDS.finditer(blanked, 0, cut_lo):
        if m.group() != "#":
            left = m.end() if m.group() in ("when", "then") else m.start()
    right = len(line)
    for m in _BOUNDS.finditer(blanked, cut_hi):
        right = m.start()
        break
    out = re.sub(r"[ \t]{2,}", " ", line[left:right].strip())
    if len(out) > 90:
        a = max(0, out.find(new) - 40)
        b = min(len(out), a + 90)
        out = ("…" if a else "") + out[a:b].strip() + ("…" if b < len(out) else "")
    return out


# -------------------------------------------------------------- numbers ---

_NUMBER_RUN = re.compile(r"[+-]?\d[\d.,'\u00a0\u202f\u2009 ]*\d|[+-]?\d")


def number(written: str) -> tuple[str, str] | None:
    """A number written with a decimal comma or thousands separators as rules
    write it, and why: ``10,5`` → ``10.5``, ``1.000,00`` → ``1000.00``.

    None when ``written`` is no such number (or is one already)."""
    s = written.replace("\u00a0", " ").replace("\u202f", " ").replace("\u2009", " ")
    if re.fullmatch(r"[+-]?\d+(?:\.\d+)?", s):
        return None
    sign = s[0] if s[0] in "+-" else ""
    body = s[len(sign) :]
    if re.fullmatch(r"\d{1,3}(?:[ ']\d{3})+(?:[.,]\d+)?", body):
        parts = re.split(r"[.,](?=\d+$)", body)
        whole = parts[0].replace(" ", "").replace("'", "")
        frac = parts[1] if len(parts) > 1 else ""
        return sign + whole + (f".{frac}" if frac else ""), "thousands are not separated"
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+,\d+", body):  # 1.000,00
        whole, frac = body.split(",")
        return sign + whole.replace(".", "") + "." + frac, "thousands are not separated"
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+\.\d+", body):  # 1,000.00
        return sign + body.replace(",", ""), "thousands are not separated"
    if re.fullmatch(r"\d{1,3}(?:\.\d{3}){2,}", body):  # 1.000.000
        return sign + body.replace(".", ""), "thousands are not separated"
    if re.fullmatch(r"\d{1,3}(?:,\d{3}){2,}", body):  # 1,000,000
        return sign + body.replace(",", ""), "thousands are not separated"
    if re.fullmatch(r"\d+,\d+", body):
        whole, frac = body.split(",")
        if len(frac) == 3:  # 1,000: a thousand, or one with a decimal comma
            return (
                sign + whole + frac,
                f"thousands are not separated (or, if the comma is a decimal comma, "
                f"write {sign}{whole}.{frac})",
            )
        return sign + whole + "." + frac, "the decimal separator is a point"
    return None


def _money(amount: str, code: str) -> str:
    """``amount`` with ``code``'s decimal places, when it has fewer."""
    try:
        value = Decimal(amount)
    except InvalidOperation:  # pragma: no cover - amount is digits and a point
        return amount
    places = MINOR_UNITS.get(code, 2)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent < places:
        return f"{value:.{places}f}"
    return amount


def number_at(text: str, pos: int, lo: int, hi: int) -> Found | None:
    """R120: a number with a decimal comma or separators around ``pos``."""
    lo, hi = max(lo, pos - 60), min(hi, pos + 60)  # a number is short; a line may not be
    for m in _NUMBER_RUN.finditer(text, lo, hi):
        if m.start() <= pos < m.end() + 1:
            written = m.group().rstrip(" '")
            end = m.start() + len(written)
            fixed = number(written)
            if fixed is None:
                return None
            new, why = fixed
            if text.startswith("%", end) and not new.endswith("%"):
                written, new, end = written + "%", new + "%", end + 1
            return Found(
                "R120",
                m.start(),
                end,
                f"the number '{_short(written)}' is written as in a spreadsheet: {why}",
                f"write {clause(text, m.start(), end, new)}",
            )
        if m.start() > pos:
            break
    return None


# ---------------------------------------------------------- characters ---

_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u301d\u301e\uff02\u00ab\u00bb"
_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032`'"
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_COMPARISONS = {
    "\u2265": ">=",
    "\u2264": "<=",
    "\u2260": "!=",
    "\u2a7e": ">=",
    "\u2a7d": "<=",
    "\u2267": ">=",
    "\u2266": "<=",
}
#: Currency symbols and the ISO 4217 codes they stand for, the usual one first.
SYMBOLS: dict[str, tuple[str, ...]] = {
    "\u20ac": ("EUR",),
    "$": ("USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"),
    "\u00a3": ("GBP",),
    "\u00a5": ("JPY", "CNY"),
    "\u20b9": ("INR",),
    "\u20bd": ("RUB",),
    "\u20a9": ("KRW",),
    "\u20ba": ("TRY",),
    "\u20aa": ("ILS",),
    "\u20ab": ("VND",),
    "\u20b4": ("UAH",),
    "\u20a6": ("NGN",),
    "\u0e3f": ("THB",),
    "\u20b1": ("PHP",),
    "\u20a3": ("CHF",),
}


def _space_like(ch: str) -> bool:
    return ch in _INVISIBLE or (unicodedata.category(ch) in ("Zs", "Zl", "Zp") and ch != " ")


def character(text: str, pos: int) -> Found | None:
    """What a character no rule may hold is doing at ``pos``, and its fix."""
    ch = text[pos]
    lo, hi = line_bounds(text, pos)
    if _quote_kind(ch) is not None:
        return _quote(text, pos, hi)
    if _space_like(ch):
        return _space(text, pos, lo, hi)
    if ch in _DASHES:
        return _dash(text, pos, lo, hi)
    if ch in _COMPARISONS:
        new = _COMPARISONS[ch]
        return Found(
            "R115",
            pos,
            pos + 1,
            f"'{ch}' ({named(ch)}) is not a sign rules use; they write it {new}",
            f"write {clause(text, pos, pos + 1, _spaced(text, pos, pos + 1, new))}",
        )
    if ch in SYMBOLS:
        return _symbol(text, pos, lo, hi)
    if ch in "&|":
        return _logical(text, pos)
    if ch.isdigit():
        glued = re.compile(r"(\d[\d.,]*)([A-Za-z]{3})\b").match(text, pos)
        if glued:
            amount = number(glued.group(1))
            new = f"{amount[0] if amount else glued.group(1)} {glued.group(2)}"
            return Found(
                "R120",
                pos,
                glued.end(),
                f"the amount '{_short(glued.group())}' is glued to its currency",
                f"put a space between them: {clause(text, pos, glued.end(), new)}",
            )
        found = number_at(text, pos, lo, hi)
        if found is None and (
            word := re.compile(r"(\d+(?:\.\d+)?%?)([^\W\d]\w*)").match(text, pos)
        ):
            return Found(
                "R101",
                pos,
                word.end(),
                f"'{_short(word.group())}': a space is missing after the number",
                f"write {clause(text, pos, word.end(), f'{word.group(1)} {word.group(2)}')}",
            )
        if found is None and (dot := re.compile(r"\d+\.(?!\d)").match(text, pos)):
            return Found(
                "R120",
                pos,
                dot.end(),
                f"the number '{dot.group()}' ends with a point",
                f"write {clause(text, pos, dot.end(), dot.group()[:-1])}",
            )
        return found
    if ch == "%":
        before = text[lo:pos].rstrip()
        if before and before[-1].isdigit():
            start = lo + len(before)
            return Found(
                "R120",
                start,
                pos + 1,
                "a percentage is written with '%' right after the number",
                f"write {clause(text, start, pos + 1, '%')}",
            )
        return None
    if ch in ".-" and 0 < pos < hi - 1 and text[pos - 1].isalpha() and text[pos + 1].isalpha():
        return _joiner(text, pos, lo, hi)
    if ch in "[{" and re.search(r"\bin[ \t]*$", text[max(lo, pos - 20) : pos]):
        close = text.find("]" if ch == "[" else "}", pos, hi)
        if close > 0:
            new = "(" + text[pos + 1 : close] + ")"
            return Found(
                "R117",
                pos,
                close + 1,
                f"'{ch}' starts a list as other languages write it; rules write lists in ( )",
                f"write {clause(text, pos, close + 1, new)}",
            )
    if ch in ";:{}[]":
        return Found(
            "R101",
            pos,
            pos + 1,
            f"unexpected character '{ch}': rules do not end, separate or group their parts with it",
            f"delete it: {clause(text, pos, pos + 1, '')}",
        )
    plain = lookalike(ch)
    if plain != ch and plain.isascii():
        return Found(
            "R115",
            pos,
            pos + 1,
            f"'{ch}' ({named(ch)}) looks like '{plain}' but is another character",
            f"type '{plain}' in its place",
        )
    return None


def _joiner(text: str, pos: int, lo: int, hi: int) -> Found:
    """``order.subtotal`` (R117) and ``Customer-VIP`` (R121)."""
    start, end = pos, pos + 1
    while start > lo and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    while end < hi and (text[end].isalnum() or text[end] in "_.-"):
        end += 1
    written = text[start:end]
    if text[pos] == ".":
        new = written.replace(".", " ")
        return Found(
            "R117",
            start,
            end,
            f"'{_short(written)}': rules write an entity and its field with a space, not a dot",
            f"write {clause(text, start, end, new)}",
        )
    new = written.replace("-", "_")
    return Found(
        "R121",
        start,
        end,
        f"'{_short(written)}': names are joined with '_', not '-'",
        f"write {clause(text, start, end, new)}",
    )


def _short(s: str, limit: int = 40) -> str:
    return s if len(s) <= limit else s[:limit] + "…"


def _spaced(text: str, start: int, end: int, new: str) -> str:
    """``new`` with a space on each side that the text lacks there."""
    before = " " if start > 0 and not text[start - 1].isspace() else ""
    after = " " if end < len(text) and not text[end].isspace() else ""
    return before + new + after


def _quote_kind(ch: str) -> str | None:
    """'double' or 'single' for a quotation mark of any script, else None."""
    if ch in _DOUBLE_QUOTES or ch == '"':
        return "double"
    if ch in _SINGLE_QUOTES:
        return "single"
    name = unicodedata.name(ch, "")
    if unicodedata.category(ch) in ("Pi", "Pf") or "QUOTATION MARK" in name:
        return "double" if "DOUBLE" in name else "single"
    return None


def _quote(text: str, pos: int, hi: int) -> Found | None:
    ch = text[pos]
    kind_of = _quote_kind(ch)
    typographic = ch not in "'`"
    # an apostrophe inside a word ("doesn't"): the wording, not the quotes, is wrong
    inside = 0 < pos < len(text) - 1 and text[pos - 1].isalpha() and text[pos + 1].isalpha()
    if inside and kind_of == "single":
        return None
    if 0 < pos < len(text) - 1 and text[pos - 1].isdigit() and text[pos + 1].isdigit():
        return number_at(text, pos, *line_bounds(text, pos))  # 1'000, as in Switzerland
    close = next((i for i in range(pos + 1, hi) if _quote_kind(text[i]) == kind_of), None)
    what = f"'{ch}' ({named(ch)})" if typographic else "the text"
    kind = "a curly quote, pasted from a document" if typographic else "in single quotes"
    if close is None:
        return Found(
            "R115" if typographic else "R105",
            pos,
            pos + 1,
            f'{what} is {kind}; rules quote text with straight double quotes (")',
            'type " in its place, and end the text with " on the same line',
        )
    inner = text[pos + 1 : close]
    new = f'"{inner}"'
    return Found(
        "R115" if typographic else "R105",
        pos,
        close + 1,
        f'{what} is {kind}; rules quote text with straight double quotes (")',
        f"write {clause(text, pos, close + 1, new)}",
    )


def _space(text: str, pos: int, lo: int, hi: int) -> Found:
    end = pos
    while end < min(hi, pos + 64) and _space_like(text[end]):  # a run of them, within reason
        end += 1
    chars = ", ".join(dict.fromkeys(named(c) for c in text[pos:end]))
    before = re.search(r"(\S+)\s*$", text[max(lo, pos - 200) : pos])
    after = re.match(r"\s*(\S+)", text[end : min(hi, end + 200)])
    if pos > 0 and text[pos - 1].isdigit() and end < hi and text[end].isdigit():
        found = number_at(text, pos, lo, hi)
        if found is not None:
            return found
    if text[pos] == "\ufeff" and pos > 0:
        return Found(
            "R115",
            pos,
            end,
            f"a byte-order mark ({chars}) in the middle of the file, "
            "often left where two files were joined",
            "delete it (it is invisible)",
        )
    where = ""
    if before and after:
        where = f" between '{before.group(1)}' and '{after.group(1)}'"
    elif after:
        where = f" before '{after.group(1)}'"
    elif before:
        where = f" after '{before.group(1)}'"
    invisible = all(c in _INVISIBLE for c in text[pos:end])
    what = "an invisible character" if invisible else "a space that is not a plain space"
    return Found(
        "R115",
        pos,
        end,
        f"{what} ({chars}){where}, pasted from a document",
        "delete it" if invisible else "retype it as a plain space",
    )


def _dash(text: str, pos: int, lo: int, hi: int) -> Found:
    ch = text[pos]
    if pos + 1 < hi and text[pos + 1].isdigit():
        # a date (2026–11–27) or a minus sign: the run of digits and dashes
        start, end = pos, pos + 1
        while start > lo and (text[start - 1].isdigit() or text[start - 1] in _DASHES + "-"):
            start -= 1
        while end < hi and (text[end].isdigit() or text[end] in _DASHES + "-:."):
            end += 1
        new = "".join("-" if c in _DASHES else c for c in text[start:end])
        return Found(
            "R115",
            start,
            end,
            f"'{ch}' ({named(ch)}) is a dash pasted from a document, not a hyphen or minus",
            f"type '-' in its place: {clause(text, start, end, new)}",
        )
    return Found(
        "R115",
        pos,
        pos + 1,
        f"'{ch}' ({named(ch)}) has no meaning in a rule",
        f"to add a note, start it with '#': {_short(text[pos:hi].replace(ch, '#', 1).strip())}",
    )


def _symbol(text: str, pos: int, lo: int, hi: int) -> Found:
    ch = text[pos]
    codes = SYMBOLS[ch]
    after = re.compile(r"[ \u00a0]*(\d[\d.,]*\d|\d)").match(text, pos + 1)
    before = re.search(r"(\d[\d.,]*\d|\d)[ \u00a0]*$", text[lo:pos])
    if after:
        start, end, written = pos, after.end(), after.group(1)
    elif before:
        start, end, written = lo + before.start(), pos + 1, before.group(1)
    else:
        start, end, written = pos, pos + 1, ""
    others = f" (or {', '.join(codes[1:])})" if len(codes) > 1 else ""
    message = f"'{ch}' is a currency symbol; rules write the ISO 4217 code {codes[0]}{others}"
    if not written:  # order currency is €: the code in its place
        return Found("R116", start, end, message, f"write {clause(text, start, end, codes[0])}")
    amount = number(written)
    plain = amount[0] if amount else written
    compared = re.search(r"(?:[<>=!]+|\bis(?:\s+not)?|\bbetween|\band)\s*$", text[lo:start])
    if compared:
        new = plain
        return Found(
            "R116",
            start,
            end,
            message + "; amounts are compared without one",
            f"write {clause(text, start, end, new)}, and test the currency with "
            f"'order currency is {codes[0]}'",
        )
    new = f"{_money(plain, codes[0])} {codes[0]}"
    return Found("R116", start, end, message, f"write {clause(text, start, end, new)}")


def _logical(text: str, pos: int) -> Found | None:
    ch = text[pos]
    end = pos
    while end < len(text) and text[end] == ch:
        end += 1
    written = text[pos:end]
    if len(written) > 2:
        return None
    word = "and" if ch == "&" else "or"
    return Found(
        "R117",
        pos,
        end,
        f"'{written}' is how other languages write '{word}'",
        f"write {clause(text, pos, end, _spaced(text, pos, end, word))}",
    )
