"""Tests (``test "…" on EVENT given … expect … end``): checked as rules are.

A test's event, the names and values of its ``given`` facts, its moment and
the actions it expects are checked by the same stages as a rule's, on a
rule made of them (its givens as the condition, the actions it expects as
the actions, its moment as a window): a misspelt field in a test gets the
same R204 and did-you-mean as in a rule. Then what only a test has:

- R340: a ``given`` states facts as they are: ``X has label L``,
  ``ENTITY FIELD is VALUE`` (or ``= VALUE``), a true-or-false field alone
  (``order created by agent``), joined by ``and``; a line's facts (an
  ``item``) in a ``given`` of their own, one per line;
- R341: two tests of the rule set with one name;
- R342: an ``expect`` names a rule (by its name, or its discount's
  description) that the rule set does not have;
- R343: ``expect coupon CODE OUTCOME`` names an outcome a code cannot have
  (the outcomes are ``CouponOutcome``'s stable reason codes), or a code no
  one could type (R231);
- R344: ``given rule "X" REASON`` names a refusal there is not (the reasons
  are ``limit_reached``, ``customer_limit_reached``, ``budget_spent``), or one
  the rule cannot get, having no such limit (``budget_spent`` of a rule
  without a budget); an unknown rule is R342.
"""

from __future__ import annotations

from rulec.dsl.check import actions, names, types
from rulec.dsl.check.context import Context, did_you_mean
from rulec.dsl.lower import REFUSALS, limits_of
from rulec.dsl.nodes import (
    And,
    BuyGet,
    Compare,
    Condition,
    DateValue,
    ExpectAction,
    ExpectCoupon,
    ExpectFigure,
    ExpectRule,
    FixedDiscount,
    HasCoupon,
    HasLabel,
    Is,
    Name,
    PercentDiscount,
    Rule,
    RuleTest,
    ShippingDiscount,
    Some,
    String,
    TieredDiscount,
)
from rulec.dsl.values import parse_date

__all__ = ["facts_of", "rule_names", "stage_tests"]


def stage_tests(ctx: Context) -> None:
    """Check every test of the rule set: as a rule, then as a test."""
    tests = [i for i in ctx.items if isinstance(i, RuleTest)]
    if not tests:
        return
    as_rules = Context(
        ctx.vocabulary,
        ctx.items,
        file_names=ctx.file_names,
        texts=ctx.texts,
        labels=ctx.labels,
        families=ctx.families,
    )
    as_rules.warned_undeclared = ctx.warned_undeclared
    as_rules.rules = [_as_rule(ctx, t) for t in tests]
    for stage in (names.stage_names, types.stage_types, actions.stage_actions):
        stage(as_rules)
    for d in as_rules.diagnostics:
        ctx.report(d.code, d.message, d.span, d.suggestion)
    for t, probe in zip(tests, as_rules.rules, strict=True):
        event = as_rules.events.get(id(probe))
        many = event.many if event is not None else ()
        for given in t.givens:
            _given(ctx, given, many)
        if t.at is not None:
            _moment(ctx, t.at)
        for e in t.expects:
            if isinstance(e, ExpectFigure) and e.currency is not None:
                types.known_currency(ctx, e.currency)
    _names(ctx, tests)
    _rules_named(ctx, tests)
    _coupon_outcomes(ctx, tests)
    _refusals(ctx, tests)


def _as_rule(ctx: Context, t: RuleTest) -> Rule:
    """The rule whose check is the test's: its facts, and the actions it expects.

    A fact about one line of the order (``given item has label Fragile``)
    is checked as ``any item has label Fragile`` is in a rule.
    """
    event = ctx.vocabulary.event(t.event.text, t.subject.text if t.subject else None)
    many = set(event.many) if event is not None else set()
    facts: list[Condition] = []
    for given in t.givens:
        for fact in facts_of(given):
            subject = _subject(fact)
            if subject in many:
                assert subject is not None
                facts.append(Some(Name(subject, span=fact.span), fact, span=fact.span))
            else:
                facts.append(fact)
    condition: Condition | None = None
    if len(facts) == 1:
        condition = facts[0]
    elif facts:
        condition = And(facts, span=facts[0].span)
    return Rule(
        t.event,
        condition,
        [e.action for e in t.expects if isinstance(e, ExpectAction)],
        subject=t.subject,
        span=t.span,
    )


def _moment(ctx: Context, at: DateValue) -> None:
    """``at 2026-11-28 10:00 Europe/Paris``: a date as a window's, in a known zone."""
    if not types.known_zone(ctx, at):
        types.date_text(ctx, at)
        return
    got = parse_date(at)
    if isinstance(got, str):
        ctx.report("R207", got, at.span)


def facts_of(given: Condition) -> list[Condition]:
    """The facts a ``given`` states, one per operand of its ``and``."""
    if isinstance(given, And):
        return [f for op in given.operands for f in facts_of(op)]
    return [given]


