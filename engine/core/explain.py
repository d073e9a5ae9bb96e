"""Why an order got its decision: every rule of the event, and what became of it.

:func:`explain` decides the event through the one
:func:`~rulec.engine.core.decide.decide`, with a tracer listening and every
rule of the event considered (``all_rules=True``), and says for each rule,
in business words:

- **applied**: what it gave (``10% off: 12.00 EUR``) or did, and for a
  discount in a stacking group, the group and what its percentage was of
  (``; group Seasonal, of 90.00 EUR, what the groups before it left``);
- **lost**: to which rule, by which step of the policy (the decision's own
  reason: ``a better discount applied: 'VIP'``);
- **not applicable**: why, in the order the old system's debugging
  checklist asked it: disabled; its validity window closed or not open yet
  (with the moment it was judged at); the first condition that was false,
  with the fact's actual value (``customer has label 'Customer_VIP' was
  false (customer labels: Customer_New)``); or it failed (with its line).

The explanation is the decision's own: the decision inside it is equal to
what ``RuleSet.evaluate`` gives for the same facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from attrs import frozen

from rulec.dsl.lowered import Exists
from rulec.dsl.vocabulary import Kind
from rulec.engine.core.coupons import Refusal
from rulec.engine.core.decide import decide
from rulec.engine.core.decision import AppliedDiscount, Decision
from rulec.engine.core.facts import Facts
from rulec.engine.core.match import Outcome, Tracer
from rulec.engine.core.rules import (
    LabelChange_,
    Rule_,
    SetField_,
)
from rulec.engine.core.wording import instant as _instant
from rulec.engine.core.wording import value_words as _value
from rulec.engine.core.wording import words

if TYPE_CHECKING:
    from rulec.engine.core.ruleset import RuleSet

__all__ = [
    "APPLIED",
    "LOST",
    "NOT_APPLICABLE",
    "Explanation",
    "RuleExplanation",
    "Seen",
    "explain",
    "words",
]

APPLIED = "applied"
LOST = "lost"
NOT_APPLICABLE = "not applicable"


@frozen
class Seen:
    """One test of a rule's condition as it was evaluated: where, what, the value, the result."""

    line: int
    column: int
    #: What it tests, in the rule's words (``customer has label 'VIP'``).
    test: str
    #: The fact it read, in words (``customer labels``), and its value then.
    fact: str
    value: Any
    result: bool


@frozen
class RuleExplanation:
    """What became of one rule, and why."""

    rule: str
    file: str
    line: int
    #: ``"applied"``, ``"lost"`` or ``"not applicable"``.
    status: str
    #: Why, in business words.
    reason: str
    #: The tests of its condition that were evaluated, in order.
    seen: tuple[Seen, ...] = ()

    def text(self) -> str:
        return f"{self.rule} ({self.file}:{self.line}): {self.status}: {self.reason}"


@frozen
class Explanation:
    """The decision for one event and facts, and what became of each of its rules."""

    event: str
    decision: Decision
    rules: tuple[RuleExplanation, ...]
    #: The instant validity windows were judged at.
    moment: datetime

    def rule(self, name: str) -> RuleExplanation:
        """The explanation of the rule called ``name``; KeyError if the event has none."""
        for r in self.rules:
            if r.rule == name:
                return r
        raise KeyError(name)

    def text(self) -> str:
        """The explanation as lines of text, the decision's figures first."""
        d = self.decision
        head = f"{self.event}: "
        if d.verdict is not None:
            head += "shown" if d.verdict.shown else "hidden"
        else:
            # an order with a shipping charge: the charge, less its shipping discount
            shipping = (
                f", shipping {d.shipping_amount} {d.currency} less {d.shipping_discount} "
                f"{d.currency}"
                if d.shipping_amount
                else ""
            )
            if d.applied:
                head += (
                    f"{d.discount_description}, {d.discount_amount} {d.currency} off "
                    f"{d.subtotal} {d.currency}{shipping}: total {d.total_amount} {d.currency}"
                )
            else:
                head += f"no discount{shipping}: total {d.total_amount} {d.currency}"
        coupons = [f"  coupon {c.code} ({c.reason_code}): {c.reason}" for c in d.coupons]
        return "\n".join([head, *coupons, *(f"  {r.text()}" for r in self.rules)])


class _Listener(Tracer):
    """Writes down each rule's outcome and the tests of its condition."""

    def __init__(self) -> None:
        self.outcomes: dict[int, tuple[Outcome, str]] = {}
        self.seen: dict[int, list[Seen]] = {}

    def rule(self, rule: Rule_, outcome: Outcome, found: bool, message: str = "") -> None:
        self.outcomes[id(rule)] = (outcome, message)

    def atom(self, rule: Rule_, atom: Any, value: Any, result: bool) -> None:
        span = atom.span
        self.seen.setdefault(id(rule), []).append(
            Seen(
                span.line if span is not None else rule.line,
                span.column if span is not None else rule.column,
                words(atom.describe()),
                words(atom.key),
                value,
                result,
            )
        )


