"""Deep lint in ``rulec check``: rules that can never win (R320) or that fight
(R321), each shown by an example order run through the engine; windows
already closed (R322); labels never used (R323); with ``--db``, the labels
table against the declarations (R324, R325, in :mod:`.dblabels`).

The pure search for candidates is :mod:`rulec.dsl.check.deep`. Here each
candidate pair gets an example order from :func:`rulec.dsl.solve.example`
and is reported only when :func:`rulec.engine.core.decide.decide`, over the
whole rule set, shows what the diagnostic says for that order: every
example printed is one the engine confirms. Rules with errors stop deep
lint (the errors say more); a load never runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rulec.dsl.check.deep import (
    MAX_PAIRS,
    MAX_SCANS,
    Facet,
    Pair,
    closed_windows,
    never_opens,
    search_pairs,
    unused_labels,
)
from rulec.dsl.check.implication import mentions
from rulec.dsl.diagnostics import CODES, Diagnostic
from rulec.dsl.gcpause import paused_gc
from rulec.dsl.lowered import AllOf, Condition, Present
from rulec.dsl.nodes import Rule, Span, Window
from rulec.dsl.solve import example
from rulec.dsl.sources import Analysis
from rulec.dsl.vocabulary import Kind, Vocabulary
from rulec.engine.core import discount, visibility
from rulec.engine.core.decide import decide
from rulec.engine.core.decision import Decision
from rulec.engine.core.load import from_analysis
from rulec.engine.core.rules import (
    BuyGet_,
    FixedDiscount_,
    ItemsPercent_,
    PercentDiscount_,
    PerItem_,
    Rule_,
    SetField_,
    Tiered_,
    Visibility_,
)
from rulec.engine.core.ruleset import RuleSet
from rulec.tools.words import facts_in_words

if TYPE_CHECKING:
    from sqlalchemy import Engine as SqlEngine

__all__ = [
    "MAX_CONFIRM",
    "Finding",
    "confirm",
    "confirm_budget",
    "deep_lint",
    "examples",
    "findings",
    "with_deep_lint",
]

_EXAMPLE_SUBTOTAL = Decimal("100.00")
#: Rules run through the engine for example orders at the most, per run: each
#: candidate costs the number of rules of its event (an example order is decided
#: by the whole rule set, so that what it shows is what the engine does).
MAX_CONFIRM = 50_000
#: …and no more than this many per rule of the set (a smaller set checks faster,
#: and deep lint keeps to a share of that), but at least :data:`MIN_CONFIRM`.
CONFIRM_PER_RULE = 20
MIN_CONFIRM = 10_000


def confirm_budget(rules: int) -> int:
    """How many rules deep lint may run through the engine for a set of ``rules``."""
    return min(MAX_CONFIRM, max(MIN_CONFIRM, CONFIRM_PER_RULE * rules))


class Finding:
    """A confirmed R320 or R321: the pair, the example facts and the decision."""

    def __init__(
        self,
        pair: Pair,
        facts: dict[str, Any],
        decision: Decision,
        shown: frozenset[str],
        beaten_by: str,
    ) -> None:
        self.pair = pair
        #: The rule the loser loses to for this order: the pair's winner, or for R320
        #: a third rule that beats both (the loser never wins either way).
        self.beaten_by = beaten_by
        #: The facts the engine decided (the example, with a subtotal, currency and moment).
        self.facts = facts
        self.decision = decision
        #: The facts the message names: the example's own, the money, the moment if it matters.
        self.shown = shown

    @property
    def winner(self) -> Rule_:
        return self.pair.winner.handle  # type: ignore[no-any-return]

    @property
    def loser(self) -> Rule_:
        return self.pair.loser.handle  # type: ignore[no-any-return]


def deep_lint(
    analysis: Analysis,
    vocabulary: Vocabulary,
    *,
    as_of: date | None = None,
    db: Callable[[], SqlEngine] | None = None,
    max_pairs: int = MAX_PAIRS,
    max_confirm: int | None = None,
) -> list[Diagnostic]:
    """The deep-lint warnings of an analysed rule set (none while it has errors).

    ``as_of`` is the day windows are judged at (default: today, UTC);
    ``db`` opens the database whose labels table is compared with the
    declarations (``rulec check --db URL``).
    """
    if not analysis.ok:
        return []
    day = as_of or datetime.now(UTC).date()
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    items = [i for s in analysis.sources for i in analysis.items.get(s.path, ())]
    out: list[Diagnostic] = []
    for entity, label, span in unused_labels(items):
        out.append(
            _diagnostic(
                "R323",
                f"label '{label}' is declared for {entity} but no rule uses it",
                span,
                f"remove '{label}' from the declaration, or use it in a rule",
            )
        )
    if db is not None:
        from rulec.tools.dblabels import compare_labels

        out += compare_labels(items, db())
    with paused_gc():  # many small objects, none of them cyclic garbage
        rule_set = from_analysis(analysis, vocabulary)
        nodes = _ast_rules(analysis, rule_set)
        facets = _facets(rule_set, nodes, vocabulary)
        dead: set[int] = set()  # rules that apply to no order: not paired with others
        for f in closed_windows(facets.values(), moment):
            window = _window(nodes[id(f.handle)])
            out.append(_closed(f, window, day))
            dead.add(id(f.handle))
        for r in rule_set.rules:
            window = None if id(r) in dead else _unopened(r, nodes[id(r)], vocabulary)
            if window is not None and window.span is not None:
                out.append(
                    _diagnostic(
                        "R322",
                        "the validity window never opens for the orders this rule is about: "
                        "its conditions only hold for orders created outside it",
                        window.span,
                        "make the window and the conditions on the order's creation agree",
                    )
                )
                dead.add(id(r))
        live = {k: f for k, f in facets.items() if k not in dead}
        if max_confirm is None:
            max_confirm = confirm_budget(len(rule_set.rules))
        confirmed, cut = findings(rule_set, live, vocabulary, moment, max_pairs, max_confirm)
        out += [_reported(f, nodes, vocabulary) for f in confirmed]
        out += [_diagnostic("R326", why, _head(nodes[id(f.handle)])) for f, why in cut]
    return out


def examples(
    analysis: Analysis, vocabulary: Vocabulary, *, as_of: date
) -> tuple[RuleSet, list[Finding]]:
    """The rule set and the confirmed R320 and R321 findings, each with its example
    order and the engine's decision for it (what the soundness tests hold)."""
    moment = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    rule_set = from_analysis(analysis, vocabulary)
    facets = _facets(rule_set, _ast_rules(analysis, rule_set), vocabulary)
    return rule_set, findings(rule_set, facets, vocabulary, moment)[0]