def _subject(fact: Condition) -> str | None:
    """The entity a plain fact is about, or None when it is not a plain fact."""
    if isinstance(fact, HasLabel | HasCoupon) and not fact.negated:
        return fact.entity.text
    if isinstance(fact, Compare) and fact.op.text == "=":
        return fact.field.entity.text
    if isinstance(fact, Is) and not fact.negated:
        return fact.entity.text
    return None


def _given(ctx: Context, given: Condition, many: tuple[str, ...]) -> None:
    subjects = set()
    for fact in facts_of(given):
        subject = _subject(fact)
        if subject is None:
            ctx.report(
                "R340",
                "a test's 'given' states facts as they are, not a condition",
                fact.span,
                "write facts such as 'customer has label Customer_VIP', "
                "'order subtotal is 120.00' or 'order created by agent', joined by 'and'; "
                "a fact that does not hold is left out",
            )
            continue
        subjects.add(subject)
    listed = subjects & set(many)
    if listed and len(subjects) > 1:
        entity = sorted(listed)[0]
        ctx.report(
            "R340",
            f"each '{entity}' is one line of the order: give its facts in a 'given' of their own",
            given.span,
            f"write 'given {entity} …' once per line, and the order's other facts apart",
        )


def _names(ctx: Context, tests: list[RuleTest]) -> None:
    seen: dict[str, RuleTest] = {}
    for t in tests:
        first = seen.setdefault(t.name, t)
        if first is not t and first.span is not None:
            ctx.report(
                "R341",
                f"a test named '{t.name}' is already at {first.span}",
                t.span,
                "give each test its own name: results and failures are reported by it",
            )


def rule_names(ctx: Context) -> dict[str, list[str]]:
    """What a test may call each rule: its name, and its discounts' descriptions."""
    out: dict[str, list[str]] = {}
    for rule in ctx.rules:
        name = ctx.rule_name(rule)
        out.setdefault(name, []).append(name)
        for a in rule.actions:
            if isinstance(
                a, PercentDiscount | FixedDiscount | BuyGet | TieredDiscount | ShippingDiscount
            ) and (a.title != name):
                out.setdefault(a.title, []).append(name)
    return out


#: What can become of a code entered (engine/core/decision.py, ``CouponOutcome``).
COUPON_OUTCOMES = (
    "applied",
    "unknown",
    "not_yet_valid",
    "expired",
    "conditions_not_met",
    "lost",
    *REFUSALS,
)

#: The limit a rule needs to be refused for each reason, in words.
_NEEDS = {
    "limit_reached": ("limit of uses in all", "limit 100 uses"),
    "customer_limit_reached": ("limit per customer", "limit 1 use per customer"),
    "code_limit_reached": ("limit per code", "limit 1 use per code"),
    "budget_spent": ("budget", "budget 1000.00 EUR"),
}


def _refusals(ctx: Context, tests: list[RuleTest]) -> None:
    known = rule_names(ctx)
    rules = {ctx.rule_name(r): r for r in ctx.rules}
    for t in tests:
        for g in t.refused:
            reason = g.reason.text
            if reason not in REFUSALS:
                ctx.report(
                    "R344",
                    f"'{reason}' is not why a rule is refused a use",
                    g.reason.span,
                    did_you_mean(reason, list(REFUSALS))
                    or "a rule is refused for " + ", ".join(REFUSALS),
                )
                continue
            named = known.get(g.rule.value)
            if named is None:
                ctx.report(
                    "R342",
                    f"the rule set has no rule named or described '{g.rule.value}'",
                    g.rule.span,
                    did_you_mean(g.rule.value, sorted(known)),
                )
                continue
            if not any(_can_be(rules.get(n), reason) for n in named):
                what, example = _NEEDS[reason]
                ctx.report(
                    "R344",
                    f"rule '{named[0]}' is never refused for {reason}: it has no {what}",
                    g.reason.span,
                    f"give the rule a {what} ({example}), or state another reason",
                )


def _can_be(rule: Rule | None, reason: str) -> bool:
    """Whether ``rule``'s limits can refuse it a use for ``reason``."""
    limits = limits_of(rule) if rule is not None else None
    return limits is not None and limits.refuses(reason)


def _coupon_outcomes(ctx: Context, tests: list[RuleTest]) -> None:
    for t in tests:
        for e in t.expects:
            if not isinstance(e, ExpectCoupon):
                continue
            names.coupon_code(ctx, e.code)
            if e.outcome.text not in COUPON_OUTCOMES:
                ctx.report(
                    "R343",
                    f"'{e.outcome.text}' is not what can become of a coupon code",
                    e.outcome.span,
                    did_you_mean(e.outcome.text, list(COUPON_OUTCOMES))
                    or "a code is " + ", ".join(COUPON_OUTCOMES),
                )


def _rules_named(ctx: Context, tests: list[RuleTest]) -> None:
    known = rule_names(ctx)
    for t in tests:
        for e in t.expects:
            if not isinstance(e, ExpectRule):
                continue
            for ref in (e.rule, e.to):
                if isinstance(ref, String) and ref.value not in known:
                    ctx.report(
                        "R342",
                        f"the rule set has no rule named or described '{ref.value}'",
                        ref.span,
                        did_you_mean(ref.value, sorted(known)),
                    )
