"""Deep lint, the pure part: rules that can never win (R320), rules that fight
(R321), windows already closed (R322) and labels never used (R323).

It finds *candidates*. A candidate of R320 or R321 is a pair of rules and
what one does to the other; whether an order really shows it is for the
caller to prove, with an example order run through the engine
(``rulec.tools.deeplint``: the dsl may not import the engine). The rules
are seen as :class:`Facet` values, which the caller makes from loaded rules.

**Bounded.** Pairs are only formed within an event's rules, and a rule is
compared only with the rules that read no label or field it does not read
itself (an index on what each rule reads); every test a pair passes before
the normal forms are built is a cheap one. At most :data:`MAX_PAIRS` pairs
get the expensive test; when the cap is reached, the rules not yet compared
are returned as ``cut``, so the caller can say where the search stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from attrs import field, frozen

from rulec.dsl.check.context import Context, walk
from rulec.dsl.check.implication import Implication, Mention
from rulec.dsl.check.satisfiability import TooBig, contradictory, normal_form
from rulec.dsl.nodes import (
    And,
    Between,
    Compare,
    Condition,
    FieldRef,
    HasAnyLabel,
    HasLabel,
    Ident,
    In,
    Is,
    Item,
    LabelAction,
    LabelDecl,
    Name,
    OnItems,
    Rule,
    Span,
    Window,
)
from rulec.dsl.resolve import resolve_field
from rulec.dsl.vocabulary import Vocabulary

__all__ = [
    "CODES",
    "MAX_PAIRS",
    "MAX_RIVALS",
    "MAX_SCANS",
    "Facet",
    "Pair",
    "Search",
    "closed_windows",
    "label_uses",
    "never_opens",
    "search_pairs",
    "unused_labels",
]

#: The codes of deep lint: reported by ``rulec check`` (``rulec.tools.deeplint``),
#: never by :func:`rulec.dsl.check.check`.
CODES = ("R320", "R321", "R322", "R323", "R324", "R325", "R326")
#: Rule pairs given the implication test at the most, per run.
MAX_PAIRS = 5_000
#: Rule pairs given the cheap tests (settings, windows, amounts) at the most, per run.
MAX_SCANS = 150_000
#: Rules a rule may fight (R321) that are handed to the caller, per rule.
MAX_RIVALS = 3


@frozen
class Facet:
    """A rule as deep lint sees it (made by the caller from a loaded rule)."""

    #: The caller's handle for the rule (its loaded rule), given back in a :class:`Pair`.
    handle: Any = field(eq=False)
    name: str
    event: str
    #: Its place in the policy's order of its event: priority first, then source order.
    rank: int
    priority: int
    exclusive: bool
    combinable: bool
    valid_from: datetime | None
    valid_until: datetime | None
    #: The condition as written (None: always holds).
    condition: Condition | None = field(eq=False)
    #: What the condition reads (:func:`rulec.dsl.check.implication.mentions`).
    reads: frozenset[Mention]
    #: The optional entities whose presence the lowered condition requires.
    guards: frozenset[str]
    #: Its discount actions: ``("percent", pct, cap, cap currency)``,
    #: ``("fixed", amount, currency)``, or a discount that may offer nothing for an
    #: order whose condition holds (on items, tiers): ``("items" | "tiers", figure,
    #: cap, currency)``.
    discounts: tuple[tuple[Any, ...], ...] = ()
    #: The fields it sets: ``(entity, field, value)``.
    sets: tuple[tuple[str, str, str], ...] = ()
    #: Its listing votes: ``(entity, show)``.
    votes: tuple[tuple[str, bool], ...] = ()
    #: Its stacking group (None: the default group): only rules of one group compete.
    group: str | None = None
    #: The order currencies for which it offers a discount (None: every one).
    currencies: frozenset[str] | None = field(init=False)
    #: Its one discount (None: none, or several).
    offer: tuple[Any, ...] | None = field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "currencies", _currencies(self.discounts))
        one = self.discounts[0] if len(self.discounts) == 1 else None
        object.__setattr__(self, "offer", one)


#: Discounts that may offer nothing where their rule's condition holds.
_CONDITIONAL = frozenset({"items", "tiers"})


def _currencies(discounts: tuple[tuple[Any, ...], ...]) -> frozenset[str] | None:
    out: set[str] = set()
    for d in discounts:
        cur = d[3] if d[0] == "percent" else d[2]
        if cur is None:
            return None
        out.add(cur)
    return frozenset(out)


@frozen
class Pair:
    """A candidate: ``loser`` can never win against ``winner`` (R320), or the two
    fight (R321). ``kind`` says how: ``exclusive``, ``better`` (R320);
    ``setting``, ``both-exclusive``, ``visibility`` (R321)."""

    code: str
    kind: str
    event: str
    winner: Facet
    loser: Facet
    #: For ``setting``: the field (``order.status``); for ``visibility``: the entity.
    what: str = ""


@frozen
class Search:
    pairs: list[Pair]
    #: The first rule of each event not fully compared when :data:`MAX_PAIRS` was reached.
    cut: list[tuple[str, Facet]]


def _covers(a: Facet, b: Facet) -> bool:
    """Whether ``a``'s validity window holds whenever ``b``'s does."""
    if a.valid_from is not None and (b.valid_from is None or b.valid_from < a.valid_from):
        return False
    return a.valid_until is None or (b.valid_until is not None and b.valid_until <= a.valid_until)


def _overlap(a: Facet, b: Facet) -> bool:
    """Whether the two validity windows have an instant in common."""
    lo = max((x for x in (a.valid_from, b.valid_from) if x is not None), default=None)
    hi = min((x for x in (a.valid_until, b.valid_until) if x is not None), default=None)
    return lo is None or hi is None or lo < hi


def _offers_with(a: Facet, b: Facet) -> bool:
    """Whether ``a`` offers a discount for every currency ``b`` offers one in."""
    ca, cb = a.currencies, b.currencies
    return ca is None or (cb is not None and cb <= ca)


def _always_more(a: Facet, b: Facet) -> bool:
    """Whether ``a``'s one discount is never smaller than ``b``'s, ties going to ``a``."""
    da, db = a.offer, b.offer
    if da is None or db is None:
        return False
    if da[0] == "percent":
        # a percentage: never less when it is as large and capped no lower; quantized
        # amounts can tie, and a tie goes to the rule that comes first
        if db[0] != "percent" or a.rank > b.rank or da[1] < db[1]:
            return False
        return da[2] is None or (db[2] is not None and da[3] == db[3] and da[2] >= db[2])
    if db[0] == "fixed":
        return da[2] == db[2] and (da[1] > db[1] or (da[1] == db[1] and a.rank < b.rank))
    # a fixed amount against a percentage: b never gives more than its cap, in a's currency
    if db[2] is None or db[3] != da[2]:
        return False
    return bool(db[2] < da[1] or (db[2] == da[1] and a.rank < b.rank))


def _shadows(a: Facet, b: Facet) -> str | None:
    """How ``a`` keeps ``b``'s discount (or its listing vote) from ever applying, as
    far as settings, windows and amounts go (the caller tests the conditions):
    ``exclusive``, ``better``, ``overruled`` or None."""
    if b.votes:
        # the first rule in the visibility policy's order decides: a, voting otherwise
        if not a.votes or a.rank > b.rank or _hides(a) == _hides(b) or not _covers(a, b):
            return None
        return "overruled"
    if any(d[0] in _CONDITIONAL for d in a.discounts):
        return None  # it may offer nothing where b offers something
    if a.exclusive:
        kind = "exclusive" if not b.exclusive or a.rank < b.rank else None
    elif (
        b.exclusive
        or a.combinable
        or b.combinable
        or a.group != b.group  # groups stack: a better discount in another does not win
        or not _always_more(a, b)
    ):
        return None
    else:
        kind = "better"
    if kind is None or not _covers(a, b) or not _offers_with(a, b):
        return None
    return kind


def _hides(r: Facet) -> bool:
    """Whether a listing rule hides its candidate (a rule that shows and hides hides)."""
    return not all(show for _entity, show in r.votes)


def _fight(a: Facet, b: Facet) -> tuple[str, str] | None:
    """How ``a`` and ``b`` (``a`` first in the policy's order, same event, same
    priority) fight when both apply: (kind, what) or None."""
    if a.priority != b.priority or not _overlap(a, b):
        return None
    for entity, name, value in b.sets:
        if any(e == entity and n == name and v != value for e, n, v in a.sets):
            return ("setting", f"{entity}.{name}")
    if a.exclusive and b.exclusive and a.discounts and b.discounts:
        return ("both-exclusive", "")
    for entity, show in b.votes:
        if any(e == entity and s != show for e, s in a.votes):
            return ("visibility", entity)
    return None


def search_pairs(
    events: Mapping[str, Sequence[Facet]],
    vocabulary: Vocabulary,
    *,
    listing: frozenset[str] = frozenset(),
    max_pairs: int = MAX_PAIRS,
    max_scans: int = MAX_SCANS,
) -> Search:
    """The candidate pairs of each event's rules (``events``: event -> its rules in
    the policy's order, its own and its included events'). A rule is only
    reported under its own event; ``listing`` names the listing events (no
    discounts there, only votes).

    R320 pairs are proved here (the winner's condition is implied by the
    loser's): one per rule at the most, the first winner in the policy's
    order. R321 pairs only need an order for which both hold, which the
    caller looks for: up to :data:`MAX_RIVALS` per rule, the caller keeps the
    first it confirms. ``max_pairs`` bounds the proofs, ``max_scans`` the
    cheap tests.
    """
    pairs: list[Pair] = []
    cut: list[tuple[str, Facet]] = []
    proofs, scans = max_pairs, max_scans
    implies = Implication(vocabulary)
    for event, rules in events.items():
        # the rules that may shadow others, by one thing they read, then by all they read
        index: dict[Mention, dict[frozenset[Mention], list[Facet]]] = {}
        unread: list[Facet] = []  # rules whose conditions read nothing
        rivals: dict[tuple[Any, ...], list[Facet]] = {}  # what two rules may fight over
        for r in rules:
            if r.votes or (
                r.discounts and (r.exclusive or (len(r.discounts) == 1 and not r.combinable))
            ):
                key = min(r.reads, default=None)
                if key is None:
                    unread.append(r)
                else:
                    index.setdefault(key, {}).setdefault(r.reads, []).append(r)
            if r.event == event:
                for k in _stakes(r):
                    rivals.setdefault(k, []).append(r)
        for b in rules:
            if b.event != event:
                continue
            if proofs <= 0 or scans <= 0:
                cut.append((event, b))
                break
            shadowed = False
            if b.votes if event in listing else b.discounts:
                for a in _shadow_candidates(b, index, unread):
                    scans -= 1
                    if scans <= 0:
                        break
                    kind = _shadows(a, b) if a is not b else None
                    if kind is None or not a.guards <= b.guards:
                        continue
                    proofs -= 1
                    if implies(b.condition, a.condition):
                        pairs.append(Pair("R320", kind, event, a, b))
                        shadowed = True
                        break
                    if proofs <= 0 or scans <= 0:
                        break
            if shadowed:
                continue
            found = 0
            for k in _stakes(b):
                for a in rivals.get(k, ()):
                    if a.rank >= b.rank or found >= MAX_RIVALS:
                        break
                    scans -= 1
                    fight = _fight(a, b)
                    if fight is not None:
                        found += 1
                        pairs.append(Pair("R321", fight[0], event, a, b, fight[1]))
    return Search(pairs, cut)


def _stakes(r: Facet) -> Iterator[tuple[Any, ...]]:
    """What ``r`` may fight another rule of its priority over: a field it sets, the
    exclusivity of its discount, the candidates it shows or hides."""
    for entity, name, _value in r.sets:
        yield (r.priority, "set", entity, name)
    if r.exclusive and r.discounts:
        yield (r.priority, "exclusive")
    for entity, _show in r.votes:
        yield (r.priority, "vote", entity)


def _shadow_candidates(
    b: Facet,
    index: Mapping[Mention, Mapping[frozenset[Mention], list[Facet]]],
    unread: list[Facet],
) -> Iterator[Facet]:
    """The rules that read nothing ``b`` does not read (each is in one group of the
    index, under the least thing it reads, or among the ``unread``)."""
    yield from unread
    for m in b.reads:
        for reads, group in index.get(m, {}).items():
            if reads <= b.reads:
                yield from group


def closed_windows(rules: Iterable[Facet], as_of: datetime) -> Iterator[Facet]:
    """The rules whose validity window closed at or before ``as_of`` (R322)."""
    for r in rules:
        if r.valid_until is not None and r.valid_until <= as_of:
            yield r


def never_opens(rule: Rule, vocabulary: Vocabulary) -> Window | None:
    """The window of ``rule`` when its conditions only hold for orders created outside
    it (R322): its tests of the order's creation contradict its window, which is
    judged at that creation. Proved with R307's machinery, so only reported when sure.
    """
    window = next((m for m in reversed(rule.meta) if isinstance(m, Window)), None)
    if window is None or rule.condition is None:
        return None
    field_ref = next(
        (
            c.field
            for c in walk(rule.condition)
            if isinstance(c, Compare | Between | In) and _is_creation(c.field, vocabulary)
        ),
        None,
    )
    if field_ref is None:
        return None
    bounds: list[Condition] = []
    if window.start is not None:
        bounds.append(Compare(field_ref, Name(">="), window.start))
    if window.end is not None:
        # until a day: through its end; until an instant: up to it
        op = "<" if ":" in window.end.text else "<="
        bounds.append(Compare(field_ref, Name(op), window.end))
    try:
        terms = normal_form(And((rule.condition, *bounds)))
    except TooBig:
        return None
    ctx = Context(vocabulary, ())
    return window if terms and all(contradictory(t, ctx) for t in terms) else None


def _is_creation(ref: FieldRef, vocabulary: Vocabulary) -> bool:
    resolved = resolve_field(vocabulary, ref)
    return resolved is not None and (resolved[0].name, resolved[1].name) == ("order", "created_at")


def label_uses(items: Iterable[Item]) -> tuple[set[tuple[str, str]], set[str], set[str]]:
    """What the rules do with labels: ``(entity, label)`` pairs given by an ``add``
    action, the names tested in conditions, and every label name a rule writes
    (tested, added or removed)."""
    given: set[tuple[str, str]] = set()
    tested: set[str] = set()
    written: set[str] = set()
    for item in items:
        if not isinstance(item, Rule):
            continue
        for c in walk(item.condition):
            if isinstance(c, HasLabel):
                tested.add(c.label.text)
            elif isinstance(c, HasAnyLabel):
                tested.update(n.text for n in c.labels)
            elif isinstance(c, Is) and isinstance(c.value, Ident):
                tested.add(c.value.name)  # ``label is Customer_VIP``
            elif isinstance(c, Compare) and isinstance(c.value, Ident):
                tested.add(c.value.name)
            elif isinstance(c, In):
                tested.update(v.name for v in c.values if isinstance(v, Ident))
        for a in item.actions:
            on = getattr(a, "items", None)  # a discount on the items with a label
            if isinstance(on, OnItems) and on.label is not None:
                tested.add(on.label.text)
            if isinstance(a, LabelAction):
                written.add(a.label.text)
                if a.preposition == "to":
                    given.add((a.entity.text, a.label.text))
    return given, tested, written | tested


def unused_labels(items: Iterable[Item]) -> Iterator[tuple[str, str, Span]]:
    """Declared labels no rule mentions (R323): ``(entity, label, declaration span)``."""
    items = list(items)
    _given, _tested, written = label_uses(items)
    seen: set[tuple[str, str]] = set()
    for item in items:
        if isinstance(item, LabelDecl):
            for n in item.names:
                key = (item.entity.text, n.text)
                if n.text not in written and key not in seen and n.span is not None:
                    seen.add(key)
                    yield (item.entity.text, n.text, n.span)


def declared_labels(items: Iterable[Item]) -> dict[tuple[str, str], Span]:
    """Every declared ``(entity, label)`` and where it is first declared."""
    out: dict[tuple[str, str], Span] = {}
    for item in items:
        if isinstance(item, LabelDecl):
            for n in item.names:
                if n.span is not None:
                    out.setdefault((item.entity.text, n.text), n.span)
    return out
