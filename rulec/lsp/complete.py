"""Completion: what may be typed at the cursor.

Keywords come from the grammar itself: the item the cursor is in is read by
the parser up to the cursor, and the keywords it would accept next are
offered (:func:`rulec.dsl.parser.keywords_after`), so ``on order_created ``
offers ``when``, ``for`` and ``then`` and never a keyword that would be a
syntax error. Names come from the rule set and its vocabulary: events after
``on``, an entity's fields after the entity (``order `` → ``subtotal``…),
the labels declared for the entity after ``has label``, a field's values
after ``is``, currencies after an amount, actions after ``then``.
"""

from __future__ import annotations

import enum
import functools
import re

from attrs import frozen

from rulec.dsl.currencies import MINOR_UNITS
from rulec.dsl.nodes import CouponFamily, label_text
from rulec.dsl.parser import keywords, keywords_after
from rulec.dsl.verbs import ACTIONS
from rulec.dsl.vocabulary import Type, Vocabulary
from rulec.lsp.hover import entity_text, event_text, family_text, field_text
from rulec.lsp.keywords import keyword_doc
from rulec.lsp.lookup import in_code
from rulec.lsp.project import RuleSetView

__all__ = ["Candidate", "What", "complete"]


class What(enum.Enum):
    KEYWORD = "keyword"
    EVENT = "event"
    ENTITY = "entity"
    FIELD = "field"
    LABEL = "label"
    COUPON_FAMILY = "coupon family"
    VALUE = "value"
    CURRENCY = "currency"
    ACTION = "action"


@frozen
class Candidate:
    """One completion: the text inserted, what it is, a short detail and a longer text."""

    text: str
    what: What
    detail: str = ""
    documentation: str | None = None


