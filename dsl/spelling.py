"""Names close to a real one: "did you mean" that sees through case, look-alike
and invisible characters, and never suggests text that looks like what was typed.

A name pasted from a document may hold a Cyrillic ``о`` where the Latin
``o`` was meant, a zero for an O, or an invisible character: it then looks
exactly like the right name, and "did you mean 'customer'?" would read as
nonsense. :func:`hint` says which character is wrong instead, with its code
point, and shows the name meant only when it looks different.
"""

from __future__ import annotations

import difflib
import functools
import unicodedata
from collections.abc import Iterable, Sequence

__all__ = ["explain", "hint", "lookalike", "notes", "skeleton", "suggest"]

#: Letters of other scripts that look like a Latin letter, and that letter.
_SCRIPTS = (
    # Cyrillic
    "АA ВB ЕE КK МM НH ОO РP СC ТT ХX УY ЅS ІI ЈJ ӀI ԚQ ԜW"
    " аa еe оo рp сc уy хx ѕs іi јj һh ӏl ԁd ԛq ԝw үy ѡw"
    # Greek
    " ΑA ΒB ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX οo νv ιi κk ρp υu χx αa"
    # Latin letters that look like another one
    " ıi ſf"
)
_LOOKS_LIKE: dict[str, str] = {pair[0]: pair[1] for pair in _SCRIPTS.split()}
#: Digits and letters that are easily taken for one another (visibly different
#: in most fonts, so the name meant is still shown, with the character named).
_SIMILAR = frozenset({("0", "o"), ("0", "O"), ("1", "l"), ("1", "I"), ("l", "I"), ("I", "l")})
_SIMILAR_BOTH = _SIMILAR | {(b, a) for a, b in _SIMILAR}


def _invisible(ch: str) -> bool:
    """A character that shows as nothing, or as a space: U+200B, a no-break space, …"""
    return unicodedata.category(ch) in ("Cf", "Zs", "Zl", "Zp", "Cc")


def lookalike(ch: str) -> str:
    """The plain character ``ch`` looks like (itself when it is plain): Cyrillic
    ``о`` → ``o``, fullwidth ``Ｅ`` → ``E``."""
    if ch < "\x80":
        return ch
    if ch in _LOOKS_LIKE:
        return _LOOKS_LIKE[ch]
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 and folded < "\x80" else ch


def _key(ch: str) -> str:
    """One character as it is matched: looked-alike and case-folded ('' if invisible)."""
    return "" if _invisible(ch) else lookalike(ch).casefold()


@functools.lru_cache(maxsize=65536)
def skeleton(word: str) -> str:
    """``word`` as it looks, ignoring case: look-alike letters made Latin,
    invisible characters dropped (``Сustоmer\\u200b`` → ``customer``)."""
    if word.isascii():
        return word.casefold()
    return "".join(_key(ch) for ch in word)


@functools.lru_cache(maxsize=65536)
def _loose(word: str) -> str:
    """A looser key still: digits read as the letters they look like, and
    underscores, hyphens and spaces left out (``OrderCreated``, ``subt0tal``)."""
    return skeleton(word).translate(_LOOSE)


