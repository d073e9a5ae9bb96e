"""Syntax errors caused by a habit from elsewhere, each with its fix (issue 21).

Analysts write rules by hand and paste from spreadsheets, e-mails and word
processors. When the parser stops, :func:`diagnose` reads the raw text of the
rule it stopped in, from the rule's start to the end of the line it stopped
on, and looks for the mistake that made it stop, which is often a word or
two before the token it stopped at, and names that word:

* the characters and numbers of :mod:`rulec.dsl.pasted` (R115, R116, R117
  for ``&&``, R120);
* R117, an operator of another language: ``!``, ``> =``;
* R118, a keyword in other capitals, with a look-alike letter or misspelt:
  ``When``, ``THEN``, ``whеn`` (a Cyrillic ``е``), ``thne``;
* R119, wording the language does not use: ``if`` for ``on``, ``doesn't
  have`` for ``lacks``, ``labels``, ``to the customer``, ``5 per cent``,
  ``greater than``;
* R121, a name written as two words: ``on order created``.

Every suggestion rewrites the user's own text (the clause around the
mistake, fixed). None of this runs on a file that parses: the clean path
never calls it. The checker uses :func:`field_habit` for the habits that
parse (``customer not has label Loyal`` reads as a field).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable

from rulec.dsl.currencies import MINOR_UNITS
from rulec.dsl.pasted import Found, blank, character, clause, line_bounds, number_at
from rulec.dsl.spelling import explain as spell
from rulec.dsl.spelling import skeleton
from rulec.dsl.verbs import ACTIONS

__all__ = ["diagnose", "field_habit"]


# ------------------------------------------------------------- context ---

#: A line that starts an item (as the parser resynchronises), written in any case.
_ITEM_START = re.compile(r"[ \t]*(?:rule|label|test|on|if|group)\b", re.IGNORECASE)
#: How far back the start of the rule is looked for.
_BACK_LINES = 40


def _item_start(text: str, pos: int) -> int:
    """The start of the line where the item holding ``pos`` starts (a near guess)."""
    line, _ = line_bounds(text, pos)
    for _ in range(_BACK_LINES):
        if _ITEM_START.match(text, line) or line == 0:
            return line
        line = text.rfind("\n", 0, line - 1) + 1
    return line


# -------------------------------------------------------------- wording ---

_Fix = Callable[[re.Match[str]], tuple[str, str]]


def _lacks(m: re.Match[str]) -> tuple[str, str]:
    return "lacks", "a rule says 'lacks' for 'does not have'"


def _wording() -> list[tuple[re.Pattern[str], _Fix]]:
    apostrophe = "['\u2019]"
    out: list[tuple[str, _Fix]] = [
        (
            rf"\b(?:does\s*n{apostrophe}?t|does\s+not|do\s*n{apostrophe}?t|do\s+not)\s+ha(?:ve|s)\b",
            _lacks,
        ),
        (rf"\bhas\s*n{apostrophe}?t(?:\s+got)?\b", _lacks),
        (r"\b(?:not\s+has|has\s+not|has\s+no)\b(?=\s+(?:any\s+)?labels?\b)", _lacks),
        (
            r"\b(has|lacks|add|remove)(\s+any)?\s+labels\b",
            lambda m: (
                f"{m.group(1)}{m.group(2) or ''} label",
                "'label' is written in the singular, even before several names",
            ),
        ),
        (
            r"\b(has|lacks)\s+any\s+labels?\b(?!\s+of\b)",
            lambda m: (f"{m.group(1)} any label of", "a list of labels is written 'any label of'"),
        ),
        (
            r"\b(to|from|for)\s+(?:the|a|an|this|each|every)\b(?=\s+\w)",
            lambda m: (m.group(1), f"'{m.group(1)}' is followed by the entity's name alone"),
        ),
        (
            r"(\d+(?:\.\d+)?)\s*(?:per\s*cent|percent|percentage|pct)\b",
            lambda m: (f"{m.group(1)}%", "a percentage is written with '%' after the number"),
        ),
        (
            r"(?<=%)\s+(?:max(?:imum)?(?:\s+of)?|capped\s+at|limited\s+to|no\s+more\s+than"
            r"|at\s+most)\b",
            lambda m: (" up to", "a discount's cap is written 'up to'"),
        ),
        (
            r"\b(?:is\s+)?(?:greater|more|higher|bigger)\s+than\s+or\s+equal(?:\s+to)?\b",
            lambda m: (">=", "comparisons are written with signs"),
        ),
        (
            r"\b(?:is\s+)?(?:less|fewer|smaller|lower)\s+than\s+or\s+equal(?:\s+to)?\b",
            lambda m: ("<=", "comparisons are written with signs"),
        ),
        (r"\b(?:is\s+)?at\s+least\b", lambda m: (">=", "comparisons are written with signs")),
        (r"\b(?:is\s+)?at\s+most\b", lambda m: ("<=", "comparisons are written with signs")),
        (
            r"\b(?:is\s+)?(?:greater|more|higher|bigger|over|above)\s+than\b",
            lambda m: (">", "comparisons are written with signs"),
        ),
        (
            r"\b(?:is\s+)?(?:less|fewer|smaller|lower)\s+than\b",
            lambda m: ("<", "comparisons are written with signs"),
        ),
        (
            r"\b(?:is\s+not\s+equal|does\s+not\s+equal|not\s+equals?)(?:\s+to)?\b",
            lambda m: ("!=", "comparisons are written with signs"),
        ),
        (
            r"\b(?:is\s+equal\s+to|equals?(?:\s+to)?)\b",
            lambda m: ("=", "comparisons are written with signs"),
        ),
        (r"\b(?:is\s+)?(?:over|above)\b", lambda m: (">", "comparisons are written with signs")),
        (r"\b(?:is\s+)?(?:under|below)\b", lambda m: ("<", "comparisons are written with signs")),
        (
            r"\b(?:is\s+)?on\s+or\s+after\b",
            lambda m: (">=", "dates are compared with signs: later is '>'"),
        ),
        (
            r"\b(?:is\s+)?on\s+or\s+before\b",
            lambda m: ("<=", "dates are compared with signs: earlier is '<'"),
        ),
        (
            r"\b(?:is\s+)?(?:after|later\s+than)\b",
            lambda m: (">", "dates are compared with signs: later is '>'"),
        ),
        (
            r"\b(?:is\s+)?(?:before|earlier\s+than)\b",
            lambda m: ("<", "dates are compared with signs: earlier is '<'"),
        ),
        (r"\b(?:is\s+)?since\b", lambda m: (">=", "dates are compared with signs")),
        (rf"\bis\s*n{apostrophe}?t\b", lambda m: ("is not", "rules write 'is not'")),
    ]
    return [(re.compile(p, re.IGNORECASE), f) for p, f in out]


_WORDING = _wording()


#: How far before the error wording is looked for: a rule's worth of lines.
_SCAN = 2000

#: Where a name is written: wording found there is the name (a label 'Equal').
_NAMED = re.compile(r"(?:\b(?:label|of|for)|,)[ \t]*$")


def _wording_before(text: str, lo: int, pos: int, hi: int) -> Found | None:
    """R119: the wording nearest before (or at) ``pos`` in ``text[lo:hi]``
    (near ``pos``: a line may be a megabyte long)."""
    lo, hi = max(lo, pos - _SCAN), min(hi, pos + 100)
    blanked = blank(text[lo:hi])
    best: tuple[int, int, str, str] | None = None
    for pattern, fix in _WORDING:
        for m in pattern.finditer(blanked):
            start, end = lo + m.start(), lo + m.end()
            if start > pos:
                break
            if _NAMED.search(blanked, 0, m.start()):  # a name that reads as wording: 'Equal'
                continue
            # the nearest the error; of two ending together, the longer ('is not equal to')
            if best is None or (end, -start) > (best[1], -best[0]):
                new, why = fix(m)
                best = (start, end, new, why)
    if best is None:
        return None
    start, end, new, why = best
    written = " ".join(text[start:end].split())
    fixed = clause(text, start, end, new)
    message = f"'{written}' is not how a rule says it: {why}"
    return Found("R119", start, end, message, f"write {fixed}")


# ------------------------------------------------------------- keywords ---

#: Words of other languages and of prose, by the keyword meant.
_SYNONYMS = {
    "if": ("on", "when"),
    "where": ("when",),
    "whenever": ("when",),
    "do": ("then",),
    "but": ("and",),
    "nor": ("or",),
}


def _keyword(word: str, accepted: Iterable[str]) -> tuple[str, str] | None:
    """The keyword ``word`` stands for among the ``accepted`` ones, and how it is wrong."""
    keywords = [k for k in accepted if k.isalpha()]
    if not keywords or not word or not word[0].isalpha():
        return None
    for k in keywords:
        if word.casefold() == k:
            return k, f"'{word}' is the keyword '{k}' in capitals: keywords are lower case"
    for k in keywords:
        if skeleton(word) == k:
            return k, f"'{word}' is not a keyword: it has a letter of another script"
    for k in _SYNONYMS.get(word.casefold(), ()):
        if k in keywords:
            return k, f"'{word}' is not a keyword: rules say '{k}' here"
    if len(word) >= 3:
        close = difflib.get_close_matches(skeleton(word), keywords, n=1, cutoff=0.75)
        if close:
            return close[0], f"'{word}' is not a keyword: it looks like '{close[0]}' misspelt"
    return None


#: How far before the error a clause is looked for (a line may be a megabyte long).
_WINDOW = 300

#: A keyword written twice in a row (``then then``).
_TWICE = re.compile(r"\b(then|when|and|or|not|label|has|lacks|on)([ \t]+\1)\b")

#: What may follow a name where one is expected: a keyword, a sign, the line's end.
_NAME_END = re.compile(r"[ \t]*(?:[,)#]|(?:when|then|for|and|or|to|from|end)\b)")


def _joined(text: str, start: int, end: int) -> Found | None:
    """R121: ``order created`` where one name is expected (after on, label, of, for, a comma)."""
    lo, _ = line_bounds(text, start)
    m = re.search(r"(?:\b(?:on|label|of|for|to|from)|,)[ \t]+([^\W\d]\w*)[ \t]+$", text[lo:start])
    # the name ends where a keyword follows it ('order created when'); otherwise
    # the second word starts something else ('label A discount 10%': a missing then)
    if m is None:
        return None
    at_line_end = not text[end:].split("\n", 1)[0].strip()
    if not _NAME_END.match(text, end) and not (at_line_end and m.group().startswith("on")):
        return None
    first = m.group(1)
    if first in ("label", "any"):
        return None
    word = text[start:end]
    new = f"{first}_{word}"
    begin = lo + m.start(1)
    return Found(
        "R121",
        begin,
        end,
        f"'{first} {word}' is one name written as two words",
        f"names have no spaces: write {clause(text, begin, end, new)}",
    )


# ------------------------------------------------------------- diagnose ---


#: A group declaration's start (``group Seasonal after Loyalty``), in the first column.
_GROUP_DECL = re.compile(r"group\b")
#: A declaration's ``after`` list that stops at a name: a comma left out.
_AFTER_NAME = re.compile(r"\bafter\s+(?:\w+\s*,\s*)*\w+\s+$")


def _group_decl(text: str, lo: int, pos: int, end: int, value: str) -> Found:
    """A syntax error in a group declaration, with the form it takes."""
    if (
        _AFTER_NAME.search(text, lo, pos)
        and re.fullmatch(r"\w+", value)
        and value not in ("on", "rule", "label", "test", "group", "then", "when", "end")
    ):
        fixed = text[lo:pos].rstrip() + ", " + value
        return Found(
            "R100", pos, end, "the groups after 'after' are separated by ','", f"write {fixed}"
        )
    return Found(
        "R100",
        pos,
        end,
        f"unexpected '{value}' in a group declaration",
        "a group is declared 'group NAME', or 'group NAME after GROUP, GROUP' for one "
        "whose percentages are of what those groups leave",
    )


def diagnose(
    text: str,
    pos: int,
    token: tuple[str, str, int] | None = None,
    accepted: Iterable[str] = (),
) -> Found | None:
    """The habit that made the parser stop at offset ``pos`` of ``text``, if one did.

    ``token`` is the token it stopped at (type, text, end offset), or None
    when no token could be read there (a character no rule may hold);
    ``accepted`` are the keywords and signs the parser would have taken.
    """
    lo = _item_start(text, pos)
    _, hi = line_bounds(text, pos)
    accepted = set(accepted)
    if token is None:
        found = _wording_before(text, lo, pos, hi)
        if found is not None and found.end > pos:  # the character is in the wording
            return found
        return character(text, pos)
    kind, value, end = token
    if _GROUP_DECL.match(text, lo) and kind != "$END":  # not a rule: no rule's wording
        return _group_decl(text, lo, pos, end, value)
    if value == "group" and "in" in accepted:  # among a block rule's settings
        fix = f"write {clause(text, pos, end, 'in group')}"
        return Found("R100", pos, end, "a rule is put in a group with 'in group NAME'", fix)
    if end < hi and not text[end].isascii():  # 2026–03–01: the dash, not the number
        found = character(text, end)
        if found is not None:
            return found
    if kind in ("NUMBER", "PERCENT", "SIGNED_INT") or value in (",", "%"):
        found = number_at(text, pos, *line_bounds(text, pos))
        if found is not None:
            return found
    wording = _wording_before(text, lo, end, hi)
    if wording is not None:
        return wording
    if kind == "OP":
        return _operator(text, pos, end, accepted)
    if kind == "$END":
        return None
    key = _keyword(value, accepted)
    if key is not None:
        word, why = key
        if word != value:
            code = "R119" if value.casefold() in _SYNONYMS and word != value.casefold() else "R118"
            if skeleton(value) == word and value.casefold() != word:  # looks the same
                fix = spell(value, word)
            else:
                fix = f"write {clause(text, pos, end, word)}"
            return Found(code, pos, end, why, fix)
    if value == "end" and accepted >= {"on", "rule"}:
        return Found(
            "R100",
            pos,
            end,
            "'end' closes only a rule that starts with rule \"NAME\"",
            "delete 'end', or start the rule with rule \"NAME\" on the line before 'on'",
        )
    twice = _TWICE.search(text, lo, end)
    if twice is not None and re.fullmatch(r"\s*(?:\w+\s+)?", text[twice.end() : pos]):
        return Found(
            "R100",
            twice.start(2),
            twice.end(2),
            f"'{twice.group(1)}' is written twice",
            f"delete one: {clause(text, twice.start(), twice.end(), twice.group(1))}",
        )
    quoted_name = re.fullmatch(r'"[^\W\d][\w ]*"', value) and _NAMED.search(text, lo, pos)
    if kind == "STRING" and "<NAME>" in accepted and quoted_name:
        new = value[1:-1].strip().replace(" ", "_")
        return Found(
            "R100",
            pos,
            end,
            f"{value} is quoted: names are written without quotes",
            f"write {clause(text, pos, end, new)}",
        )
    if (
        value in ("to", "-")
        and "and" in accepted
        and re.search(r"\bbetween\s+\S+\s+$", text[lo:pos])
    ):
        return Found(
            "R119",
            pos,
            end,
            f"'between' takes two values joined with 'and', not '{value}'",
            f"write {clause(text, pos, end, 'and')}",
        )
    if value == "," and re.match(r",[ \t]*(?:then|and|or)\b", text[pos:]):
        return Found(
            "R100",
            pos,
            end,
            f"a ',' before '{text[pos + 1 :].split()[0]}' has nothing to separate",
            f"delete it: {clause(text, pos, end, '')}",
        )
    if value.casefold() in ("else", "otherwise"):
        return Found(
            "R119",
            pos,
            end,
            f"rules have no '{value}': each rule has its own condition",
            "write another rule, with the opposite condition, for the other case",
        )
    two = re.search(r"\bon[ \t]+(\w+)[ \t]*$", text[max(lo, pos - _WINDOW) : pos])
    if two is not None and value in ("and", "or", ","):
        return Found(
            "R100",
            pos,
            end,
            f"a rule has one event, not '{two.group(1)} {value} …'",
            "write one rule for each event",
        )
    if value == ",":
        return _label_list(text, pos, end)
    # a word: a name, or a keyword of somewhere else (``items``) read as one
    worded = kind == "NAME" or (kind == value.upper() and value.isalpha())
    if worded and "<NAME>" not in accepted:
        return _after_number(text, pos, end) or _joined(text, pos, end)
    return None


#: A comparison with a number, just before a word: ``order subtotal >= 50.00 EUR``.
_COMPARED = re.compile(
    r"(?:[<>=!]+|\bis(?:\s+not)?|\bbetween|\band)[ \t]*[+-]?\d+(?:\.\d+)?[ \t]+$"
)


def _after_number(text: str, start: int, end: int) -> Found | None:
    """A currency or a unit after a number compared: ``order subtotal >= 50.00 EUR``."""
    lo, _ = line_bounds(text, start)
    word = text[start:end]
    if (
        not _COMPARED.search(text, max(lo, start - _WINDOW), start)
        or word in ACTIONS
        or not _NAME_END.match(text, end)
    ):
        return None
    code = word.upper()
    if code in MINOR_UNITS:
        fixed = clause(text, start - 1, end, "")
        fixed = re.sub(rf"(\d)\s+{re.escape(word)}\b", r"\1", fixed)
        return Found(
            "R100",
            start,
            end,
            f"'{word}' after an amount: amounts are compared without their currency",
            f"test the currency on its own: write {fixed} and order currency is {code}",
        )
    return Found(
        "R100",
        start,
        end,
        f"'{word}' after a number: numbers are compared without a unit",
        f"write {clause(text, start - 1, end, '')}",
    )


def _label_list(text: str, start: int, end: int) -> Found | None:
    """``customer has label A, B`` (stopped at the comma): several labels are
    tested with 'any label of'."""
    lo, _ = line_bounds(text, start)
    m = re.search(r"\b(has|lacks)[ \t]+label[ \t]+\w+[ \t]*$", text[lo:start])
    if m is None or not re.match(r",[ \t]*(?!(?:then|and|or|when)\b)[^\W\d]", text[start:]):
        return None
    begin = lo + m.start()
    head = m.group().replace("label", "any label of", 1)
    fixed = clause(text, begin, lo + m.end(), head)
    return Found(
        "R119",
        begin,
        end,
        f"'{m.group(1)} label' takes one label: several are written '{m.group(1)} any label of'",
        f"write {fixed}",
    )


#: A comparison, then 'and' or 'or', just before an operator with no field.
_FIELD_BEFORE = re.compile(
    r"(?:\bwhen|\band|\bor|\bnot|\()[ \t]+((?:[^\W\d]\w*[ \t]+)+?)"
    r"[<>=!]+[ \t]*\S+[ \t]+(and|or)[ \t]+$"
)


def _operator(text: str, pos: int, end: int, accepted: set[str]) -> Found | None:
    value = text[pos:end]
    before = re.search(r"([<>=!]+)([ \t]+)$", text[max(0, pos - 8) : pos])
    if before is not None:  # > =
        start = pos - len(before.group())
        new = before.group(1) + value
        return Found(
            "R117",
            start,
            end,
            f"'{before.group(1)}{before.group(2)}{value}' has a space inside the comparison",
            f"write {clause(text, start, end, new)}",
        )
    field = _FIELD_BEFORE.search(text, max(line_bounds(text, pos)[0], pos - _WINDOW), pos)
    if field is not None and "not" in accepted:  # order subtotal > 100 and < 200
        words = field.group(1).strip()
        return Found(
            "R100",
            pos,
            end,
            f"'{value}' after '{field.group(2)}' has no field: each comparison names its field",
            f"write {clause(text, pos, pos, words + ' ')}",
        )
    if value == "!" and "not" in accepted:
        return Found(
            "R117",
            pos,
            end,
            "'!' is how other languages write 'not'",
            f"write {clause(text, pos, end, 'not ')}",
        )
    return None


def field_habit(entity: str, words: list[str]) -> tuple[str, str, str] | None:
    """The code, message and fix of a condition whose field's words are really
    keywords, which the parser reads as a field: ``customer not has label
    Loyal`` (R119), ``customer Has label Loyal`` (R118)."""
    phrase = " ".join(words)
    for pattern, fix in _WORDING:
        m = pattern.match(phrase)
        if m is not None and fix is _lacks and m.end() < len(phrase):
            after = phrase[m.end() :].split()  # label Customer VIP: one name, Customer_VIP
            keywords = 0
            while keywords < len(after) and after[keywords] in ("any", "label", "of"):
                keywords += 1
            rest = " ".join([*after[:keywords], "_".join(after[keywords:])]).strip()
            return (
                "R119",
                f"'{m.group()}' is not how a rule says it: {fix(m)[1]}",
                f"write {entity} lacks {rest}",
            )
    low = words[0].casefold()
    if low in ("has", "lacks") and words[0] != low and len(words) > 2:
        rest = " ".join([words[1], "_".join(words[2:])])
        return (
            "R118",
            f"'{words[0]}' is the keyword '{low}' in capitals: keywords are lower case",
            f"write {entity} {low} {rest}",
        )
    return None
