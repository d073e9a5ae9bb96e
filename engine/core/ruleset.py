"""Loaded rule sets: immutable, versioned, indexed by event and by label."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from attrs import field, frozen

from rulec.dsl.compiler import CompiledModule
from rulec.dsl.vocabulary import Event, Kind, Vocabulary
from rulec.engine.core import discount, visibility
from rulec.engine.core.coupons import Refusal
from rulec.engine.core.decide import decide
from rulec.engine.core.decision import Decision
from rulec.engine.core.explain import Explanation, explain
from rulec.engine.core.facts import Facts, flatten_facts
from rulec.engine.core.match import Plan, candidates, make_plan, match
from rulec.engine.core.rules import Rule_
from rulec.engine.core.validate import Door, unknown_event
from rulec.engine.vocabulary import DEFAULT_VOCABULARY

__all__ = ["Facts", "RuleSet", "flatten_facts"]


@frozen
class RuleSet:
    """An immutable set of compiled rules.

    ``rules`` are in source order (files in the order given). Each event's
    rules are laid out once, on first use, in a :class:`~rulec.engine.core.match.Plan`
    for the policy of its kind of event; :meth:`evaluate` decides through
    :func:`~rulec.engine.core.decide.decide`.
    """

    rules: tuple[Rule_, ...]
    version: str
    modules: tuple[CompiledModule, ...] = field(default=(), repr=False)
    #: The facts the rules read (``"customer.labels"``, ``"order.subtotal"``, …).
    fact_keys: frozenset[str] = frozenset()
    #: The vocabulary the rules were checked against: it says each event's kind.
    vocabulary: Vocabulary = field(default=DEFAULT_VOCABULARY, repr=False, eq=False)
    #: id(rule) -> its place in ``rules``.
    _position: dict[int, int] = field(init=False, factory=dict, repr=False, eq=False)
    #: event -> its enabled rules, in source order (events included by others not merged).
    _own: dict[str, list[Rule_]] = field(init=False, factory=dict, repr=False, eq=False)
    #: event key -> the vocabulary's event.
    _events: dict[str, Event] = field(init=False, factory=dict, repr=False, eq=False)
    #: event -> its plan, made on first use (a race makes two equal ones: harmless).
    _plans: dict[str, Plan] = field(init=False, factory=dict, repr=False, eq=False)
    #: event -> the facts its rules read, worked out on first use.
    _keys: dict[str, frozenset[str]] = field(init=False, factory=dict, repr=False, eq=False)
    #: event -> the door its facts go through (rulec.engine.core.validate), made on first use.
    _doors: dict[str, Door] = field(init=False, factory=dict, repr=False, eq=False)
    #: events -> whether a rule runs on any of them, worked out on first use.
    _any: dict[tuple[str, ...], bool] = field(init=False, factory=dict, repr=False, eq=False)
    #: name -> the rules with usage limits or budgets (rulec.engine.db.limits claims their uses).
    limited: dict[str, Rule_] = field(init=False, factory=dict, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self._position.update((id(r), n) for n, r in enumerate(self.rules))
        self.limited.update((r.name, r) for r in self.rules if r.limits is not None)
        for r in self.rules:
            if r.enabled:
                self._own.setdefault(r.event, []).append(r)
        self._events.update((e.key, e) for e in self.vocabulary.events)

    @classmethod
    def build(
        cls,
        rules: Sequence[Rule_],
        version: str,
        modules: Iterable[CompiledModule] = (),
        vocabulary: Vocabulary | None = None,
    ) -> RuleSet:
        """A rule set of ``rules``; the plans of the events that have rules are made now."""
        modules = tuple(modules)
        built = cls(
            tuple(rules),
            version,
            modules,
            frozenset().union(*(m.fact_keys for m in modules)),
            vocabulary or DEFAULT_VOCABULARY,
        )
        for event in (*built._own, *built._events):
            if built.has_rules(event):
                built.plan(event)
        return built

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def events(self) -> frozenset[str]:
        return frozenset(r.event for r in self.rules)

    def event(self, event: str) -> Event | None:
        """The vocabulary's event of that key (``order_created``, ``daily:customer``)."""
        return self._events.get(event)

    def event_keys(self) -> list[str]:
        """Every event of the vocabulary, by the name :meth:`evaluate` takes."""
        return list(self._events)

    def door(self, event: str) -> Door:
        """How the facts of ``event`` are checked; UnknownEventError for an unknown event."""
        door = self._doors.get(event)
        if door is None:
            ev = self._events.get(event)
            if ev is None:
                raise unknown_event(event, self.event_keys())
            door = self._doors[event] = Door(self.vocabulary, ev)
        return door

    def rules_of(self, event: str, *, disabled: bool = False) -> list[Rule_]:
        """The rules that run on ``event`` (its own and its included events'), in
        source order; with ``disabled``, the disabled ones too."""
        if not disabled:
            return self._rules_of(event)
        ev = self._events.get(event)
        included = {event, *(ev.includes if ev is not None else ())}
        return [r for r in self.rules if r.event in included]

    def explain(
        self,
        event: str,
        facts: Mapping[str, Any],
        *,
        now: datetime | None = None,
        refused: Mapping[str, Refusal] | None = None,
    ) -> Explanation:
        """Decide one event and say what became of each of its rules, and why
        (:func:`rulec.engine.core.explain.explain`)."""
        return explain(self, event, facts, now=now, refused=refused)

    def _rules_of(self, event: str) -> list[Rule_]:
        """The enabled rules that run on ``event``: its own and its included events',
        in source order, each once."""
        ev = self._events.get(event)
        included = (event, *ev.includes) if ev is not None else (event,)
        found = [r for e in included for r in self._own.get(e, ())]
        if len(included) > 1:
            position = self._position
            found = sorted({id(r): r for r in found}.values(), key=lambda r: position[id(r)])
        return found

    def plan(self, event: str) -> Plan:
        """The rules of ``event`` laid out for its policy: the visibility policy's order
        for a listing event, the discount policy's for the others."""
        plan = self._plans.get(event)
        if plan is not None:
            return plan
        position = self._position
        rules = self._rules_of(event)
        ev = self._events.get(event)
        if ev is not None and ev.kind is Kind.LISTING and ev.subject is not None:
            subject = ev.subject
            plan = make_plan(
                [r for r in rules if visibility.deciding(r, subject)],
                lambda r: visibility.rank(r, position[id(r)], subject),
                lambda r: visibility.hides(r, subject),
            )
        else:
            plan = make_plan(rules, lambda r: discount.rank(r, position[id(r)]))
        self._plans[event] = plan
        return plan

    def keys_for(self, event: str) -> frozenset[str]:
        """The facts the rules of ``event`` read (with the events it includes).

        What the engine loads for that event: the rule set's other events'
        facts (a daily rule's customer order count) cost an order nothing.
        """
        keys = self._keys.get(event)
        if keys is None:
            keys = frozenset(k for r in self._rules_of(event) for k in r.facts)
            self._keys[event] = keys
        return keys

    def has_rules(self, event: str) -> bool:
        """Whether an enabled rule runs on ``event`` (its own, or an included event's)."""
        return bool(self._rules_of(event))

    def has_any_rules(self, events: tuple[str, ...]) -> bool:
        """Whether an enabled rule runs on any of ``events``; one lookup after the first call."""
        has = self._any.get(events)
        if has is None:
            has = self._any[events] = any(self.has_rules(e) for e in events)
        return has

    def candidates(self, event: str, labels: Mapping[str, Iterable[str]]) -> list[Rule_]:
        """Enabled rules of ``event`` that could match entities with ``labels``.

        ``labels`` maps an entity name to its labels. Rules come back in
        source order, each once. An unknown event raises UnknownEventError.
        """
        self.door(event)
        facts = Facts({f"{entity}.labels": frozenset(names) for entity, names in labels.items()})
        return self._in_source_order(c.rule for c in candidates(self.plan(event), facts))

    def matching(self, event: str, facts: Mapping[str, Any]) -> list[Rule_]:
        """Enabled rules of ``event`` whose conditions hold for ``facts``, in source order.

        ``facts`` are read and checked as :meth:`evaluate` reads them, but
        the facts only a decision needs (an order's subtotal and currency)
        may be left out. Validity windows are not applied here: this is
        about conditions. A rule that raises raises RuleRuntimeError.
        """
        if type(facts) is not Facts:
            facts = self.door(event).admit(facts, self.fact_keys, required=False)
        held, _ = match(self.plan(event), facts, None, raise_errors=True)
        return self._in_source_order(held)

    def _in_source_order(self, rules: Iterable[Rule_]) -> list[Rule_]:
        position = self._position
        return sorted(rules, key=lambda r: position[id(r)])

    def evaluate(
        self,
        event: str,
        facts: Mapping[str, Any],
        *,
        raise_errors: bool = False,
        refused: Mapping[str, Refusal] | None = None,
    ) -> Decision:
        """Decide one event, from plain facts; no database.

        ``facts`` is nested (``{"customer": {"labels": {...}, "order_count": 3},
        "order": {"subtotal": Decimal("120.00"), "currency": "EUR",
        "created_at": datetime(...)}}``), flat (``{"order.subtotal": ...}``) or
        a :class:`Facts` (what ``load_facts`` and ``flatten_facts`` return,
        taken as it is; any other mapping is flattened and checked first: an
        unknown entity or field, a value of the wrong type, money that is a
        float, NaN, infinite or too large, a currency that is not ISO 4217, an
        order without its subtotal or currency raise a FactsError naming the
        key and the value, an unknown event UnknownEventError). A rule that
        raises is skipped and reported in ``Decision.errors``, or raised as
        RuleRuntimeError when ``raise_errors`` is set. See
        :func:`~rulec.engine.core.decide.decide` for the rest.
        """
        return decide(self, event, facts, raise_errors=raise_errors, refused=refused)
