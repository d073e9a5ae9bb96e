"""``rulec test``: run the tests written beside the rules, through the one ``explain``.

A test (``test "…" on EVENT [at DATE] given … expect … end``) is an example
order and what its decision must be. Its ``given`` lines become the nested
facts ``RuleSet.evaluate`` takes (labels, fields, one member of a list
entity per ``given item …``); the event is decided by
:meth:`RuleSet.explain`, the same ``decide`` the engine runs, and each
``expect`` is compared with the decision and what became of each rule.

A test **passes** when every expectation holds, **fails** when one does
not (each failure says what was expected and what the decision did, in
business words, at the expectation's line), and is an **error** when the
event could not be decided (facts the engine refuses, a rule that raised).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from attrs import frozen

from rulec.dsl.check.tests import facts_of
from rulec.dsl.currencies import MINOR_UNITS
from rulec.dsl.diagnostics import RulesError
from rulec.dsl.lower import literal, set_value
from rulec.dsl.nodes import (
    BuyGet,
    Compare,
    Condition,
    EntityAction,
    ExpectAction,
    Expectation,
    ExpectCoupon,
    ExpectDescription,
    ExpectFigure,
    ExpectNoDiscount,
    ExpectRule,
    FixedDiscount,
    HasCoupon,
    HasLabel,
    Is,
    LabelAction,
    PercentDiscount,
    RuleTest,
    SetField,
    Span,
    TieredDiscount,
)
from rulec.dsl.resolve import resolve_field
from rulec.dsl.sources import Analysis
from rulec.dsl.values import Instant, parse_date
from rulec.dsl.vocabulary import Vocabulary
from rulec.engine.core.coupons import Refusal, refusal
from rulec.engine.core.decision import Decision
from rulec.engine.core.explain import APPLIED, LOST, NOT_APPLICABLE, Explanation
from rulec.engine.core.facts import Facts, flatten_facts
from rulec.engine.core.money import line_total, zero
from rulec.engine.core.rules import DISCOUNTS
from rulec.engine.core.ruleset import RuleSet

__all__ = ["ERROR", "FAIL", "PASS", "Failure", "TestRun", "facts_for", "run_tests", "summary"]

#: The discount actions a test may expect (``expect discount 10% "VIP"``).
DISCOUNT_NODES = (PercentDiscount, FixedDiscount, BuyGet, TieredDiscount)

PASS = "pass"
FAIL = "fail"
ERROR = "error"


@frozen
class Failure:
    """One expectation that did not hold: where it is written, and what happened."""

    line: int
    column: int
    expected: str
    actual: str

    def text(self) -> str:
        return f"expected {self.expected}; {self.actual}"


@frozen
class TestRun:
    """One test's result."""

    __test__ = False  # not a pytest test class

    name: str
    file: str
    line: int
    event: str
    #: ``"pass"``, ``"fail"`` or ``"error"``.
    status: str
    failures: tuple[Failure, ...] = ()
    #: Why the event could not be decided (status ``"error"``).
    error: str | None = None
    seconds: float = 0.0
    #: The explanation of the decision (None on an error).
    explanation: Explanation | None = None
    #: The flat facts the test gave, as the rules read them (None on an error).
    facts: Facts | None = None


def run_tests(analysis: Analysis, rules: RuleSet, vocabulary: Vocabulary) -> list[TestRun]:
    """Run every test of ``analysis`` against ``rules`` (loaded from the same analysis)."""
    names = _names(rules)
    out = []
    for source in analysis.sources:
        for item in analysis.items.get(source.path, ()):
            if isinstance(item, RuleTest):
                out.append(_run(item, source.path, rules, vocabulary, names))
    return out


def facts_for(test: RuleTest, vocabulary: Vocabulary) -> dict[str, Any]:
    """The nested facts a test's ``given`` lines state (the test passed the check)."""
    event = vocabulary.event(test.event.text, test.subject.text if test.subject else None)
    many = set(event.many) if event is not None else set()
    facts: dict[str, Any] = {}
    for given in test.givens:
        member: dict[str, Any] | None = None
        for fact in facts_of(given):
            entity, key, value = _fact(fact, vocabulary)
            if entity in many:
                if member is None:
                    member = {}
                    facts.setdefault(entity, []).append(member)
                holder = member
            else:
                holder = facts.setdefault(entity, {})
            if key in ("labels", "coupons"):
                holder.setdefault(key, set()).add(value)
            else:
                holder[key] = value
    _subtotal_of_lines(facts)
    return facts