def _unopened(r: Rule_, node: Rule, vocabulary: Vocabulary) -> Window | None:
    """``never_opens`` for the rules whose window is judged at an order's creation."""
    if r.valid_from is None and r.valid_until is None:
        return None
    ev = next((e for e in vocabulary.events if e.key == r.event), None)
    if ev is None or ev.kind is Kind.LISTING or "order" not in ev.entities:
        return None
    return never_opens(node, vocabulary)


def findings(
    rule_set: RuleSet,
    facets: dict[int, Facet],
    vocabulary: Vocabulary,
    moment: datetime,
    max_pairs: int = MAX_PAIRS,
    max_confirm: int = MAX_CONFIRM,
) -> tuple[list[Finding], list[tuple[Facet, str]]]:
    """The candidate pairs the engine confirms with an example order, and where a cap
    cut the search short (a rule, and what was left undone from it on). Rules
    whose windows closed before ``moment`` are left out."""
    events: dict[str, list[Facet]] = {}
    listing = set()
    for ev in vocabulary.events:
        rules = [
            facets[id(r)]
            for r in rule_set.rules_of(ev.key)
            if id(r) in facets and (r.valid_until is None or r.valid_until > moment)
        ]
        if rules:
            events[ev.key] = sorted(rules, key=lambda f: f.rank)
        if ev.kind is Kind.LISTING:
            listing.add(ev.key)
    search = search_pairs(events, vocabulary, listing=frozenset(listing), max_pairs=max_pairs)
    cut = [
        (
            f,
            f"deep lint stopped at its limits ({max_pairs:,} rule pairs proved, "
            f"{MAX_SCANS:,} compared): this rule and the {event} rules after it were not "
            "compared for shadowing and conflicts",
        )
        for event, f in search.cut
    ]
    confirmed = []
    work = 0
    left: list[Pair] = []
    sizes: dict[str, int] = {}
    done: set[int] = set()  # the rules already reported: one finding per rule
    for pair in search.pairs:
        if id(pair.loser) in done:
            continue
        if pair.event not in sizes:
            sizes[pair.event] = len(rule_set.rules_of(pair.event))
        cost = sizes[pair.event]
        if work + cost > max_confirm:
            left.append(pair)
            continue
        work += cost
        found = confirm(rule_set, pair, moment)
        if found is not None:
            confirmed.append(found)
            done.add(id(pair.loser))
    if left:
        cut.append(
            (
                left[0].loser,
                f"deep lint stopped at its limit of {max_confirm:,} rules run for example "
                f"orders: {len(left):,} rules that may never win or may conflict, this one "
                "first, were not checked with an example order and are not reported",
            )
        )
    return confirmed, cut


