"""Text that should have been quoted, or was quoted with the wrong marks (issue 21).

When the parser stops at a word that should have been in double quotes, or at
a text closed with a curly quote pasted from a word processor, these say so
from the user's own text, for :mod:`rulec.dsl.syntaxerrors`:

* :func:`unquoted`: R105, a rule's name, a description or a discount's title
  without its quotes (``rule Spring`` -> ``rule "Spring"``); R100 for a word
  before a title (``discount 10% off "x"``), and R104 for an amount without
  its unit before ``on`` (``discount 50 on shipping "x"``);
* :func:`unterminated`: R106, a text opened with ``"`` and closed with a
  curly quote.
"""

from __future__ import annotations

import re

from rulec.dsl.pasted import Found, clause, line_bounds, named
from rulec.dsl.verbs import ACTIONS

__all__ = ["unquoted", "unterminated"]

_QUOTED_WHAT = {"rule": "a rule's name", "description": "a description"}


def unquoted(text: str, start: int, end: int) -> Found | None:
    """R105 from the user's words: the text from ``start`` (the token at
    ``start:end``) that should have been quoted, quoted: ``rule "Spring"``."""
    lo, hi = line_bounds(text, start)
    before = text[lo:start].rstrip()
    stop = re.compile(r"\s+(?:on|when|then|and|priority|description|end)\b|\s*[,#]|$")
    m = stop.search(text, start, hi)
    stop_at = m.start() if m else hi
    words = text[start:stop_at].strip().strip("'\u2018\u2019\u201c\u201d")
    if not words:
        return None
    if '"' in words:  # discount 10% off "x": a word before the title, not a title
        extra = words[: words.index('"')].strip()
        bare = re.search(r"(\d+(?:\.\d+)?)[ \t]+on[ \t]*$", before)  # discount 50 on shipping
        if bare and extra.split()[0] in ("shipping", "items"):
            n, at = bare.group(1), lo + bare.start()
            unit = " EUR per item" if extra[0] == "i" else " EUR"  # per item: on the lines
            money = (n if "." in n else n + ".00") + unit
            return Found(
                "R104",
                at,
                at + len(n),
                "an amount needs '%' for a percentage or a currency code for a fixed amount",
                f"write {n}% on {extra}, or {money} on {extra}",
            )
        amount = re.search(r"(\w+)[ \t]+(\S+)[ \t]*$", before)
        if extra in ACTIONS and amount and amount.group(1) not in ACTIONS:  # give 10% discount
            verb_at = lo + amount.start()
            new = f"{extra} {amount.group(2)}"
            return Found(
                "R100",
                verb_at,
                start + len(extra),
                f"'{amount.group(1)} {amount.group(2)} {extra}': the action's verb comes first",
                f"write {clause(text, verb_at, start + len(extra), new)}",
            )
        return Found(
            "R100",
            start,
            start + len(extra),
            f"unexpected '{extra}' before the quoted text",
            f"write {clause(text, start, start + len(extra) + 1, '')}",
        )
    keyword = re.search(r"(?:\brule|\bdescription|\bdiscount\b.*)$", before)
    head = keyword.group() if keyword else before.split()[-1] if before.split() else ""
    what = _QUOTED_WHAT.get(head, "a discount's title")
    return Found(
        "R105",
        start,
        max(end, start + 1),
        f"{what} must be in double quotes",
        f'write it as {head} "{words}"'.replace("as  ", "as "),
    )


_CLOSING_QUOTES = "\u201c\u201d\u201e\u201f"


def unterminated(text: str, pos: int) -> Found | None:
    """R106 for a text opened at ``pos`` with ``"`` and closed with a curly quote."""
    _, hi = line_bounds(text, pos)
    curly = next((i for i in range(pos + 1, hi) if text[i] in _CLOSING_QUOTES), None)
    if curly is None:
        return None
    ch = text[curly]
    return Found(
        "R106",
        pos,
        pos + 1,
        f"unterminated string: it ends with '{ch}' ({named(ch)}), a curly quote",
        f'write "{text[pos + 1 : curly]}" with straight double quotes',
    )
