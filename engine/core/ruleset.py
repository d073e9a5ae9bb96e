"""Loaded rule sets: immutable, versioned, indexed by event and by label."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from attrs import field, frozen

from rulec.dsl.compiler import CompiledModule
from rulec.dsl.diagnostics import RuleRuntimeError
from rulec.dsl.nodes import Span
from rulec.dsl.vocabulary import Vocabulary
from rulec.engine.core.facts import Facts, flatten_facts
from rulec.engine.core.policy import (
    KNOWN_CURRENCIES,
    Decision,
    Entry,
    Evaluator,
    RuleFailure,
    Simple,
    decide,
    nothing,
    quick_evaluator,
    simple,
    unknown_currency,
)
from rulec.engine.core.rules import Rule_

__all__ = ["Facts", "RuleSet", "flatten_facts"]


@frozen
class _Plan:
    """What one event needs, worked out once: the rules to scan and the label index.

    ``scan`` holds the rules without a label requirement, in source order;
    ``labels`` pairs each labelled entity's fact key (``"customer.labels"``)
    with a dict from label to the rules that need it (source order); and
    ``entities`` names every entity whose facts the quick path reads (for a
    nested-facts check).
    """

    scan: tuple[Rule_, ...]
    labels: tuple[tuple[str, dict[str, tuple[Rule_, ...]]], ...]
    entities: tuple[str, ...]


@frozen
class RuleSet:
    """An immutable set of compiled rules.

    ``rules`` are in source order (files in the order given). The index maps
    each event to the rules that must be scanned on every event
    (``scan``) and, per ``(entity, label)``, the rules that can only match
    when that label is present.
    """

    rules: tuple[Rule_, ...]
    version: str
    modules: tuple[CompiledModule, ...] = field(default=(), repr=False)
    #: The facts the rules read (``"customer.labels"``, ``"order.subtotal"``, …).
    fact_keys: frozenset[str] = frozenset()
    _position: dict[int, int] = field(factory=dict, repr=False, alias="_position")
    #: event -> the events whose rules run on it (itself first).
    _events: dict[str, tuple[str, ...]] = field(factory=dict, repr=False, alias="_events")
    _scan: dict[str, tuple[Rule_, ...]] = field(factory=dict, repr=False, alias="_scan")
    _by_label: dict[str, dict[tuple[str, str], tuple[Rule_, ...]]] = field(
        factory=dict, repr=False, alias="_by_label"
    )
    #: event -> its _Plan, made on first use (filled in by build for known events).
    _plans: dict[str, _Plan] = field(init=False, factory=dict, repr=False, eq=False)
    #: id(rule) -> rank (priority, then source order), worked out on first use.
    _rank: dict[int, int] = field(init=False, factory=dict, repr=False, eq=False)
    #: event -> the facts its rules read, worked out on first use.
    _keys: dict[str, frozenset[str]] = field(init=False, factory=dict, repr=False, eq=False)
    #: event -> the function that evaluates it, made on first use.
    _runners: dict[str, Evaluator] = field(init=False, factory=dict, repr=False, eq=False)
    #: events -> whether a rule runs on any of them, worked out on first use.
    _any: dict[tuple[str, ...], bool] = field(init=False, factory=dict, repr=False, eq=False)

    @classmethod
    def build(
        cls,
        rules: Sequence[Rule_],
        version: str,
        modules: Iterable[CompiledModule] = (),
        vocabulary: Vocabulary | None = None,
    ) -> RuleSet:
        scan: dict[str, list[Rule_]] = {}
        by_label: dict[str, dict[tuple[str, str], list[Rule_]]] = {}
        for r in rules:
            if not r.enabled:
                continue
            if r.labels is None:
                scan.setdefault(r.event, []).append(r)
            else:
                idx = by_label.setdefault(r.event, {})
                for key in r.labels:
                    idx.setdefault(key, []).append(r)
        modules = tuple(modules)
        built = cls(
            tuple(rules),
            version,
            modules,
            frozenset().union(*(m.fact_keys for m in modules)),
            _position={id(r): n for n, r in enumerate(rules)},
            _events={
                e.name: (e.name, *e.includes) for e in (vocabulary.events if vocabulary else ())
            },
            _scan={e: tuple(v) for e, v in scan.items()},
            _by_label={e: {k: tuple(v) for k, v in d.items()} for e, d in by_label.items()},
        )
        # the events that have rules get their evaluator now; the others
        # (most of a large vocabulary) when first asked, at no cost here
        for event in dict.fromkeys((*scan, *by_label)):
            built._runner(event)
        for event, included in built._events.items():
            if any(e in scan or e in by_label for e in included):
                built._runner(event)
        return built

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def events(self) -> frozenset[str]:
        return frozenset(r.event for r in self.rules)

    def keys_for(self, event: str) -> frozenset[str]:
        """The facts the rules of ``event`` read (with the events it includes).

        What the engine loads for that event: the rule set's other events'
        facts (a daily rule's customer order count) cost an order nothing.
        """
        keys = self._keys.get(event)
        if keys is None:
            plan = self._plan(event)
            rules = {id(r): r for r in plan.scan}
            for _, index in plan.labels:
                for hit in index.values():
                    rules.update((id(r), r) for r in hit)
            keys = frozenset(k for r in rules.values() for k in r.facts)
            self._keys[event] = keys
        return keys

    def has_rules(self, event: str) -> bool:
        """Whether an enabled rule runs on ``event`` (its own, or an included event's)."""
        return any(
            ev in self._scan or ev in self._by_label for ev in self._events.get(event, (event,))
        )

    def has_any_rules(self, events: tuple[str, ...]) -> bool:
        """Whether an enabled rule runs on any of ``events``; one lookup after the first call."""
        has = self._any.get(events)
        if has is None:
            has = self._any[events] = any(self.has_rules(e) for e in events)
        return has

    def _plan(self, event: str) -> _Plan:
        """The plan of ``event``, made once (a race makes two equal ones: harmless)."""
        plan = self._plans.get(event)
        if plan is not None:
            return plan
        pos = self._position
        scan: list[Rule_] = []
        per_entity: dict[str, dict[str, list[Rule_]]] = {}
        for ev in self._events.get(event, (event,)):
            scan.extend(self._scan.get(ev, ()))
            for (entity, name), rs in self._by_label.get(ev, {}).items():
                per_entity.setdefault(entity, {}).setdefault(name, []).extend(rs)

        def in_order(rs: list[Rule_]) -> tuple[Rule_, ...]:
            if len(rs) < 2:
                return tuple(rs)
            return tuple(sorted({id(r): r for r in rs}.values(), key=lambda r: pos[id(r)]))

        plan = _Plan(
            in_order(scan),
            tuple(
                (f"{entity}.labels", {name: in_order(rs) for name, rs in idx.items()})
                for entity, idx in per_entity.items()
            ),
            tuple(dict.fromkeys(["order", *per_entity])),
        )
        self._plans[event] = plan
        return plan

    def candidates(self, event: str, labels: Mapping[str, Iterable[str]]) -> list[Rule_]:
        """Enabled rules of ``event`` that could match entities with ``labels``.

        ``labels`` maps an entity name to its labels. Rules come back in
        source order, each once.
        """
        found: list[Rule_] = []
        for ev in self._events.get(event, (event,)):
            found.extend(self._scan.get(ev, ()))
            idx = self._by_label.get(ev)
            if idx:
                for entity, names in labels.items():
                    for name in names:
                        found.extend(idx.get((entity, name), ()))
        if len(found) > 1:
            pos = self._position
            found = sorted({id(r): r for r in found}.values(), key=lambda r: pos[id(r)])
        return found

    def matching(self, event: str, facts: Mapping[str, Any]) -> list[Rule_]:
        """Enabled rules of ``event`` whose conditions hold for ``facts``.

        ``facts`` are read as :meth:`evaluate` reads them (a mapping that is
        not a :class:`Facts` is flattened first). Validity windows are not
        applied here: this is about conditions.
        """
        if type(facts) is not Facts:
            facts = flatten_facts(facts, self.fact_keys)
        labels = {
            key[: -len(".labels")]: value
            for key, value in facts.items()
            if key.endswith(".labels") and value
        }
        return [r for r in self.candidates(event, labels) if r.test(facts)]

    def evaluate(
        self, event: str, facts: Mapping[str, Any], *, raise_errors: bool = False
    ) -> Decision:
        """Decide the discounts for one event, from plain facts; no database.

        ``facts`` is nested (``{"customer": {"labels": {...}, "order_count": 3},
        "order": {"subtotal": Decimal("120.00"), "currency": "EUR",
        "created_at": datetime(...)}}``), flat (``{"order.subtotal": ...}``) or
        a :class:`Facts` (what ``load_facts`` and ``flatten_facts`` return,
        taken as it is; any other mapping is flattened first). A rule that
        raises is skipped and reported in ``Decision.errors``, or raised as
        RuleRuntimeError when ``raise_errors`` is set.
        """
        run = self._runners.get(event) or self._runner(event)
        return run(facts, raise_errors)

    def _ranks(self) -> dict[int, int]:
        """id(rule) -> its rank: priority (higher first), then source order; made once."""
        ranks = self._rank
        if not ranks:
            position = self._position
            ordered = sorted(self.rules, key=lambda r: (-r.priority, position[id(r)]))
            # filled whole, in one C-level update: another thread never sees half
            ranks.update({id(r): n for n, r in enumerate(ordered)})
        return ranks

    def _runner(self, event: str) -> Evaluator:
        """The function that evaluates ``event``, specialised to its plan once.

        The rules a label can bring in are looked up in the plan's dicts; each
        candidate carries its rank (priority, then source order) so that hits
        from several labels are put in order by a plain sort; rules with a
        validity window are the only ones whose window is read.
        """
        runner = self._runners.get(event)
        if runner is not None:
            return runner
        plan = self._plan(event)
        version = self.version
        keys = self.fact_keys
        ranked = self._ranks()

        def entries(rules: Iterable[Rule_]) -> tuple[Entry, ...]:
            return tuple(
                (
                    ranked[id(r)],
                    r,
                    r.test,
                    r if r.valid_from is not None or r.valid_until is not None else None,
                    simple(r),
                )
                for r in sorted(rules, key=lambda r: ranked[id(r)])
            )

        scan = entries(plan.scan)
        labels = tuple((key, {n: entries(rs) for n, rs in idx.items()}) for key, idx in plan.labels)
        # a rule listed under two labels (``has any label A, B``) may be hit twice
        seen: set[int] = set()
        repeats = False
        for _, idx in labels:
            for hit in idx.values():
                for entry in hit:
                    repeats = repeats or id(entry[1]) in seen
                    seen.add(id(entry[1]))
        del seen

        def run(facts: Mapping[str, Any], raise_errors: bool = False) -> Decision:
            if type(facts) is not Facts:
                facts = flatten_facts(facts, keys)
            found: tuple[Entry, ...] | list[Entry] = scan
            for key, index in labels:
                for name in facts[key]:
                    hit = index.get(name)
                    if hit:
                        found = hit if not found else [*found, *hit]
            subtotal = facts["order.subtotal"]
            if type(subtotal) is not Decimal:
                subtotal = Decimal(0) if subtotal is None else Decimal(subtotal)
            currency = facts["order.currency"] or "EUR"
            if currency not in KNOWN_CURRENCIES:
                if raise_errors:
                    raise ValueError(f"unknown currency {currency!r}")
                return unknown_currency(event, version, currency, subtotal)
            if not found:  # the usual case: no rule can match
                return nothing(event, version, currency, subtotal)
            if type(found) is list:  # hits from several labels, or labels and scan
                found = sorted({e[0]: e for e in found}.values()) if repeats else sorted(found)
            matched: list[Rule_] = []
            offers: list[Simple | None] = []
            errors: list[RuleFailure] = []
            for _, r, test, windowed, offer in found:
                if windowed is not None and not windowed.valid_at(_moment(facts)):
                    continue
                try:
                    ok = test(facts)
                except Exception as e:
                    if raise_errors:
                        raise RuleRuntimeError(r.name, _span(r), f"{type(e).__name__}: {e}") from e
                    errors.append(RuleFailure(r.name, r.file, r.line, f"{type(e).__name__}: {e}"))
                    continue
                if ok:
                    matched.append(r)
                    offers.append(offer)
            if not matched:
                return (
                    nothing(event, version, currency, subtotal)
                    if not errors
                    else decide(event, version, matched, offers, subtotal, currency, errors)
                )
            return decide(event, version, matched, offers, subtotal, currency, errors)

        runner = (
            quick_evaluator(
                event, version, scan, labels, run, Facts, lambda f: flatten_facts(f, keys)
            )
            or run
        )
        self._runners[event] = runner
        return runner


def _moment(facts: Mapping[str, Any]) -> datetime:
    """The instant validity windows are judged at: the order's creation on the
    events about an order; when the event has no order, the present."""
    created = facts["order.created_at"]
    return created if created is not None else datetime.now(UTC)


def _span(rule: Rule_) -> Span:
    return Span(rule.file, rule.line, rule.column, rule.line, rule.column)