def explain(
    rule_set: RuleSet,
    event: str,
    facts: Mapping[str, Any],
    *,
    now: datetime | None = None,
    refused: Mapping[str, Refusal] | None = None,
) -> Explanation:
    """Decide ``event`` for ``facts`` and say what became of each of its rules.

    ``facts``, ``now`` and ``refused`` (the rules the database refuses a use)
    are read as :func:`~rulec.engine.core.decide.decide` reads them. Rules
    come in the policy's order, then the disabled ones.
    """
    if type(facts) is not Facts:
        facts = rule_set.door(event).admit(facts, rule_set.fact_keys)
    listener = _Listener()
    d = decide(rule_set, event, facts, tracer=listener, all_rules=True, now=now, refused=refused)
    moment = _moment(rule_set, event, facts, now)
    considered = [c.rule for c in rule_set.plan(event).every]
    disabled = [r for r in rule_set.rules_of(event, disabled=True) if not r.enabled]
    out = [_one(r, d, listener, moment, facts) for r in considered]
    out += [RuleExplanation(r.name, r.file, r.line, NOT_APPLICABLE, "disabled") for r in disabled]
    return Explanation(event, d, tuple(out), moment)


def _moment(
    rule_set: RuleSet, event: str, facts: Mapping[str, Any], now: datetime | None
) -> datetime:
    """The instant windows were judged at, as decide judged them: the order's
    creation, else ``now``; a listing's at ``now``."""
    ev = rule_set.event(event)
    listing = ev is not None and ev.kind is Kind.LISTING
    created: datetime | None = None if listing else facts["order.created_at"]
    if created is not None:
        return created
    when = now or datetime.now(UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _one(
    r: Rule_, d: Decision, listener: _Listener, moment: datetime, facts: Mapping[str, Any]
) -> RuleExplanation:
    seen = tuple(listener.seen.get(id(r), ()))
    outcome, message = listener.outcomes.get(id(r), (Outcome.NOT_HELD, ""))

    def said(status: str, reason: str) -> RuleExplanation:
        return RuleExplanation(r.name, r.file, r.line, status, reason, seen)

    if outcome is Outcome.OUTSIDE_WINDOW:
        return said(NOT_APPLICABLE, _window(r, moment))
    if outcome is Outcome.FAILED:
        where = next((e.line for e in d.errors if e.rule == r.name), r.line)
        return said(NOT_APPLICABLE, f"failed at line {where}: {message}")
    if outcome is Outcome.NOT_HELD:
        return said(NOT_APPLICABLE, _false(r, seen, facts))
    applied = [a for a in d.applied if a.rule == r.name]
    lost = [x.reason for x in d.lost if x.rule == r.name]
    if d.verdict is not None:
        if d.verdict.rule == r.name:
            return said(APPLIED, "shows the candidate" if d.verdict.shown else "hides it")
        return said(LOST, f"outranked by rule '{d.verdict.rule}'")
    if applied:
        gave = "; ".join(_gave(a, d.currency) for a in applied)
        return said(APPLIED, gave + ("" if not lost else f"; {'; '.join(lost)}"))
    if lost:
        return said(LOST, "; ".join(lost))
    did = _did(r, d)
    return said(APPLIED, did) if did else said(APPLIED, "held; it has nothing to do here")


def _false(r: Rule_, seen: Sequence[Seen], facts: Mapping[str, Any]) -> str:
    """Why a condition did not hold: its first test that was false, with the fact's
    value; for ``any ENTITY …`` over an empty list, that there is none."""
    for s in seen:
        if not s.result:
            return f"{s.test} was false ({s.fact}: {_value(s.value)})"
    cond = r.condition
    if isinstance(cond, Exists) and not facts[cond.key]:
        entity = cond.key.rsplit(".", 1)[0]
        return f"{words(cond.describe())} was false (there is no {entity})"
    return "its condition was false"


def _window(r: Rule_, moment: datetime) -> str:
    when = _instant(moment)
    start = r.valid_from
    if start is not None and moment < start:
        return f"window not open yet: judged at {when}, the rule runs from {_instant(start)}"
    end = _instant(r.valid_until) if r.valid_until is not None else "?"
    return f"window closed: judged at {when}, the rule ran until {end}"


def _gave(a: AppliedDiscount, currency: str) -> str:
    """``VIP: 10% off, 12.00 EUR``; a discount on lines says which ones, a tier which."""
    percentage = a.percentage
    off = " the items" if a.kind == "line_percentage" else ""
    pct = f"{percentage.normalize():f}% off{off}, " if percentage is not None else ""
    text = f"{a.description}: {pct}{a.amount} {currency}"
    if a.detail:
        text += f", {a.detail}"
    if a.kind in _ON_LINES and a.lines:
        on = [f"line {n}: {part}" for n, part in enumerate(a.lines, 1) if part]
        text += f" ({', '.join(on)})"
    if a.group is not None:  # a stacking group: which, and what its percentage was of
        if a.base is not None:
            base = f"of {a.base} {currency}, what the groups before it left"
        elif a.kind in _ON_LINES:
            base = "on the items' own prices"
        else:
            base = "on the subtotal"
        text += f"; group {a.group}, {base}"
    return text


#: The kinds of discount taken off the lines themselves (not shared over them).
_ON_LINES = frozenset({"line_percentage", "line_fixed", "buy_get"})


def _did(r: Rule_, d: Decision) -> str:
    """What a rule that held did besides discounts: label changes and settings."""
    done = []
    for a in r.actions:
        if isinstance(a, LabelChange_) and a in d.label_changes:
            verb, prep = ("adds", "to") if a.add else ("removes", "from")
            done.append(f"{verb} label {a.label} {prep} {a.entity}")
        elif isinstance(a, SetField_):
            for c in d.field_changes:
                if c.rule == r.name and (c.entity, c.field) == (a.entity, a.field):
                    done.append(f"sets {a.entity} {a.field.replace('_', ' ')} to {a.value}")
    return "; ".join(done)