_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[<>=!]+|[(),]|[^\s(),"<>=!#]+')
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def complete(view: RuleSetView, text: str, line: int, column: int) -> list[Candidate]:
    """The completions at 1-based ``line``:``column`` of ``text`` (a file of ``view``)."""
    lines = text.split("\n")
    line_text = lines[line - 1] if line <= len(lines) else ""
    if not in_code(line_text, column):
        return []
    before = line_text[: column - 1]
    prefix = re.search(r"\w*$", before)
    head = before[: len(before) - len(prefix.group())] if prefix else before
    tokens = _TOKEN.findall(head)
    start = _item_start(lines, line)
    item_text = "\n".join([*lines[start : line - 1], head])
    grammar = keywords_after(item_text)
    out: list[Candidate] = []
    names = _names(view, tokens)
    out.extend(names)
    if grammar is not None:
        accepted = grammar[0]
        starters = _starters()
        if tokens and set(starters) <= set(accepted):
            # the item may end here: what starts the next one belongs on a line of its own
            accepted = tuple(k for k in accepted if k not in starters)
    else:
        accepted = () if names else keywords()
    out.extend(Candidate(k, What.KEYWORD, "keyword", keyword_doc(k)) for k in accepted)
    seen: set[tuple[str, What]] = set()
    unique = []
    for c in out:
        if (c.text, c.what) not in seen:
            seen.add((c.text, c.what))
            unique.append(c)
    return unique


@functools.cache
def _starters() -> tuple[str, ...]:
    """The keywords an item starts with (``label``, ``on``, ``rule``, ``test``)."""
    found = keywords_after("")
    return found[0] if found else ()


def _families(view: RuleSetView) -> list[Candidate]:
    """The coupon families the rule set declares, with their codes."""
    return [
        Candidate(item.name.text, What.COUPON_FAMILY, "coupon family", family_text(view, name))
        for item in view.all_items()
        if isinstance(item, CouponFamily)
        for name in (item.name.text,)
    ]


def _item_start(lines: list[str], line: int) -> int:
    """The 0-based line the item holding 1-based ``line`` starts on: the last line at
    or above it that starts in the first column (items start there; the clauses of a
    block and the continued lines of a rule are indented)."""
    for n in range(line - 1, -1, -1):
        text = lines[n]
        if text[:1] and not text[:1].isspace() and not text.startswith("#"):
            return n
    return 0


def _names(view: RuleSetView, tokens: list[str]) -> list[Candidate]:
    vocab = view.vocabulary
    if not tokens:
        return []
    last = tokens[-1]
    prev = tokens[-2] if len(tokens) > 1 else None
    if last == "on":
        return _events(vocab)
    if last == "for":
        if tokens[0] == "label":
            return _entities(vocab, labelled=True)
        if "on" in tokens and tokens.index("on") + 1 < len(tokens):
            subjects = vocab.subjects(tokens[tokens.index("on") + 1])
            return [_entity(vocab, s) for s in subjects if vocab.entity(s)]
        return []
    if tokens[0] == "label" and last in ("label", ","):
        return []  # a declaration names new labels
    if last == "in" and prev == "coupon":  # ``order has coupon in `` : the families
        return _families(view)
    labels = _label_context(tokens)
    if labels is not None:
        return _labels(view, labels or None)
    if last in ("to", "from") and "label" in tokens[-4:-1]:
        return _entities(vocab, labelled=True)
    if _NUMBER.fullmatch(last) and prev != "priority":
        return _currencies()
    values = _field_values(vocab, tokens)
    if values is not None:
        return values
    entity = vocab.entity(last)
    if entity is not None and prev not in ("label", "for"):
        settable = prev == "set"
        return [
            Candidate(
                f.name, What.FIELD, f"{entity.name} {f.name}: {f.type.value}", field_text(entity, f)
            )
            for f in entity.fields
            if f.settable or not settable
        ]
    if last in ("when", "and", "or", "not", "(", "given", "any") and not _in_actions(tokens):
        return _entities(vocab)
    if last == "expect" or (
        last in ("then", ",", "and", "no") and (_in_actions(tokens) or last in ("then", "no"))
    ):
        return [Candidate(v, What.ACTION, f"{v} {shape}") for v, shape in ACTIONS.items()]
    if last in ("set", "show", "hide"):
        return _entities(vocab)
    return []


def _in_actions(tokens: list[str]) -> bool:
    return "then" in tokens or (tokens[:1] == ["expect"])


def _label_context(tokens: list[str]) -> str | None:
    """The entity whose labels fit at the end of ``tokens`` ('' for any entity), or None
    when a label does not: after ``has label``, ``lacks label``, ``label of``, a comma
    in such a list, and ``add label`` / ``remove label``."""
    last = tokens[-1]
    prev = tokens[-2] if len(tokens) > 1 else None
    if last == "label" and prev in ("add", "remove"):
        return ""
    if last == "label" and prev in ("has", "lacks"):
        return _entity_before(tokens, len(tokens) - 1)
    if last == "of" and prev == "label":
        return _entity_before(tokens, len(tokens) - 1)
    if last == ",":
        # back over the list written so far (`has any label of A, B,`) to its `label of`
        for n in range(len(tokens) - 2, 0, -1):
            if tokens[n] == "of" and tokens[n - 1] == "label":
                return _entity_before(tokens, n)
            if tokens[n] != "," and tokens[n + 1] != ",":
                break
    return None


def _entity_before(tokens: list[str], at: int) -> str:
    """The entity of the last ``has``/``lacks`` at or before ``at`` ('' if none)."""
    for n in range(at, 0, -1):
        if tokens[n] in ("has", "lacks"):
            return tokens[n - 1]
    return ""


def _field_values(vocab: Vocabulary, tokens: list[str]) -> list[Candidate] | None:
    """A field's values after ``is``, ``is not``, ``=``, ``in (``, or ``set … to``."""
    end = len(tokens) - 1
    if tokens[end] == "not" and end > 0 and tokens[end - 1] == "is":
        end -= 1
    elif tokens[end] in ("(", ",") and "in" in tokens:
        end = max(i for i, t in enumerate(tokens) if t == "in")
    if tokens[end] not in ("is", "=", "!=", "in", "to"):
        return None
    for start in range(end - 1, -1, -1):
        entity = vocab.entity(tokens[start])
        if entity is None:
            continue
        f = entity.field("_".join(tokens[start + 1 : end]))
        if f is None:
            return None
        if f.type is Type.CURRENCY:
            return _currencies()
        if f.type is Type.BOOLEAN:
            return [Candidate(v, What.VALUE, f"{entity.name} {f.name}") for v in ("true", "false")]
        return [Candidate(v, What.VALUE, f"{entity.name} {f.name}") for v in f.values]
    return None


def _events(vocab: Vocabulary) -> list[Candidate]:
    out = []
    for name in vocab.event_names():
        subjects = vocab.subjects(name)
        event = vocab.event(name, subjects[0] if subjects else None)
        assert event is not None
        detail = event.description or f"{event.kind.value} event"
        out.append(Candidate(name, What.EVENT, detail, event_text(vocab, event)))
    return out


def _entity(vocab: Vocabulary, name: str) -> Candidate:
    entity = vocab.entity(name)
    assert entity is not None
    return Candidate(name, What.ENTITY, entity.description or "entity", entity_text(entity))


def _entities(vocab: Vocabulary, *, labelled: bool = False) -> list[Candidate]:
    return [_entity(vocab, e.name) for e in vocab.entities if e.labelled or not labelled]


def _labels(view: RuleSetView, entity: str | None) -> list[Candidate]:
    out = []
    for label, found in sorted(view.declarations.items()):
        entities = sorted({decl.entity.text for decl, _ in found})
        if entity is not None and view.vocabulary.entity(entity) and entity not in entities:
            continue
        out.append(Candidate(label_text(label), What.LABEL, f"label for {', '.join(entities)}"))
    return out


def _currencies() -> list[Candidate]:
    return [
        Candidate(code, What.CURRENCY, f"{places} decimal places")
        for code, places in MINOR_UNITS.items()
    ]