def _subtotal_of_lines(facts: dict[str, Any]) -> None:
    """A test whose lines all have a price and that gives no subtotal: the order's
    subtotal is what its lines cost (as an order backend adds them up)."""
    lines = facts.get("item")
    order = facts.get("order", {})
    if not lines or "subtotal" in order:
        return
    currency = order.get("currency") or "EUR"
    costs = []
    for member in lines:
        total, price = member.get("line_total"), member.get("unit_price")
        if total is None and price is None:
            return
        if total is None:
            total = line_total(member.get("quantity") or 1, price, currency)
        costs.append(total)
    if currency in MINOR_UNITS:
        facts.setdefault("order", {})["subtotal"] = sum(costs, zero(currency))


def _fact(fact: Condition, vocabulary: Vocabulary) -> tuple[str, str, Any]:
    """(entity, field, value) of one plain fact: a label, or a field's value."""
    if isinstance(fact, HasLabel):
        return fact.entity.text, "labels", fact.label.text
    if isinstance(fact, HasCoupon):
        return fact.entity.text, "coupons", fact.code.text
    if isinstance(fact, Is):
        entity = vocabulary.entity(fact.entity.text)
        assert entity is not None and entity.identity is not None
        f = entity.field(entity.identity)
        assert f is not None
        return fact.entity.text, f.name, _typed(literal(fact.value, f.type))
    assert isinstance(fact, Compare)
    resolved = resolve_field(vocabulary, fact.field)
    assert resolved is not None
    entity_, f = resolved
    return entity_.name, f.name, _typed(literal(fact.value, f.type))


def _refused(
    test: RuleTest,
    rules: RuleSet,
    names: Mapping[str, tuple[str, ...]],
    given: Mapping[str, Any],
) -> dict[str, Refusal]:
    """The rules a test says the database refuses a use (``given rule "X"
    limit_reached``), each with the refusal the database would give; a
    ValueError when the rule cannot be refused so in the order's currency."""
    if not test.refused:
        return {}
    currency = given.get("order", {}).get("currency")
    by_name = {r.name: r for r in rules.rules}
    out = {}
    for g in test.refused:
        for name in names.get(g.rule.value, ()):
            r = by_name.get(name)
            found = refusal(g.reason.text, r.limits if r is not None else None, currency)
            if found is None:
                limit = f"budget in {currency}" if g.reason.text == "budget_spent" else "such limit"
                raise ValueError(
                    f"rule '{name}' has no {limit}: it is never refused for {g.reason.text} here"
                )
            out[name] = found
    return out


def _typed(value: Any) -> Any:
    return value.start if isinstance(value, Instant) else value


def _run(
    test: RuleTest,
    file: str,
    rules: RuleSet,
    vocabulary: Vocabulary,
    names: Mapping[str, tuple[str, ...]],
) -> TestRun:
    line = test.span.line if test.span is not None else 0
    # a scheduled event's rules are the rule set's under EVENT:SUBJECT (``daily:customer``)
    event = test.event.text + (f":{test.subject.text}" if test.subject is not None else "")
    started = time.perf_counter()
    now: datetime | None = None
    if test.at is not None:
        moment = parse_date(test.at)
        assert isinstance(moment, Instant)
        now = moment.start
    try:
        given = facts_for(test, vocabulary)
        refused = _refused(test, rules, names, given)
        # the facts go through the door evaluate has (nested, not Facts), and
        # are kept flat, as the rules read them, for coverage
        explanation = rules.explain(event, given, now=now, refused=refused)
        flat = flatten_facts(given, rules.fact_keys)
    except (RulesError, ValueError, KeyError, ArithmeticError) as e:
        why = str(e)
        if isinstance(e, ArithmeticError):
            why = "an amount is beyond what can be computed exactly"
        return TestRun(
            test.name,
            file,
            line,
            event,
            ERROR,
            error=f"the event could not be decided: {why}",
            seconds=time.perf_counter() - started,
        )
    failures = [f for e in test.expects if (f := _compare(e, explanation, names)) is not None]
    errors = explanation.decision.errors
    if errors and not failures:
        failed = "; ".join(f"{e.rule} ({e.file}:{e.line}): {e.message}" for e in errors)
        return TestRun(
            test.name,
            file,
            line,
            event,
            ERROR,
            error=f"a rule failed: {failed}",
            seconds=time.perf_counter() - started,
            explanation=explanation,
            facts=flat,
        )
    return TestRun(
        test.name,
        file,
        line,
        event,
        FAIL if failures else PASS,
        tuple(failures),
        seconds=time.perf_counter() - started,
        explanation=explanation,
        facts=flat,
    )