_LOOSE = str.maketrans({"0": "o", "1": "l", "i": "l", "_": None, "-": None, " ": None})


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word``, if one is close: for "did you mean".

    The same name in other capitals comes first, then one that looks the
    same (look-alike letters, invisible characters, ``0`` for ``O``,
    ``OrderCreated`` for ``order_created``), then the closest spelling.
    """
    cands = list(dict.fromkeys(candidates))
    if not cands:
        return None
    lowered = word.lower()
    for c in cands:
        if c.lower() == lowered:
            return c
    key = skeleton(word)
    for c in cands:
        if skeleton(c) == key:
            return c
    loose = _loose(word)
    for c in cands:
        if _loose(c) == loose:
            return c
    keyed: dict[str, str] = {}
    for c in cands:
        keyed.setdefault(skeleton(c), c)
    found = difflib.get_close_matches(key, list(keyed), n=3, cutoff=0.6)
    if not found:
        return None
    # among equally close words, prefer one that starts like the word typed
    best = difflib.SequenceMatcher(None, key, found[0]).ratio()
    for f in found:
        close = difflib.SequenceMatcher(None, key, f).ratio() == best
        if close and f[:1] == key[:1]:
            return keyed[f]
    return keyed[found[0]]


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def _named(ch: str) -> str:
    """``U+043E CYRILLIC SMALL LETTER O``."""
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'an unnamed character')}"


def _kind(ch: str) -> str:
    """How to name a plain character to someone who will type it: "the Latin letter 'o'"."""
    if ch.isdigit():
        return f"the digit {ch}"
    if ch.isascii() and ch.isalpha():
        return f"the Latin letter '{ch}'"
    return f"'{ch}'"


def notes(typed: str, meant: str) -> tuple[list[str], bool]:
    """What tells ``typed`` from ``meant`` beyond plain spelling, and whether
    the two look different at all.

    Returns the notes (each naming a character by its code point: a
    look-alike letter, a digit for a letter, an invisible character) and
    ``visible``: False when the only differences are characters that look
    the same, so that showing ``meant`` would show the text typed again.
    """
    out: list[str] = []
    visible = False
    tk = [_key(c) or f"\0{c}" for c in typed]
    mk = [_key(c) or f"\0{c}" for c in meant]
    matcher = difflib.SequenceMatcher(None, tk, mk, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for pos, (a, b) in enumerate(zip(typed[i1:i2], meant[j1:j2], strict=True), i1 + 1):
                if a == b:
                    continue
                if lookalike(a) == lookalike(b):  # the same glyph, another code point
                    out.append(_swap_note(pos, a, b))
                elif a.casefold() == b.casefold():
                    visible = True  # only the case differs: showing the name is enough
                else:  # a look-alike of the other case (Cyrillic 'С' for 'c')
                    out.append(_swap_note(pos, a, b))
                    visible = True
            continue
        gone = typed[i1:i2]
        if tag == "delete" and all(_invisible(c) for c in gone):
            out.append(_invisible_note(typed, i1, i2))
            continue
        pairs = list(zip(gone, meant[j1:j2], strict=False))
        if tag == "replace" and i2 - i1 == j2 - j1 and all(p in _SIMILAR_BOTH for p in pairs):
            for pos, (a, b) in enumerate(pairs, i1 + 1):
                out.append(
                    f"its {_ordinal(pos)} character is {_kind(a)} ({_named(a)}), not {_kind(b)}"
                )
        elif meant.isascii():
            # a letter of another script where the name has a plain one (a Greek
            # 'Ρ', which looks like a P, for an R): say which, it is easy to miss
            for pos, a in enumerate(gone, i1 + 1):
                if not a.isascii() and not _invisible(a):
                    out.append(f"its {_ordinal(pos)} character, '{a}', is {_named(a)}")
        visible = True
    return out, visible


def _swap_note(pos: int, a: str, b: str) -> str:
    where = f"its {_ordinal(pos)} character, '{a}', is {_named(a)}"
    if a.isascii() and not b.isascii():  # the name meant is the odd one (a declaration)
        return f"{where}, where the name it matches has {_named(b)}, which looks the same"
    return f"{where}, not {_kind(b)} it looks like"


def _invisible_note(typed: str, i1: int, i2: int) -> str:
    chars = ", ".join(dict.fromkeys(_named(c) for c in typed[i1:i2]))
    what = "an invisible character" if i2 - i1 == 1 else "invisible characters"
    if " " in typed[i1:i2] and len(set(typed[i1:i2])) == 1:
        what, chars = ("a space" if i2 - i1 == 1 else "spaces"), ""
    if i1 == 0:
        place = "at the start"
    elif i2 == len(typed):
        place = "at the end"
    else:
        place = f"after '{typed[:i1]}'"
    return f"it has {what}{f' ({chars})' if chars else ''} {place}"


def hint(word: str, candidates: Sequence[str] | Iterable[str]) -> str | None:
    """A "did you mean" for ``word`` among ``candidates``, or None when none is close.

    When the closest name looks exactly like ``word`` (the difference is a
    look-alike or an invisible character), the hint names the character, by
    its code point, instead of repeating the name.
    """
    best = suggest(word, candidates)
    if best is None:
        return None
    return explain(word, best)


def explain(word: str, meant: str) -> str:
    """How to get from ``word`` to ``meant``, never by showing text that looks like ``word``."""
    found, visible = notes(word, meant)
    if not visible and found:
        fix = "delete it" if all(n.startswith("it has") for n in found) else "retype it"
        if len(found) > 1:
            fix = fix.replace(" it", " them")
        if any("where the name it matches" in n for n in found):
            fix = "retype that letter where the name is declared, or here"
        return "; ".join(found) + f": {fix}"
    if found:
        return f"did you mean '{meant}'? ({'; '.join(found)})"
    return f"did you mean '{meant}'?"
