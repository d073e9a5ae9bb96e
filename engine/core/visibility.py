"""Listings: which prices, items or services a viewer may see.

A listing event (``price_listed``, ``item_listed``, ``service_listed``) is
fired once per candidate, conceptually; here it is decided for a whole list
at once. Its rules ``show`` or ``hide`` the candidate::

    label Season_2027 for price
    on price_listed when price has label Season_2027 and viewer wedding year != 2027
      then hide price

**The decision for one candidate.**

1. The rules that can decide are the enabled rules of the event with a
   ``show``/``hide`` action for the candidate, whose validity window holds
   at ``now`` (by default the current UTC time).
2. Of those whose conditions hold, the one with the highest ``priority``
   decides.
3. At equal priority ``hide`` wins over ``show`` (deny overrides); a rule
   with both actions hides.
4. When no rule decides, the candidate is **shown**: listings are open by
   default, and a rule set without listing rules hides nothing.
5. A rule that raises is reported in the verdict's ``errors``. If it is a
   ``hide`` rule, the candidate is hidden (what an eligibility rule guards
   must not leak because the rule could not be evaluated); a ``show`` rule
   that raises is skipped. ``raise_errors=True`` raises RuleRuntimeError.

**Cost.** The deciding rules are found once per rule set and event and
indexed by the candidate's labels; rules that need a label of a shared
entity (``customer has label VIP``) are opened once per list when the
shared entity has it. A candidate is tested only against the rules without
a label requirement and those its own labels bring in, as
:meth:`RuleSet.evaluate` does: a rule that cannot match costs nothing, per
candidate. The rules are tried in decision order and the first that holds
decides.

**Facts.** The shared facts (``viewer``, ``customer``, ``agent``, ``order``)
are flattened once; each candidate's own facts (``price.labels``,
``price.amount``, …) are laid over them. An optional entity of the event
(``customer``, ``agent``, ``order``) that the shared facts do not mention,
or give as None, is missing: a condition about it is false. The viewer's
``is_agent`` is ``role is agent``: either one given fills in the other
(``is_agent`` false leaves the role unknown).

``rulec.engine.db.listing`` decides the same from the database.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from attrs import frozen

from rulec.dsl.diagnostics import RuleRuntimeError
from rulec.dsl.nodes import Span
from rulec.dsl.vocabulary import Kind, Vocabulary
from rulec.engine.core.facts import Facts, flatten_facts
from rulec.engine.core.policy import RuleFailure
from rulec.engine.core.rules import Rule_, Visibility_
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.vocabulary import DEFAULT_VOCABULARY

__all__ = ["Verdict", "plan_subject", "verdicts", "visible"]


@frozen
class Verdict:
    """Whether one candidate is shown, and which rule decided (None: no rule did)."""

    shown: bool
    rule: str | None = None
    file: str | None = None
    line: int | None = None
    #: The rules that raised while this candidate was decided.
    errors: tuple[RuleFailure, ...] = ()

    @property
    def reason(self) -> str:
        """``hidden by rule 'Agent only' (rules/prices.rules:4)``, or why it is shown."""
        if self.rule is None:
            return "shown: no rule decides"
        verb = "shown" if self.shown else "hidden"
        failed = " (the rule failed)" if any(e.rule == self.rule for e in self.errors) else ""
        where = f"{self.file}:{self.line}"
        if where.endswith(self.rule):  # an unnamed rule is named after its place
            return f"{verb} by the rule at {where}{failed}"
        return f"{verb} by rule '{self.rule}' ({where}){failed}"


_SHOWN = Verdict(True)

#: A rule that can decide, prepared once: (rank, rule, test, hides, windowed, its verdict).
#: ``rank`` orders the decision: priority (higher first), hide before show, source order.
_Entry = tuple[int, Rule_, Any, bool, bool, Verdict]


@frozen
class _Plan:
    """The deciding rules of one event, indexed.

    ``scan``: rules with no label requirement. ``by_label``: candidate label
    → the rules that need it. ``gates``: (shared entity, label) → the rules
    that need it (a rule listing labels of several entities is under each).
    ``windowed``: the entries with a validity window.
    """

    subject: str
    optional: tuple[str, ...]
    scan: tuple[_Entry, ...]
    by_label: dict[str, tuple[_Entry, ...]]
    gates: dict[tuple[str, str], tuple[_Entry, ...]]
    windowed: tuple[_Entry, ...]


#: id(rule set) -> (a weak reference to it, {(event, subject, optional entities): plan}).
_PLANS: dict[int, tuple[weakref.ref[RuleSet], dict[tuple[Any, ...], _Plan]]] = {}


def _subject_of(event: str, vocabulary: Vocabulary) -> tuple[str, tuple[str, ...]]:
    """The candidate entity of a listing event, and the event's optional entities."""
    ev = vocabulary.event(event)
    if ev is not None and ev.kind is Kind.LISTING and ev.subject is not None:
        return ev.subject, ev.optional
    if event.endswith("_listed"):
        return event[: -len("_listed")], ()
    raise ValueError(f"{event!r} is not a listing event")