def _names(rules: RuleSet) -> dict[str, tuple[str, ...]]:
    """What a test may call each rule (its name, its discounts' descriptions) → rule names."""
    out: dict[str, list[str]] = {}
    for event in sorted(rules.events):
        for r in rules.rules_of(event, disabled=True):
            out.setdefault(r.name, []).append(r.name)
            for a in r.actions:
                if isinstance(a, DISCOUNTS) and a.title != r.name:
                    out.setdefault(a.title, []).append(r.name)
    return {k: tuple(dict.fromkeys(v)) for k, v in out.items()}


def _at(e: Expectation) -> tuple[int, int]:
    span: Span | None = e.span
    return (span.line, span.column) if span is not None else (0, 0)


def _failure(e: Expectation, expected: str, actual: str) -> Failure:
    line, column = _at(e)
    return Failure(line, column, expected, actual)


def _discounts(d: Decision) -> str:
    if not d.applied:
        return "no discount applied"
    gave = ", ".join(f"{a.description} ({a.amount} {d.currency})" for a in d.applied)
    if d.shipping_amount:
        c = d.currency
        off = f"{d.discount_amount} {c} off and {d.shipping_discount} {c} off the shipping"
        return f"the decision gave {off}: {gave}"
    return f"the decision gave {d.discount_amount} {d.currency} off: {gave}"


def _compare(
    e: Expectation, x: Explanation, names: Mapping[str, tuple[str, ...]]
) -> Failure | None:
    d = x.decision
    if isinstance(e, ExpectNoDiscount):
        return None if not d.applied else _failure(e, "no discount", _discounts(d))
    if isinstance(e, ExpectFigure):
        return _figure(e, d)
    if isinstance(e, ExpectDescription):
        if d.discount_description == e.text:
            return None
        got = f"'{d.discount_description}'" if d.discount_description else "none"
        return _failure(e, f"the description '{e.text}'", f"the description is {got}")
    if isinstance(e, ExpectRule):
        return _rule(e, x, names)
    if isinstance(e, ExpectCoupon):
        return _coupon(e, d)
    assert isinstance(e, ExpectAction)
    return _action(e, d)


def _coupon(e: ExpectCoupon, d: Decision) -> Failure | None:
    code, want = e.code.text.upper(), e.outcome.text
    outcome = next((c for c in d.coupons if c.code == code), None)
    expected = f"the code {code} {want.replace('_', ' ')}"
    if outcome is None:
        return _failure(
            e,
            expected,
            f'the code {code} was not entered (give it: given order has coupon "{code}")',
        )
    if outcome.reason_code == want:
        return None
    return _failure(e, expected, f"{outcome.reason_code}: {outcome.reason}")