def confirm(rule_set: RuleSet, pair: Pair, moment: datetime) -> Finding | None:
    """An example order for ``pair`` that the engine decides as the pair says, or None."""
    a, b = pair.winner.handle, pair.loser.handle
    conds = [c for c in (a.condition, b.condition) if c is not None]
    cond: Condition | None = AllOf(tuple(conds)) if len(conds) > 1 else (conds or [None])[0]
    got = example(cond)
    if got is None:
        return None
    facts = dict(got)
    shown = set(got)
    when = _inside(pair, moment)
    windows = (pair.winner.valid_from, pair.winner.valid_until, pair.loser.valid_from)
    if any(w is not None for w in (*windows, pair.loser.valid_until)):
        shown.add("order.created_at")
    if pair.event in _order_events(rule_set):
        shown.update(("order.subtotal", "order.currency"))
        facts.setdefault("order.created_at", when)
        if facts.get("order.subtotal") is None:
            facts["order.subtotal"] = _EXAMPLE_SUBTOTAL
        if facts.get("order.currency") is None:
            facts["order.currency"] = _currency(pair)
    try:
        decision = decide(rule_set, pair.event, facts, now=when, all_rules=True)
    except Exception:  # an example the engine rejects (money finer than its unit…)
        return None
    beaten_by = _shows(pair, decision)
    if beaten_by is None:
        return None
    return Finding(pair, facts, decision, frozenset(k for k in shown if k in facts), beaten_by)


def _order_events(rule_set: RuleSet) -> set[str]:
    return {e.key for e in rule_set.vocabulary.events if e.kind is not Kind.LISTING}


def _inside(pair: Pair, moment: datetime) -> datetime:
    """An instant in both rules' windows: ``moment`` when it is, else the latest start."""
    a, b = pair.winner, pair.loser
    lo = max((x for x in (a.valid_from, b.valid_from) if x is not None), default=None)
    hi = min((x for x in (a.valid_until, b.valid_until) if x is not None), default=None)
    if (lo is None or lo <= moment) and (hi is None or moment < hi):
        return moment
    if lo is not None:
        return lo
    assert hi is not None
    return hi - timedelta(seconds=1)


def _currency(pair: Pair) -> str:
    for f in (pair.loser, pair.winner):
        if f.currencies:
            return min(f.currencies)
    return "EUR"


def _shows(pair: Pair, d: Decision) -> str | None:
    """The rule that wins in decision ``d`` if it shows what ``pair`` says, else None.

    R320 says the loser can never win: the decision must show it matched and
    lost, to a rule that applied (the winner of the pair, or a third rule that
    beats both for this order). R321 says the two fight: the decision must
    show the pair's winner winning and the loser losing to it.
    """
    a, b = pair.winner.name, pair.loser.name
    if b not in d.matched:
        return None
    if pair.kind == "overruled":
        v = d.verdict
        ok = v is not None and v.rule is not None and v.rule != b and v.rule in d.matched
        return v.rule if ok and v is not None else None
    if pair.kind == "visibility":
        v = d.verdict
        return a if v is not None and v.rule == a and not v.shown and a in d.matched else None
    lost = [x.reason for x in d.lost if x.rule == b]
    if pair.kind == "setting":
        entity, _, name = pair.what.partition(".")
        sets = any(c.rule == a and (c.entity, c.field) == (entity, name) for c in d.field_changes)
        return a if sets and any(f"'{a}'" in r and "is set by" in r for r in lost) else None
    applied = [x.rule for x in d.applied]
    if b in applied:
        return None
    if pair.code == "R320":
        order = [a, *(x for x in applied if x != a)]
        return next((w for w in order if w in applied and any(f"'{w}'" in r for r in lost)), None)
    return a if a in applied and any(f"'{a}'" in r for r in lost) else None


