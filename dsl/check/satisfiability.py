"""Satisfiability (R307, a warning): conditions that contradict each other.

The condition is put in disjunctive normal form (negations pushed in, up to
:data:`MAX_DNF_TERMS` conjunctions) and every conjunction is searched for a
label both required and excluded, or a field whose comparisons leave no
value.
"""

from __future__ import annotations

from typing import Any

from rulec.dsl.check.context import Context
from rulec.dsl.check.names import OPERATORS
from rulec.dsl.check.types import value_of
from rulec.dsl.nodes import (
    And,
    Between,
    Compare,
    Condition,
    HasAnyLabel,
    HasCoupon,
    HasCouponIn,
    HasLabel,
    In,
    Is,
    Not,
    Or,
    Some,
    Value,
)
from rulec.dsl.resolve import resolve_field
from rulec.dsl.values import Instant

__all__ = ["MAX_DNF_TERMS", "TooBig", "contradictory", "normal_form", "stage_satisfiability"]


#: Disjunctive normal forms larger than this are not searched for contradictions.
MAX_DNF_TERMS = 256
_Literal = tuple[str, Any, bool]  # ("label", (entity, name), positive) | ("cmp", …)


class TooBig(Exception):
    pass


def _dnf(c: Condition, positive: bool = True) -> list[list[Any]]:
    """The condition as a list of conjunctions of literals (negations pushed in)."""
    if isinstance(c, Not):
        return _dnf(c.operand, not positive)
    if isinstance(c, And | Or):
        conj = isinstance(c, And) == positive
        parts = [_dnf(o, positive) for o in c.operands]
        if not conj:
            out = [t for p in parts for t in p]
        else:
            out = [[]]
            for p in parts:
                out = [a + b for a in out for b in p]
                if len(out) > MAX_DNF_TERMS:
                    raise TooBig
        if len(out) > MAX_DNF_TERMS:
            raise TooBig
        return out
    if isinstance(c, HasLabel):
        return [[("label", (c.entity.text, c.label.text), positive != c.negated)]]
    if isinstance(c, HasCoupon):  # a code entered: a label of its own kind
        code = ("coupon " + c.entity.text, c.code.text.upper())
        return [[("label", code, positive != c.negated)]]
    if isinstance(c, HasCouponIn):  # a code of a family: a label of its own kind too
        family = ("coupon family " + c.entity.text, c.family.text)
        return [[("label", family, positive != c.negated)]]
    if isinstance(c, HasAnyLabel):
        names = tuple(n.text for n in c.labels)
        pos = positive != c.negated
        if pos:
            return [[("label", (c.entity.text, n), True)] for n in names]
        return [[("label", (c.entity.text, n), False) for n in names]]
    if isinstance(c, Some | Is):
        return [[("opaque", c, positive)]]
    return [[("cond", c, positive)]]


def _contradictory(term: list[Any], ctx: Context, values: dict[Any, Any] | None = None) -> bool:
    labels: dict[tuple[str, str], bool] = {}
    fields: dict[tuple[str, str], list[tuple[Compare | Between | In, bool]]] = {}
    for kind, what, positive in term:
        if kind == "label":
            if labels.get(what, positive) != positive:
                return True
            labels[what] = positive
        elif kind == "cond":
            key = (what.field.entity.text, what.field.field.text)
            fields.setdefault(key, []).append((what, positive))
    return any(_empty_range(conds, ctx, values) for conds in fields.values())