def _figure(e: ExpectFigure, d: Decision) -> Failure | None:
    want = e.amount.value
    currency = e.currency.text if e.currency is not None else None
    if e.figure == "amount":
        got, what = d.discount_amount, "a discount of"
    elif e.figure == "shipping_discount":
        got, what = d.shipping_discount, "a shipping discount of"
    else:
        got, what = d.total_amount, "a total of"
    written = f"{want} {currency or d.currency}"
    if got == want and (currency is None or currency == d.currency):
        return None
    if e.figure == "amount":
        return _failure(e, f"{what} {written}", _discounts(d))
    if e.figure == "shipping_discount":
        said = f"the shipping discount is {got} {d.currency} of {d.shipping_amount} {d.currency}"
        return _failure(e, f"{what} {written}", f"{said} ({_discounts(d)})")
    shipping = (
        f", shipping {d.shipping_amount} {d.currency} less {d.shipping_discount} {d.currency}"
        if d.shipping_amount
        else ""
    )
    return _failure(
        e,
        f"{what} {written}",
        f"the total is {d.total_amount} {d.currency} ({_discounts(d)}{shipping})",
    )


def _rule(e: ExpectRule, x: Explanation, names: Mapping[str, tuple[str, ...]]) -> Failure | None:
    ref = e.rule.value
    meant = names.get(ref, (ref,))
    found = [r for r in x.rules if r.rule in meant]
    said = "; ".join(f"'{r.rule}' {r.status}: {r.reason}" for r in found)
    if not found:
        said = f"'{ref}' is not a rule of event {x.event}"
    if e.status == APPLIED:
        ok = any(r.status == APPLIED for r in found)
        return None if ok else _failure(e, f"'{ref}' to apply", said)
    if e.status == "not applied":
        ok = all(r.status == NOT_APPLICABLE for r in found)
        return None if ok else _failure(e, f"'{ref}' not to apply", said)
    assert e.status == LOST
    lost = [r for r in found if r.status == LOST]
    if e.to is None:
        return None if lost else _failure(e, f"'{ref}' to lose", said)
    winners = names.get(e.to.value, (e.to.value,))
    if any(f"'{w}'" in r.reason for r in lost for w in winners):
        return None
    return _failure(e, f"'{ref}' to lose to '{e.to.value}'", said)


def _action(e: ExpectAction, d: Decision) -> Failure | None:
    a = e.action
    if isinstance(a, LabelAction):
        add = a.verb.text == "add"
        happened = any(
            c.label == a.label.text and c.entity == a.entity.text and c.add == add
            for c in d.label_changes
        )
        verb = "added to" if add else "removed from"
        what = f"label {a.label.text} {verb} {a.entity.text}"
        changes = ", ".join(
            f"{c.label} {'added to' if c.add else 'removed from'} {c.entity}"
            for c in d.label_changes
        )
        actual = f"label changes: {changes or 'none'}"
    elif isinstance(a, SetField):
        field = a.field.field.text
        value = set_value(a)  # the text the engine writes, as lowering makes it
        happened = any(
            c.entity == a.field.entity.text and c.field == field and c.value == value
            for c in d.field_changes
        )
        what = f"{a.field.entity.text} {field.replace('_', ' ')} set to {value}"
        sets = ", ".join(
            f"{c.entity} {c.field.replace('_', ' ')} to {c.value} by '{c.rule}'"
            for c in d.field_changes
        )
        actual = f"settings: {sets or 'none'}"
    elif isinstance(a, DISCOUNT_NODES):
        # ``expect discount 10% "VIP"``: a discount of that description applied,
        # of that percentage when the action has one
        pct = getattr(a, "percent", None)
        happened = any(
            x.description == a.title and (pct is None or x.percentage == pct) for x in d.applied
        )
        what = f"the discount '{a.title}'" + (f" ({pct}%)" if pct is not None else "") + " applied"
        actual = _discounts(d)
    else:
        assert isinstance(a, EntityAction)
        shown = d.verdict.shown if d.verdict is not None else True
        happened = shown == (a.verb.text == "show")
        what = f"the {a.entity.text} {'shown' if a.verb.text == 'show' else 'hidden'}"
        actual = d.verdict.reason if d.verdict is not None else "no listing decision"
    if happened == e.present:
        return None
    return _failure(e, what if e.present else f"not {what}", actual)


def summary(runs: Sequence[TestRun]) -> dict[str, int]:
    """How many tests passed, failed and were errors."""
    return {
        "tests": len(runs),
        "passed": sum(r.status == PASS for r in runs),
        "failed": sum(r.status == FAIL for r in runs),
        "errors": sum(r.status == ERROR for r in runs),
    }