# ------------------------------------------------------------- the rules --


def _ast_rules(analysis: Analysis, rule_set: RuleSet) -> dict[int, Rule]:
    """id(loaded rule) -> its rule as written (loaded rules keep the files' order)."""
    written = [
        i
        for s in analysis.sources
        if s.text is not None
        for i in analysis.items.get(s.path, ())
        if isinstance(i, Rule)
    ]
    out = {}
    for loaded, node in zip(rule_set.rules, written, strict=True):
        assert node.span is not None and (node.span.file, node.span.line) == (
            loaded.file,
            loaded.line,
        )
        out[id(loaded)] = node
    return out


def _facets(rule_set: RuleSet, nodes: dict[int, Rule], vocabulary: Vocabulary) -> dict[int, Facet]:
    """id(loaded rule) -> its facet, ranked in the policy order of its own event."""
    events = {e.key: e for e in vocabulary.events}
    keys: dict[int, tuple[Any, ...]] = {}
    for n, r in enumerate(rule_set.rules):
        ev = events.get(r.event)
        if ev is not None and ev.kind is Kind.LISTING and ev.subject is not None:
            keys[id(r)] = visibility.rank(r, n, ev.subject)
        else:
            keys[id(r)] = discount.rank(r, n)
    order = sorted(rule_set.rules, key=lambda r: keys[id(r)])
    return {id(r): _facet(r, n, nodes[id(r)]) for n, r in enumerate(order)}


def _facet(r: Rule_, rank: int, node: Rule) -> Facet:
    discounts: list[tuple[Any, ...]] = []
    sets, votes = [], []
    for a in r.actions:
        if isinstance(a, PercentDiscount_):
            discounts.append(("percent", a.percent, a.cap, a.cap_currency))
        elif isinstance(a, FixedDiscount_):
            discounts.append(("fixed", a.amount, a.currency))
        elif isinstance(a, ItemsPercent_):
            discounts.append(("items", a.percent, a.cap, a.cap_currency))
        elif isinstance(a, PerItem_):
            discounts.append(("items", a.amount, None, a.currency))
        elif isinstance(a, BuyGet_):
            discounts.append(("items", a.paid, None, None))
        elif isinstance(a, Tiered_):
            discounts.append(("tiers", a.tiers[0].threshold, None, a.tiers[0].currency))
        elif isinstance(a, SetField_):
            sets.append((a.entity, a.field, a.value))
        elif isinstance(a, Visibility_):
            votes.append((a.entity, a.show))
    return Facet(
        r,
        r.name,
        r.event,
        rank,
        r.priority,
        r.exclusive,
        r.combinable,
        r.valid_from,
        r.valid_until,
        node.condition,
        mentions(node.condition),
        frozenset(_guards(r.condition)),
        tuple(discounts),
        tuple(sets),
        tuple(votes),
        r.group,
    )


def _guards(c: Condition | None) -> Iterator[str]:
    stack = [c] if c is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, Present):
            yield n.key
        stack.extend(getattr(n, "operands", ()))
        for name in ("operand", "condition"):
            child = getattr(n, name, None)
            if isinstance(child, Condition):
                stack.append(child)


def _window(node: Rule) -> Window | None:
    found = None
    for m in node.meta:
        if isinstance(m, Window):
            found = m
    return found


def _head(node: Rule) -> Span:
    """The rule's first line (a block's whole span would cover its every line)."""
    s = node.span
    assert s is not None
    end = s.end_column if s.end_line == s.line else s.column + 1
    return Span(s.file, s.line, s.column, s.line, end)


# ------------------------------------------------------------ diagnostics --


def _diagnostic(code: str, message: str, span: Span, suggestion: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, span, CODES[code][0], suggestion)


def _closed(f: Facet, window: Window | None, day: date) -> Diagnostic:
    r: Rule_ = f.handle
    span = window.span if window is not None and window.span is not None else None
    until = window.end if window is not None else None
    written = (
        f"{until.text}{' ' + until.zone.text if until.zone is not None else ''}"
        if until is not None
        else str(r.valid_until)
    )
    return _diagnostic(
        "R322",
        f"the validity window ('until {written}') has closed (as of {day.isoformat()}): "
        "this rule no longer applies to any order",
        span or Span(r.file, r.line, r.column, r.line, r.column + 1),
        "remove the rule, or move its window",
    )


