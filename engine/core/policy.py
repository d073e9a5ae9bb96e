"""The resolution policy: which of the matching rules' discounts apply.

1. Matching rules are ordered by priority (higher first), then source order.
2. Each rule's discount is computed from the *undiscounted* subtotal:
   a percentage (capped per rule) or a fixed amount in the order's currency
   (a fixed amount, or a cap, in another currency makes the rule not apply).
3. If an ``exclusive`` rule has a discount, the first such rule applies
   alone; every other discount loses.
4. Otherwise the best non-combinable discount applies (the largest amount;
   ties go to the earlier rule in the order of 1), plus every
   ``combinable`` discount stacked on it.
5. The total discount never exceeds the subtotal: the discounts applied
   last are reduced, so the total is never negative.

Label actions are not discounts: every matching rule's label changes apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from attrs import frozen

from rulec.dsl.currencies import MINOR_UNITS
from rulec.engine.core.money import minor_unit, quantize, zero
from rulec.engine.core.rules import FixedDiscount_, LabelChange_, PercentDiscount_, Rule_, SetField_

__all__ = [
    "AppliedDiscount",
    "Decision",
    "Entry",
    "Evaluator",
    "FieldChange",
    "LostRule",
    "RuleFailure",
    "decide",
    "nothing",
    "order_rules",
    "quick_evaluator",
    "resolve",
    "simple",
    "unknown_currency",
]

ZERO = Decimal(0)


@frozen
class AppliedDiscount:
    """A discount that applied: which rule, what kind, how much."""

    rule: str
    file: str
    line: int
    kind: str  # "percentage" | "fixed"
    percentage: Decimal | None
    amount: Decimal
    description: str
    capped: bool = False


@frozen
class LostRule:
    """A rule that matched but whose discount did not apply, and why."""

    rule: str
    file: str
    line: int
    reason: str


@frozen
class FieldChange:
    """A field a rule sets (``set order status to confirmed``), and which rule."""

    entity: str
    field: str
    value: str
    rule: str
    file: str
    line: int


@frozen
class RuleFailure:
    """A rule that raised while it was evaluated (recorded as R401)."""

    rule: str
    file: str
    line: int
    message: str


#: The four figures written on an order: percentage, amount, description, total.
Figures = tuple[Decimal | None, Decimal, str | None, Decimal]
#: A discount that applies, before it becomes an AppliedDiscount:
#: (rule, kind, percentage, amount, description, capped).
Row = tuple[Rule_, str, Decimal | None, Decimal, str, bool]
#: A rule that lost, before it becomes a LostRule: (rule, reason, argument),
#: the reason a format string with one ``{}`` for the argument.
Loss = tuple[Rule_, str, str]

_HUNDRED = Decimal(100)


#: What a decision is made of besides its figures: event, version, currency,
#: subtotal, errors, and the policy's matched rules, rows and losses.
_Basis = tuple[
    str,
    str,
    str,
    Decimal,
    tuple["RuleFailure", ...],
    # the quick evaluator leaves its hits (None: only the best), its best hit
    # and None (see _built)
    "tuple[Rule_, ...] | list[_Quick] | None",
    "tuple[Row, ...] | _Quick",
    "tuple[Loss, ...] | None",
]
_Records = tuple[
    tuple[AppliedDiscount, ...],
    tuple[LostRule, ...],
    tuple[LabelChange_, ...],
    tuple[str, ...],
    tuple[FieldChange, ...],
]


class Decision:
    """What the engine decided for one order and event; immutable.

    The figures written on the order (``discount_percentage``,
    ``discount_amount``, ``discount_description``, ``total_amount``) and the
    ``errors`` are worked out when the decision is made. The records that
    explain them (``applied``, ``lost``, ``label_changes``, ``matched``) are
    built from the rules the policy kept, on first use: an order that only
    needs its figures does not pay for its audit trail, and the trail read
    later is the same.

    A decision is made for every order, so it is made cheaply: the four
    figures are its own slots and everything else is one tuple (``_basis``:
    event, version, currency, subtotal, errors, and the policy's rules,
    rows and losses), read through properties.
    """

    __slots__ = (
        "_basis",
        "_records",
        "discount_amount",
        "discount_description",
        "discount_percentage",
        "total_amount",
    )

    #: The percentage shown to the customer: the applied percentages added up
    #: when every applied discount is an uncapped percentage (12.5% stays
    #: 12.5%); otherwise None.
    discount_percentage: Decimal | None
    #: The total discount, in the currency's minor unit.
    discount_amount: Decimal
    #: The applied discounts' descriptions, joined by " + "; None when none applied.
    discount_description: str | None
    #: The subtotal less the discount, never below zero.
    total_amount: Decimal
    _basis: _Basis
    #: Set on first use (an unset slot reads as AttributeError).
    _records: _Records

    def __init__(
        self,
        event: str,
        version: str,
        currency: str,
        subtotal: Decimal,
        applied: Sequence[AppliedDiscount] = (),
        lost: Sequence[LostRule] = (),
        label_changes: Sequence[LabelChange_] = (),
        errors: Sequence[RuleFailure] = (),
        matched: Sequence[str] = (),
        field_changes: Sequence[FieldChange] = (),
    ) -> None:
        """A decision from its records (the engine builds its own faster)."""
        applied = tuple(applied)
        percentage, amount, description, total = _figures_of(applied, currency, subtotal)
        values = {
            "discount_percentage": percentage,
            "discount_amount": amount,
            "discount_description": description,
            "total_amount": total,
            "_basis": (event, version, currency, subtotal, tuple(errors), (), (), ()),
            "_records": (
                applied,
                tuple(lost),
                tuple(label_changes),
                tuple(matched),
                tuple(field_changes),
            ),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Decision is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Decision is immutable: cannot delete {name!r}")

    @property
    def event(self) -> str:
        """The event decided (``order_created``)."""
        return self._basis[0]

    @property
    def version(self) -> str:
        """The version of the rule set that decided."""
        return self._basis[1]

    @property
    def currency(self) -> str:
        """The order's currency."""
        return self._basis[2]

    @property
    def subtotal(self) -> Decimal:
        """The order's subtotal, before any discount."""
        return self._basis[3]

    @property
    def errors(self) -> tuple[RuleFailure, ...]:
        """The rules that raised while they were evaluated, skipped (R401)."""
        return self._basis[4]

    def _built(self) -> _Records:
        try:
            return self._records
        except AttributeError:
            pass
        event, _, _, _, _, kept, made, lost = self._basis
        rows: tuple[Row, ...]
        losses: tuple[Loss, ...]
        if lost is None:  # the quick evaluator's: its hits as they came, the best one
            offer = cast(Simple, cast(_Quick, made)[3])
            rule = offer[0]
            rows = ((rule, "percentage", offer[4], self.discount_amount, offer[3], False),)
            hits = [made] if kept is None else kept
            rules, losses = _ranked(cast(list[_Quick], hits), rule)
        else:
            rules, rows, losses = cast(tuple[Rule_, ...], kept), cast(tuple[Row, ...], made), lost
        changes, overruled = _field_changes(rules, event)
        records = (
            tuple(
                AppliedDiscount(r.name, r.file, r.line, kind, pct, amount, text, capped)
                for r, kind, pct, amount, text, capped in rows
            ),
            tuple(
                LostRule(r.name, r.file, r.line, reason.format(arg))
                for r, reason, arg in (*losses, *overruled)
            ),
            tuple(
                a
                for r in rules
                if r.event == event  # side effects: the event's own rules only
                for a in r.actions
                if type(a) is LabelChange_
            ),
            tuple(r.name for r in rules),
            changes,
        )
        object.__setattr__(self, "_records", records)
        return records

    @property
    def applied(self) -> tuple[AppliedDiscount, ...]:
        """The discounts that applied, in the order they were applied."""
        return self._built()[0]

    @property
    def lost(self) -> tuple[LostRule, ...]:
        """The matching rules whose discount did not apply, each with its reason."""
        return self._built()[1]

    @property
    def label_changes(self) -> tuple[LabelChange_, ...]:
        """The label changes of the matching rules of the event itself (not of the
        events it includes: deciding an order again does not redo them), in
        priority order."""
        return self._built()[2]

    @property
    def matched(self) -> tuple[str, ...]:
        """The names of the rules whose conditions held, in priority order."""
        return self._built()[3]

    @property
    def field_changes(self) -> tuple[FieldChange, ...]:
        """The fields the matching rules set: per field, the first rule in priority order."""
        return self._built()[4]

    def _key(self) -> tuple[Any, ...]:
        return (
            self.event,
            self.version,
            self.currency,
            self.subtotal,
            self.applied,
            self.lost,
            self.label_changes,
            self.errors,
            self.matched,
            self.field_changes,
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not Decision:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its figures and records: the rules it was decided from
        (compiled code) stay behind, and an unpickled decision equals it."""
        figures = (
            self.discount_percentage,
            self.discount_amount,
            self.discount_description,
            self.total_amount,
        )
        return _restored, (figures, self._basis[:5], self._built())

    def __copy__(self) -> Decision:
        return self  # immutable

    def __deepcopy__(self, _memo: dict[int, Any]) -> Decision:
        return self  # immutable, and so is everything it holds

    def __repr__(self) -> str:
        names = (
            "event version currency subtotal applied lost label_changes errors matched"
            " field_changes"
        )
        fields = ", ".join(f"{n}={v!r}" for n, v in zip(names.split(), self._key(), strict=True))
        return f"Decision({fields})"


class _Making(Decision):
    """A Decision being made: its slots can be set, once, by ``_decision``."""

    __slots__ = ()
    # both, or CPython routes every store through a Python-level call
    __setattr__ = object.__setattr__  # type: ignore[assignment]
    __delattr__ = object.__delattr__  # type: ignore[assignment]


_new = object.__new__


def _restored(
    figures: Figures,
    basis: tuple[str, str, str, Decimal, tuple[RuleFailure, ...]],
    records: _Records,
) -> Decision:
    """An unpickled Decision (see ``Decision.__reduce__``): its records as they were."""
    event, version, currency, subtotal, errors = basis
    d = _decision(event, version, currency, subtotal, figures, errors, (), (), ())
    object.__setattr__(d, "_records", records)  # as _built does
    return d


def _decision(
    event: str,
    version: str,
    currency: str,
    subtotal: Decimal,
    figures: Figures,
    errors: tuple[RuleFailure, ...],
    rules: tuple[Rule_, ...],
    rows: tuple[Row, ...],
    losses: tuple[Loss, ...],
) -> Decision:
    """A Decision from what the policy worked out, without the cost of ``__init__``."""
    d = _new(_Making)
    d.discount_percentage, d.discount_amount, d.discount_description, d.total_amount = figures
    d._basis = (event, version, currency, subtotal, errors, rules, rows, losses)
    d.__class__ = Decision  # type: ignore[assignment]  # made: from now on immutable
    return d


def _ranked(hits: list[_Quick], winner: Rule_) -> tuple[tuple[Rule_, ...], tuple[Loss, ...]]:
    """The rules of the quick evaluator's ``hits`` in rank order, each once, and
    the losses of all but ``winner`` to it."""
    ordered = sorted({e[0]: e for e in hits}.values())
    name = winner.name
    return (
        tuple(e[1] for e in ordered),
        tuple((e[1], _BETTER, name) for e in ordered if e[1] is not winner),
    )


_SET_BY = "{}"  # the whole reason is the argument


def _field_changes(
    rules: Sequence[Rule_], event: str
) -> tuple[tuple[FieldChange, ...], list[Loss]]:
    """Per field, the first setting in priority order; the rules it overrules, as losses.

    Only the event's own rules set fields: deciding an order again
    (``order_updated`` runs the ``order_created`` rules too) recomputes its
    discounts but does not set its status back to what creation set, over
    what the back office did since.
    """
    chosen: dict[tuple[str, str], FieldChange] = {}
    overruled: list[Loss] = []
    for r in rules:
        if r.event != event:
            continue
        for a in r.actions:
            if type(a) is not SetField_:
                continue
            key = (a.entity, a.field)
            first = chosen.get(key)
            if first is None:
                chosen[key] = FieldChange(a.entity, a.field, a.value, r.name, r.file, r.line)
            elif first.value != a.value:
                what = f"{a.entity} {a.field.replace('_', ' ')}"
                overruled.append((r, _SET_BY, f"{what} is set by rule '{first.rule}'"))
    return tuple(chosen.values()), overruled


def _figures(rows: Sequence[Row], currency: str, subtotal: Decimal) -> Figures:
    """The four figures written on an order, from the discounts that apply."""
    if not rows:
        amount = zero(currency)
        total = subtotal - amount
        return None, amount, None, ZERO if total < ZERO else total
    if len(rows) == 1:
        _, kind, pct, amount, description, capped = rows[0]
        amount = quantize(amount, currency)
        percentage = ZERO + (pct or ZERO) if kind == "percentage" and not capped else None
        text: str | None = description
    else:
        amount = quantize(sum((row[3] for row in rows), ZERO), currency)
        percentage = (
            sum((row[2] or ZERO for row in rows), ZERO)
            if all(row[1] == "percentage" and not row[5] for row in rows)
            else None
        )
        text = " + ".join(row[4] for row in rows)
    total = subtotal - amount
    return percentage, amount, text, ZERO if total < ZERO else total


def _figures_of(applied: Sequence[AppliedDiscount], currency: str, subtotal: Decimal) -> Figures:
    """The four figures, from AppliedDiscount records (as ``Decision(...)`` takes them)."""
    return _figures(
        [(a.rule, a.kind, a.percentage, a.amount, a.description, a.capped) for a in applied],  # type: ignore[misc]
        currency,
        subtotal,
    )


def order_rules(rules: Sequence[Rule_], position: dict[int, int]) -> list[Rule_]:
    """Priority first (higher first), then source order."""
    if len(rules) < 2:
        return list(rules)
    return sorted(rules, key=lambda r: (-r.priority, position[id(r)]))


def _offer(rule: Rule_, subtotal: Decimal, currency: str, unit: Decimal) -> tuple[list[Row], str]:
    """The discounts of one rule for this order, or a reason why there are none."""
    out: list[Row] = []
    reason = ""
    for a in rule.actions:
        kind = type(a)
        if kind is PercentDiscount_:
            amount = (subtotal * a.percent / _HUNDRED).quantize(unit, ROUND_HALF_UP)  # type: ignore[union-attr]
            capped = False
            if a.cap is not None:  # type: ignore[union-attr]
                if a.cap_currency != currency:  # type: ignore[union-attr]
                    reason = f"its cap is in {a.cap_currency}, the order in {currency}"  # type: ignore[union-attr]
                    continue
                if amount > a.cap:  # type: ignore[union-attr]
                    amount, capped = a.cap.quantize(unit, ROUND_HALF_UP), True  # type: ignore[union-attr]
            out.append((rule, "percentage", a.percent, amount, a.title, capped))  # type: ignore[union-attr]
        elif kind is FixedDiscount_:
            if a.currency != currency:  # type: ignore[union-attr]
                reason = f"its amount is in {a.currency}, the order in {currency}"  # type: ignore[union-attr]
                continue
            amount = a.amount.quantize(unit, ROUND_HALF_UP)  # type: ignore[union-attr]
            out.append((rule, "fixed", None, amount, a.title, False))  # type: ignore[union-attr]
    return out, reason


#: Currencies the engine can round money in.
KNOWN_CURRENCIES = frozenset(MINOR_UNITS)

#: A rule whose only action is an uncapped percentage, prepared once per rule set:
#: (rule, percent / 100, the percentage shown, description, percent).
Simple = tuple[Rule_, Decimal, Decimal, str, Decimal]

_ZEROS = {code: zero(code) for code in MINOR_UNITS}
_UNITS = {code: minor_unit(code) for code in MINOR_UNITS}


def simple(rule: Rule_) -> Simple | None:
    """``rule`` prepared for :func:`decide`, or None when the general policy must weigh it.

    That is a rule with exactly one action, an uncapped percentage, that is
    neither exclusive nor combinable: among such rules the largest amount
    wins, ties to the first.
    """
    actions = rule.actions
    if len(actions) != 1 or rule.exclusive or rule.combinable:
        return None
    a = actions[0]
    if type(a) is not PercentDiscount_ or a.cap is not None:
        return None
    return (rule, a.percent / _HUNDRED, ZERO + a.percent, a.title, a.percent)


def unknown_currency(event: str, version: str, currency: str, subtotal: Decimal) -> Decision:
    """The decision for an order in a currency rulec does not know.

    Money cannot be rounded to an unknown minor unit, so no rule is applied:
    the order is kept at its subtotal (never below zero) and the decision
    carries one failure saying why, which the engine logs and records with
    the order (a missing decision must not lose the order).
    """
    total = subtotal if subtotal > ZERO else ZERO
    failure = RuleFailure("", "", 0, f"unknown currency {currency!r}: no rule was applied")
    return _decision(
        event, version, currency, subtotal, (None, ZERO, None, total), (failure,), (), (), ()
    )


def nothing(
    event: str,
    version: str,
    currency: str,
    subtotal: Decimal,
    errors: tuple[RuleFailure, ...] = (),
) -> Decision:
    """The decision when no rule matched (the most frequent one), made quickly."""
    amount = _ZEROS.get(currency)
    if amount is None:
        raise ValueError(f"unknown currency {currency!r}")
    total = subtotal - amount
    return _decision(
        event,
        version,
        currency,
        subtotal,
        (None, amount, None, ZERO if total < ZERO else total),
        errors,
        (),
        (),
        (),
    )


def decide(
    event: str,
    version: str,
    matched: list[Rule_],
    offers: list[Simple | None],
    subtotal: Decimal,
    currency: str,
    errors: list[RuleFailure],
) -> Decision:
    """:func:`resolve`, quicker when every matched rule is :func:`simple`.

    ``offers[i]`` is ``simple(matched[i])``. The outcome is the policy's:
    the largest amount, ties to the first rule, alone; the others lost to it.
    """
    unit = _UNITS.get(currency)
    if not offers or unit is None or subtotal <= ZERO or None in offers:
        return resolve(event, version, matched, subtotal, currency, errors)
    best = None
    most = ZERO
    for offer in offers:
        amount = (subtotal * offer[1]).quantize(unit, ROUND_HALF_UP)  # type: ignore[index]
        if best is None or amount > most:
            best, most = offer, amount
    assert best is not None
    if most > subtotal:  # rounded up past a subtotal finer than the currency (0.50 JPY)
        return resolve(event, version, matched, subtotal, currency, errors)
    rule = best[0]
    return _decision(
        event,
        version,
        currency,
        subtotal,
        (best[2], most, best[3], subtotal - most),
        tuple(errors) if errors else (),
        tuple(matched),
        ((rule, "percentage", best[4], most, best[3], False),),
        tuple((r, _BETTER, rule.name) for r in matched if r is not rule)
        if len(matched) > 1
        else (),
    )


#: A candidate rule as the evaluator holds it: (rank, rule, its test, the rule
#: if it has a validity window, :func:`simple` of the rule).
Entry = tuple[int, Rule_, Callable[[Mapping[str, Any]], bool], Rule_ | None, Simple | None]
#: A candidate as the quick evaluator holds it: (rank, rule, its test or None when
#: the label it was found by is its whole condition, :func:`simple` of the rule
#: when it has no window, else None).
_Quick = tuple[int, Rule_, Callable[[Mapping[str, Any]], bool] | None, Simple | None]
#: An evaluator: facts (and whether to raise a rule's error) to a decision.
Evaluator = Callable[[Mapping[str, Any], bool], Decision]


def quick_evaluator(
    event: str,
    version: str,
    scan: tuple[Entry, ...],
    labels: tuple[tuple[str, dict[str, tuple[Entry, ...]]], ...],
    general: Evaluator,
    flat: type,
    flatten: Callable[[Mapping[str, Any]], Mapping[str, Any]],
) -> Evaluator | None:
    """The evaluator of an event, quick for the usual orders.

    Most orders are decided by no rule, or by plain percentages that compete
    (rules that are :func:`simple`, without a validity window). One function
    does that work (find the candidates, test them, keep the largest amount,
    ties to the better rank, make the decision), so such an order pays for
    few Python calls. As soon as anything else is in play it hands the facts
    to ``general``, the evaluator of the whole policy: a matching rule that
    is not simple or has a window, a subtotal that is not a positive Decimal,
    an unknown currency, a rule that raises (tests have no side effects:
    running them again is safe), an amount rounded up past a subtotal finer
    than its currency. ``scan`` and ``labels`` are the event's plan, entries
    in rank order; a rule listed under two labels is counted once. Facts
    that are not of type ``flat`` are made so by ``flatten`` first. Returns
    None for an event without rules.
    """

    def quick(entries: tuple[Entry, ...]) -> tuple[_Quick, ...]:
        return tuple(
            (
                rank,
                rule,
                None if rule.label_only else test,  # found by its label: matched
                offer if window is None else None,
            )
            for rank, rule, test, window, offer in entries
        )

    scan_ = quick(scan)
    labels_ = tuple((key, {n: quick(hit) for n, hit in index.items()}) for key, index in labels)
    if not scan_ and not any(index for _, index in labels_):
        return None
    units = _UNITS
    zeros = _ZEROS
    half_up = ROUND_HALF_UP
    zero = ZERO
    dec = Decimal
    new = _new
    making = _Making
    final = Decision

    def evaluate(facts: Mapping[str, Any], raise_errors: bool = False) -> Decision:
        if type(facts) is not flat:
            facts = flatten(facts)
        subtotal = facts["order.subtotal"]
        currency = facts["order.currency"] or "EUR"
        unit = units.get(currency)
        if type(subtotal) is not dec or unit is None or not subtotal > zero:
            return general(facts, raise_errors)
        best: _Quick | None = None  # the first hit
        more: list[_Quick] | None = None  # every hit, once there are two
        try:
            for entry in scan_:
                if entry[2](facts):  # type: ignore[misc]  # scanned rules have no labels
                    if entry[3] is None:
                        return general(facts, raise_errors)
                    if best is None:
                        best = entry
                    elif more is None:
                        more = [best, entry]
                    else:
                        more.append(entry)
            for key, index in labels_:
                for name in facts[key]:
                    hit = index.get(name)
                    if hit:
                        for entry in hit:
                            test = entry[2]
                            if test is None or test(facts):
                                if entry[3] is None:
                                    return general(facts, raise_errors)
                                if best is None:
                                    best = entry
                                elif more is None:
                                    more = [best, entry]
                                else:
                                    more.append(entry)
        except Exception:
            return general(facts, raise_errors)
        if best is None:
            amount = zeros[currency]
            d = new(making)
            d.discount_percentage = None
            d.discount_amount = amount
            d.discount_description = None
            d.total_amount = subtotal - amount
            d._basis = (event, version, currency, subtotal, (), (), (), ())
        else:
            most = (subtotal * best[3][1]).quantize(unit, half_up)  # type: ignore[index]
            if more is not None:
                for entry in more:  # the largest amount; ties to the better rank
                    if entry is not best:
                        amount = (subtotal * entry[3][1]).quantize(unit, half_up)  # type: ignore[index]
                        if amount > most or (amount == most and entry[0] < best[0]):
                            best, most = entry, amount
            if most > subtotal:  # rounded up past a subtotal finer than the currency
                return general(facts, raise_errors)
            offer: Simple = best[3]  # type: ignore[assignment]
            d = new(making)
            d.discount_percentage = offer[2]
            d.discount_amount = most
            d.discount_description = offer[3]
            d.total_amount = subtotal - most
            # the records (rank order, losses, the applied row) are made when
            # read; ``more`` is None when ``best`` was the only hit
            d._basis = (event, version, currency, subtotal, (), more, best, None)
        d.__class__ = final  # type: ignore[assignment]  # made: immutable now
        return d

    return evaluate


_BETTER = "a better discount applied: '{}'"
_EXCLUSIVE = "exclusive rule '{}' applied"
_FREE = "the order is already free{}"
_NONE = "no discount applies: {}"


def resolve(
    event: str,
    version: str,
    matched: Sequence[Rule_],
    subtotal: Decimal,
    currency: str,
    errors: Sequence[RuleFailure] = (),
) -> Decision:
    """Apply the policy to ``matched`` rules, already in priority order."""
    unit = minor_unit(currency)  # an unknown currency is an error, match or not
    rules = tuple(matched)
    if not rules:
        return nothing(event, version, currency, subtotal, tuple(errors))

    losses: list[Loss] = []
    offers: list[tuple[Rule_, list[Row], Decimal]] = []
    for r in rules:
        for a in r.actions:
            if type(a) is PercentDiscount_ or type(a) is FixedDiscount_:
                break
        else:  # label changes or settings only: no discount to weigh
            continue
        rows, reason = _offer(r, subtotal, currency, unit)
        if not rows:
            losses.append((r, _NONE, reason))
        elif len(rows) == 1:
            offers.append((r, rows, rows[0][3]))
        else:
            offers.append((r, rows, sum((row[3] for row in rows), ZERO)))

    chosen: list[tuple[Rule_, list[Row], Decimal]] = []
    exclusive = None
    for o in offers:
        if o[0].exclusive:
            exclusive = o
            break
    if exclusive is not None:
        chosen.append(exclusive)
        first = exclusive[0]
        losses.extend((o[0], _EXCLUSIVE, first.name) for o in offers if o[0] is not first)
    else:
        best = None
        for o in offers:  # the first of the largest wins ties
            if not o[0].combinable and (best is None or o[2] > best[2]):
                best = o
        if best is not None:
            chosen.append(best)
            name = best[0].name
            losses.extend(
                (o[0], _BETTER, name) for o in offers if o is not best and not o[0].combinable
            )
        chosen.extend(o for o in offers if o[0].combinable)

    applied: list[Row] = []
    left = subtotal
    for _rule, rows, _total in chosen:
        for row in rows:
            if left <= ZERO:
                losses.append((row[0], _FREE, ""))
                continue
            if row[3] > left:
                row = (*row[:3], left, row[4], True)  # type: ignore[assignment]
            applied.append(row)
            left -= row[3]
    return _decision(
        event,
        version,
        currency,
        subtotal,
        _figures(applied, currency, subtotal),
        tuple(errors),
        rules,
        tuple(applied),
        tuple(losses),
    )