def _plan(rules: RuleSet, event: str, vocabulary: Vocabulary) -> _Plan:
    """The plan of ``event`` in ``rules``, made once per rule set (a race makes two: harmless)."""
    subject, optional = _subject_of(event, vocabulary)
    key = (event, subject, optional)
    cached = _PLANS.get(id(rules))
    if cached is not None and cached[0]() is rules:
        plan = cached[1].get(key)
        if plan is not None:
            return plan
    else:
        rid = id(rules)
        cached = (weakref.ref(rules, lambda _: _PLANS.pop(rid, None)), {})
        _PLANS[rid] = cached
    plan = _make_plan(rules, event, subject, optional)
    cached[1][key] = plan
    return plan


def plan_subject(rules: RuleSet, event: str, vocabulary: Vocabulary) -> str:
    """The candidate entity of the listing event ``event`` (``price`` for ``price_listed``)."""
    return _plan(rules, event, vocabulary).subject


def _make_plan(rules: RuleSet, event: str, subject: str, optional: tuple[str, ...]) -> _Plan:
    deciding: list[tuple[int, Rule_, bool]] = []
    for position, r in enumerate(rules.rules):
        if not r.enabled or r.event != event:
            continue
        votes = [a.show for a in r.actions if type(a) is Visibility_ and a.entity == subject]
        if votes:
            deciding.append((position, r, not all(votes)))
    deciding.sort(key=lambda d: (-d[1].priority, not d[2], d[0]))
    scan: list[_Entry] = []
    by_label: dict[str, list[_Entry]] = {}
    gates: dict[tuple[str, str], list[_Entry]] = {}
    windowed: list[_Entry] = []
    for rank, (_, r, hides) in enumerate(deciding):
        has_window = r.valid_from is not None or r.valid_until is not None
        entry: _Entry = (
            rank,
            r,
            r.test,
            hides,
            has_window,
            Verdict(not hides, r.name, r.file, r.line),
        )
        if has_window:
            windowed.append(entry)
        if r.labels is None:
            scan.append(entry)
            continue
        for entity, name in dict.fromkeys(r.labels):
            if entity == subject:
                by_label.setdefault(name, []).append(entry)
            else:
                gates.setdefault((entity, name), []).append(entry)
    return _Plan(
        subject,
        tuple(optional),
        tuple(scan),
        {k: tuple(v) for k, v in by_label.items()},
        {k: tuple(v) for k, v in gates.items()},
        tuple(windowed),
    )


def _shared(facts: Mapping[str, Any], optional: Iterable[str]) -> Facts:
    """The shared facts, flat; optional entities they do not mention are absent."""
    flat = flatten_facts(facts)
    for name, value in facts.items():
        if value is None and "." not in name:  # {"customer": None}: no customer
            flat[f"{name}.absent"] = True
            del flat[name]
    role, is_agent = flat.get("viewer.role"), flat.get("viewer.is_agent")
    if role is not None and is_agent is None:  # is_agent is "role is agent"
        flat["viewer.is_agent"] = role == "agent"
    elif is_agent is True and role is None:
        flat["viewer.role"] = "agent"
    for entity in optional:
        key = f"{entity}.absent"
        if key not in flat and not any(k.startswith(f"{entity}.") for k in flat):
            flat[key] = True
    return flat


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _span(rule: Rule_) -> Span:
    return Span(rule.file, rule.line, rule.column, rule.line, rule.column)