def _named(a: Rule_, b: Rule_) -> str:
    """``'VIP' (line 4)``; a one-line rule's name already says where it is."""
    if a.name.endswith(f":{a.line}"):
        return f"'{a.name}'"
    return f"'{a.name}' ({f'line {a.line}' if a.file == b.file else f'{a.file}:{a.line}'})"


def _beaten(f: Finding) -> str:
    """What the example order shows for an R320: who applies, and that the loser loses."""
    return f"'{f.beaten_by}' applies and '{f.loser.name}' loses to it"


def _reported(f: Finding, nodes: dict[int, Rule], vocabulary: Vocabulary) -> Diagnostic:
    p = f.pair
    a, b = f.winner, f.loser
    ev = next((e for e in vocabulary.events if e.key == p.event), None)
    eg = "e.g. " + facts_in_words({k: v for k, v in f.facts.items() if k in f.shown}, ev)
    span = _head(nodes[id(b)])
    if p.kind == "exclusive":
        return _diagnostic(
            "R320",
            f"rule '{b.name}' can never win: whenever it applies, the exclusive rule "
            f"{_named(a, b)} applies too and takes every other discount's place; "
            f"{eg}: {_beaten(f)}",
            span,
            f"remove '{b.name}', or narrow '{a.name}' so that it leaves some orders to it",
        )
    if p.kind == "overruled":
        how = (
            "at a higher priority"
            if a.priority > b.priority
            else "hide wins over show at the same priority"
        )
        v = f.decision.verdict
        verb = "shows" if v is not None and v.shown else "hides"
        return _diagnostic(
            "R320",
            f"rule '{b.name}' can never decide: whenever it applies, rule {_named(a, b)} "
            f"applies too and decides first ({how}); {eg}: '{f.beaten_by}' {verb} it and "
            f"'{b.name}' is overruled",
            span,
            f"remove '{b.name}', or narrow '{a.name}' so that it leaves some candidates to it",
        )
    if p.kind == "better":
        return _diagnostic(
            "R320",
            f"rule '{b.name}' can never win: whenever it applies, rule {_named(a, b)} "
            "applies too and always gives at least as much; "
            f"{eg}: {_beaten(f)}",
            span,
            f"remove '{b.name}', or make it 'combinable' if it should add to '{a.name}'",
        )
    if p.kind == "setting":
        mine = next(v for e, n, v in p.loser.sets if f"{e}.{n}" == p.what)
        theirs = next(v for e, n, v in p.winner.sets if f"{e}.{n}" == p.what)
        what = p.what.replace(".", " ").replace("_", " ")
        return _diagnostic(
            "R321",
            f"rules {_named(a, b)} and '{b.name}' both set the {what}, to "
            f"{theirs} and to {mine}, at the same priority {b.priority}: the first one written "
            f"wins; {eg}: '{a.name}' sets it to {theirs} and '{b.name}' loses",
            span,
            "give the rule that should win a higher priority",
        )
    if p.kind == "both-exclusive":
        return _diagnostic(
            "R321",
            f"rules {_named(a, b)} and '{b.name}' are both exclusive at priority "
            f"{b.priority} and both apply to some orders: the first one written wins; "
            f"{eg}: '{a.name}' applies and '{b.name}' loses to it",
            span,
            "give the rule that should win a higher priority",
        )
    return _diagnostic(
        "R321",
        f"rules {_named(a, b)} and '{b.name}' both apply to some {p.what} "
        f"candidates at priority {b.priority}, one hiding and one showing: hide wins; "
        f"{eg}: '{a.name}' hides it and '{b.name}' is overruled",
        span,
        "give the rule that should win a higher priority, or narrow one of them",
    )


def with_deep_lint(
    analysis: Analysis,
    vocabulary: Vocabulary,
    *,
    as_of: date | None = None,
    db: Callable[[], SqlEngine] | None = None,
) -> list[Diagnostic]:
    """The checker's diagnostics and deep lint's, in the checker's order (file, line,
    column, code): what ``rulec check`` reports."""
    found: Sequence[Diagnostic] = [
        *analysis.diagnostics,
        *deep_lint(analysis, vocabulary, as_of=as_of, db=db),
    ]
    return sorted(found, key=lambda d: (d.span.file, d.span.line, d.span.column, d.code))