def _empty_range(
    conds: list[tuple[Compare | Between | In, bool]],
    ctx: Context,
    values: dict[Any, Any] | None = None,
) -> bool:
    """Whether the comparisons on one field leave no value possible (``values``: a
    cache of the values read, for a caller that tests many conjunctions)."""
    resolved = resolve_field(ctx.vocabulary, conds[0][0].field)
    if resolved is None:
        return False
    entity, f = resolved
    lo: tuple[Any, bool] | None = None  # (value, inclusive)
    hi: tuple[Any, bool] | None = None
    allowed: set[Any] | None = None
    banned: set[Any] = set()
    quiet = Context(ctx.vocabulary, ())

    def val(v: Value) -> Any:
        if values is None:
            return value_of(quiet, f, entity.name, v)
        key = (entity.name, f.name, v)
        if key not in values:
            values[key] = value_of(quiet, f, entity.name, v)
        return values[key]

    def raise_lo(v: Any, inc: bool) -> None:
        nonlocal lo
        if lo is None or v > lo[0] or (v == lo[0] and not inc):
            lo = (v, inc)

    def lower_hi(v: Any, inc: bool) -> None:
        nonlocal hi
        if hi is None or v < hi[0] or (v == hi[0] and not inc):
            hi = (v, inc)

    for c, positive in conds:
        if isinstance(c, Compare):
            op = c.op.text
            if op not in OPERATORS:
                return False
            v = val(c.value)
            if v is None:
                return False
            if not positive:
                op = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}[op]
            if isinstance(v, Instant):
                # a date covers [start, end); a date-time is the one instant start == end
                if op == "=":
                    raise_lo(v.start, True)
                    lower_hi(v.end, not v.date_only)
                elif op == "!=":
                    if not v.date_only:
                        banned.add(v.start)
                elif op == "<":
                    lower_hi(v.start, False)
                elif op == "<=":
                    lower_hi(v.end, not v.date_only)
                elif op == ">":
                    raise_lo(v.end, not v.date_only)
                else:
                    raise_lo(v.start, True)
                continue
            if op == "=":
                allowed = {v} if allowed is None else allowed & {v}
            elif op == "!=":
                banned.add(v)
            elif op in ("<", "<="):
                lower_hi(v, op == "<=")
            else:
                raise_lo(v, op == ">=")
        elif isinstance(c, Between):
            low, high = val(c.low), val(c.high)
            if low is None or high is None:
                return False
            if c.negated != (not positive):
                continue  # outside a range: rarely contradictory, not analysed
            if isinstance(low, Instant):
                raise_lo(low.start, True)
                lower_hi(high.end, not high.date_only)
            else:
                raise_lo(low, True)
                lower_hi(high, True)
        elif isinstance(c, In):
            vs = [val(v) for v in c.values]
            if any(v is None or isinstance(v, Instant) for v in vs):
                return False
            if c.negated != (not positive):
                banned.update(vs)
            else:
                allowed = set(vs) if allowed is None else allowed & set(vs)
    if (
        lo is not None
        and hi is not None
        and (lo[0] > hi[0] or (lo[0] == hi[0] and not (lo[1] and hi[1])))
    ):
        return True
    if allowed is not None:
        remaining = {
            a
            for a in allowed - banned
            if (lo is None or a > lo[0] or (a == lo[0] and lo[1]))
            and (hi is None or a < hi[0] or (a == hi[0] and hi[1]))
        }
        if not remaining:
            return True
    return False


def normal_form(c: Condition, positive: bool = True) -> list[list[Any]]:
    """``c`` (or, with ``positive`` False, its negation) as conjunctions of literals;
    TooBig past :data:`MAX_DNF_TERMS`. Deep lint (:mod:`.implication`) shares it."""
    return _dnf(c, positive)


def contradictory(term: list[Any], ctx: Context, values: dict[Any, Any] | None = None) -> bool:
    """Whether the literals of one conjunction leave no order possible (``values``: a
    cache of the values read, kept by a caller that tests many conjunctions)."""
    return _contradictory(term, ctx, values)


def stage_satisfiability(ctx: Context) -> None:
    """R307: conditions that contradict each other, so the rule never fires.

    Rules that already have errors are skipped: the error says more.
    """
    broken = {(d.span.file, d.span.line) for d in ctx.diagnostics if d.severity == "error"}
    for rule in ctx.rules:
        if rule.condition is None or rule.span is None:
            continue
        if not isinstance(rule.condition, And | Or | Not):
            continue  # one test alone cannot contradict itself (a reversed range is R306)
        lines = range(rule.span.line, rule.span.end_line + 1)
        if any((rule.span.file, n) in broken for n in lines):
            continue
        try:
            terms = _dnf(rule.condition)
        except TooBig:
            continue
        if terms and all(_contradictory(t, ctx) for t in terms):
            ctx.report(
                "R307",
                "the conditions contradict each other, so this rule can never fire",
                rule.condition.span,
            )