def verdicts(
    rules: RuleSet,
    event: str,
    shared_facts: Mapping[str, Any],
    candidates_facts: Iterable[Mapping[str, Any]],
    *,
    now: datetime | None = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    raise_errors: bool = False,
) -> list[Verdict]:
    """The :class:`Verdict` of each candidate, in order; pure (no database).

    ``shared_facts`` are nested (``{"viewer": {"is_agent": False,
    "wedding_year": 2027}, "customer": None}``) or flat; each candidate's
    facts are its own, nested (``{"price": {"labels": {"Season_2027"},
    "amount": Decimal("900.00")}}``) or flat (``{"price.labels": …}``). See
    the module's docstring for how a verdict is reached.
    """
    plan = _plan(rules, event, vocabulary)
    when = _now(now)
    closed = frozenset(e[0] for e in plan.windowed if not e[1].valid_at(when))
    shared = _shared(shared_facts, plan.optional)
    if not plan.scan and not plan.by_label and not plan.gates:
        return [_SHOWN for _ in candidates_facts]

    # the rules every candidate is tested against: no label needed, or a shared one present
    opened: dict[int, _Entry] = {e[0]: e for e in plan.scan if e[0] not in closed}
    if plan.gates:
        for key, value in shared.items():
            if not key.endswith(".labels") or not value:
                continue
            entity = key[: -len(".labels")]
            for name in value:
                for e in plan.gates.get((entity, name), ()):
                    if e[0] not in closed:
                        opened[e[0]] = e
    always = tuple(opened[rank] for rank in sorted(opened))
    by_label = plan.by_label
    labels_key = f"{plan.subject}.labels"

    out: list[Verdict] = []
    for own in candidates_facts:
        facts = Facts(shared)
        facts.update(own if type(own) is Facts else flatten_facts(own))
        found: Sequence[_Entry] = always
        if by_label:
            for name in facts[labels_key]:
                hit = by_label.get(name)
                if hit:
                    found = hit if not found else [*found, *hit]
            if type(found) is list:  # several sources: put in decision order, each once
                found = [e for _, e in sorted({e[0]: e for e in found}.items())]
        out.append(_decide(found, facts, closed, raise_errors))
    return out


def _decide(
    found: Sequence[_Entry], facts: Facts, closed: frozenset[int], raise_errors: bool
) -> Verdict:
    """The first rule of ``found`` (in decision order) that holds decides."""
    errors: list[RuleFailure] = []
    for rank, r, test, hides, windowed, verdict in found:
        if windowed and rank in closed:
            continue
        try:
            ok = test(facts)
        except Exception as e:
            if raise_errors:
                raise RuleRuntimeError(r.name, _span(r), f"{type(e).__name__}: {e}") from e
            errors.append(RuleFailure(r.name, r.file, r.line, f"{type(e).__name__}: {e}"))
            if hides:  # deny on error: what the rule guards must not leak
                return Verdict(False, r.name, r.file, r.line, tuple(errors))
            continue
        if ok:
            if errors:
                return Verdict(verdict.shown, r.name, r.file, r.line, tuple(errors))
            return verdict
    return Verdict(True, errors=tuple(errors)) if errors else _SHOWN


def visible(
    rules: RuleSet,
    event: str,
    shared_facts: Mapping[str, Any],
    candidates_facts: Iterable[Mapping[str, Any]],
    *,
    now: datetime | None = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    raise_errors: bool = False,
) -> list[bool]:
    """Whether each candidate is shown, in order (see :func:`verdicts`)."""
    return [
        v.shown
        for v in verdicts(
            rules,
            event,
            shared_facts,
            candidates_facts,
            now=now,
            vocabulary=vocabulary,
            raise_errors=raise_errors,
        )
    ]
