"""``decide``: facts in, a :class:`Decision` out; the one entry every caller shares.

The engine deciding an order, a scheduled run, a listing, and the tools
that test or explain rules all call :func:`decide`: one candidate loop
(:mod:`rulec.engine.core.match`) and one policy per kind of event, the
discount policy (:mod:`rulec.engine.core.discount`) for order, label and
scheduled events, the visibility policy (:mod:`rulec.engine.core.visibility`)
for listing events. It is pure: nothing is read but ``facts`` (and the clock,
for a validity window when the facts carry no creation time), nothing is
written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rulec.dsl.currencies import MINOR_UNITS
from rulec.dsl.vocabulary import Kind
from rulec.engine.core.coupons import Refusal, coupon_outcomes, refuse
from rulec.engine.core.decision import Decision, LostRule
from rulec.engine.core.discount import resolve
from rulec.engine.core.facts import Facts
from rulec.engine.core.match import Tracer, match
from rulec.engine.core.money import payable
from rulec.engine.core.validate import check_currency, unknown_event
from rulec.engine.core.visibility import verdict_of

if TYPE_CHECKING:
    from rulec.engine.core.ruleset import RuleSet

__all__ = ["decide"]

_ZERO = Decimal(0)


def decide(
    rule_set: RuleSet,
    event: str,
    facts: Mapping[str, Any],
    *,
    tracer: Tracer | None = None,
    all_rules: bool = False,
    raise_errors: bool = False,
    now: datetime | None = None,
    refused: Mapping[str, Refusal] | None = None,
) -> Decision:
    """Decide ``event`` for ``facts`` with ``rule_set``.

    ``facts`` are nested (``{"customer": {"labels": {...}}, "order":
    {"subtotal": Decimal("120.00"), ...}}``), flat (``{"order.subtotal":
    ...}``) or a :class:`Facts`, taken as it is (any other mapping is
    flattened and checked first, see :mod:`rulec.engine.core.validate`: an
    unknown entity or field, a value of the wrong type, a currency that is
    not ISO 4217, a missing subtotal or currency of an order raise a
    :class:`~rulec.engine.core.errors.FactsError`). An event the rule set's
    vocabulary does not have raises
    :class:`~rulec.engine.core.errors.UnknownEventError`. A rule that raises
    is skipped and listed in ``Decision.errors``, or raised as
    RuleRuntimeError with ``raise_errors``.
    ``tracer`` hears of every rule considered (see
    :class:`~rulec.engine.core.match.Tracer`); ``all_rules`` also considers
    the rules the label index would skip, which cannot change the decision.
    Validity windows are judged at the order's creation, else at ``now``
    (default: the clock); a listing's at ``now``. An order's subtotal must be
    a payable amount (:func:`~rulec.engine.core.money.payable`): a negative
    one, or one finer than its currency's minor unit, raises MoneyError, as
    does one of 10**10 or more; a :class:`Facts` without the order's
    currency or subtotal, or in a currency that is not ISO 4217, is refused
    as well (MissingFactError, CurrencyError). The order's shipping charge
    (``order.shipping``) is optional: missing (or None) it is 0 in the order's
    currency, no shipping charge; given, it is checked as the subtotal is.
    ``refused`` names the rules the database shell refused a use (their usage
    limit or budget is spent): they do not apply, and are recorded as lost
    with the refusal's reason. The decision says what became of each coupon
    code entered on the order (``Decision.coupons``).
    """
    ev = rule_set._events.get(event)  # rule_set.event(event), without the call
    if ev is None:
        raise unknown_event(event, rule_set.event_keys())
    door = rule_set._doors.get(event) or rule_set.door(event)
    if type(facts) is not Facts:
        # the order's subtotal and currency, required and checked just below
        listing = ev.kind is Kind.LISTING
        facts = door.admit(facts, rule_set.fact_keys, required=False, deferred=not listing)
    subtotal = facts["order.subtotal"]
    currency = facts["order.currency"]
    version = rule_set.version
    plan = rule_set._plans.get(event) or rule_set.plan(event)
    if ev.kind is Kind.LISTING and ev.subject is not None:
        currency = currency or "EUR"
        if type(subtotal) is not Decimal:
            subtotal = _ZERO if subtotal is None else Decimal(subtotal)
        held, failures = match(
            plan,
            facts,
            lambda: _now(now),
            first=not all_rules,
            tracer=tracer,
            all_rules=all_rules,
            raise_errors=raise_errors,
        )
        verdict = verdict_of(held, failures, ev.subject)
        return Decision(
            event,
            version,
            currency,
            subtotal,
            errors=failures,
            matched=tuple(r.name for r in held),
            verdict=verdict,
        )
    if currency not in MINOR_UNITS or subtotal is None:
        if door.required:  # an order's money: never guessed
            door.refuse(facts)
        if currency is None:
            currency = "EUR"  # an event without an order: figures of nothing
        check_currency("order.currency", currency)
    subtotal = payable(subtotal, currency, "order.subtotal")
    held, failures = match(
        plan,
        facts,
        lambda: _moment(facts, now),
        tracer=tracer,
        all_rules=all_rules,
        raise_errors=raise_errors,
    )
    refusals: Sequence[LostRule] = ()
    if refused:
        held, refusals = refuse(held, refused)
    items = facts.get("item.all", ())  # not through Facts.__missing__: no lines is common
    # the shipping charge, checked by resolve when there is one (missing: none)
    shipping = facts.get("order.shipping")
    d = resolve(event, version, held, subtotal, currency, failures, refusals, items, shipping)
    codes = facts.get("order.coupons")
    if codes:
        rules = [c.rule for c in plan.every]
        outcomes = coupon_outcomes(codes, rules, d, facts, _moment(facts, now), refused or {})
        d = d.replace(coupons=outcomes)
    return d


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _moment(facts: Mapping[str, Any], now: datetime | None) -> datetime:
    """The instant validity windows are judged at: the order's creation on the
    events about an order; when the event has no order, the present."""
    created = facts["order.created_at"]
    return created if created is not None else _now(now)
