"""An amount compared without its currency (R313, a warning).

``order subtotal >= 100.00`` holds for 100.00 of any currency: 100 euros,
100 dollars and 100 yen alike. In a rule set whose orders are all in one
currency that is what is meant; in one whose orders come in several, it is
almost never what is meant. The rule set is taken to have orders in
several currencies when

* a rule tests a currency (``order currency is USD``, ``price currency in
  (…)``): there would be nothing to test otherwise;
* or its rules name two currencies or more (``discount 5.00 EUR``, ``up to
  10.00 USD``, a currency test);
* or the vocabulary gives a currency field two values or more
  (``Field("currency", Type.CURRENCY, values=("EUR", "USD"))``).

A comparison of an amount is then reported unless the rule pins the
currency: one of the tests joined to it by ``and`` (at any level above it)
is a currency equal to one value, ``order currency is EUR`` or ``order
currency in (EUR)``. Rules with errors are left to their errors.
"""

from __future__ import annotations

from collections.abc import Iterator

from rulec.dsl.check.context import Context, walk
from rulec.dsl.check.names import spelled
from rulec.dsl.nodes import (
    And,
    Between,
    Compare,
    Condition,
    FixedDiscount,
    Ident,
    In,
    Not,
    Number,
    Or,
    PercentDiscount,
    Rule,
    ShippingDiscount,
    Some,
    Span,
    String,
    TieredDiscount,
    Value,
)
from rulec.dsl.resolve import file_name, resolve_field
from rulec.dsl.vocabulary import Entity, Type

__all__ = ["stage_money"]


def stage_money(ctx: Context) -> None:
    """R313: an amount compared without its currency where orders have several."""
    why = _several_currencies(ctx)
    if why is None:
        return
    reason, named = why
    broken = {
        (d.span.file, d.span.line)
        for d in ctx.diagnostics
        if d.severity == "error" or d.code == "R307"
    }
    for rule in ctx.rules:
        if rule.condition is None or rule.span is None:
            continue
        lines = range(rule.span.line, rule.span.end_line + 1)
        if any((rule.span.file, n) in broken for n in lines):
            continue
        c = next((c for c, pinned in _amounts(ctx, rule.condition, False) if not pinned), None)
        if c is not None:  # once a rule: one currency test pins all its amounts
            text = _text(ctx, c)
            code = _currency_of(rule) or (named[0] if named else "EUR")
            field = _currency_field(ctx, rule, c)
            ctx.report(
                "R313",
                f"{text} compares with an amount in no currency, but orders here can be in"
                f" several currencies ({reason}): it holds for {_amount(c)} of any currency",
                c.span,
                f"say which in the same rule: {field} is {code} and {text}",
            )


def _amount(c: Compare | Between | In) -> str:
    """The first amount ``c`` compares with: ``100.00``."""
    first = c.value if isinstance(c, Compare) else c.low if isinstance(c, Between) else c.values[0]
    return _number(first)


def _several_currencies(ctx: Context) -> tuple[str, list[str]] | None:
    """Why the rule set's orders can be in several currencies, and the currencies
    it names (in order); None if nothing says they can."""
    named: dict[str, None] = {}
    tested: str | None = None
    for rule in ctx.rules:
        if tested is not None and named:
            break  # all that is needed: why, and a currency for the suggestion
        for a in rule.actions:
            if isinstance(a, FixedDiscount) or (
                isinstance(a, ShippingDiscount) and a.currency is not None
            ):
                named.setdefault(a.currency.text)
            elif isinstance(a, PercentDiscount) and a.cap is not None:
                named.setdefault(a.cap.currency.text)
            elif isinstance(a, TieredDiscount):
                for t in a.tiers:
                    named.setdefault(t.threshold_currency.text)
        for c in walk(rule.condition):
            if not isinstance(c, Compare | In | Between):
                continue
            resolved = resolve_field(ctx.vocabulary, c.field)
            if resolved is None or resolved[1].type is not Type.CURRENCY:
                continue
            if tested is None:
                what = f"{resolved[0].name} {spelled(resolved[1].name)}"
                where = f" at {_place(ctx, c.span)}" if c.span is not None else ""
                tested = f"a rule tests {what}{where}"
            values = (
                (c.value,)
                if isinstance(c, Compare)
                else (c.values if isinstance(c, In) else (c.low, c.high))
            )
            for v in values:
                code = _code(v)
                if code is not None:
                    named.setdefault(code)
    codes = list(named)
    if tested is not None:
        return tested, codes
    if len(codes) >= 2:
        return f"its rules name {', '.join(codes[:-1])} and {codes[-1]}", codes
    for e in ctx.vocabulary.entities:
        for f in e.fields:
            if f.type is Type.CURRENCY and len(f.values) >= 2:
                return f"{e.name} {spelled(f.name)} is one of {', '.join(f.values)}", [
                    *codes,
                    *f.values,
                ]
    return None


def _place(ctx: Context, span: Span) -> str:
    """``orders.rules:11``: a line, with its file's name in the rule set."""
    return f"{ctx.file_names.get(span.file) or file_name(span.file)}:{span.line}"


def _code(v: Value) -> str | None:
    if isinstance(v, Ident):
        return v.name
    if isinstance(v, String):
        return v.value
    return None


def _amounts(
    ctx: Context, c: Condition, pinned: bool
) -> Iterator[tuple[Compare | Between | In, bool]]:
    """Each comparison of an amount with a number in ``c``, and whether a currency
    test joined to it by 'and' pins its currency."""
    if isinstance(c, And):
        pinned = pinned or any(_pins(ctx, o) for o in c.operands)
        for o in c.operands:
            yield from _amounts(ctx, o, pinned)
    elif isinstance(c, Or):
        for o in c.operands:
            yield from _amounts(ctx, o, pinned)
    elif isinstance(c, Not):
        yield from _amounts(ctx, c.operand, pinned)
    elif isinstance(c, Some):
        yield from _amounts(ctx, c.condition, pinned)
    elif isinstance(c, Compare | Between | In):
        resolved = resolve_field(ctx.vocabulary, c.field)
        if resolved is None or resolved[1].type is not Type.MONEY:
            return
        values = (
            (c.value,)
            if isinstance(c, Compare)
            else c.values
            if isinstance(c, In)
            else (c.low, c.high)
        )
        if all(isinstance(v, Number) for v in values):
            yield c, pinned


def _pins(ctx: Context, c: Condition) -> bool:
    """``order currency is EUR``, ``order currency in (EUR)``: one currency."""
    one = (isinstance(c, Compare) and c.op.text == "=") or (
        isinstance(c, In) and not c.negated and len(c.values) == 1
    )
    if not one:
        return False
    resolved = resolve_field(ctx.vocabulary, c.field)
    return resolved is not None and resolved[1].type is Type.CURRENCY


def _text(ctx: Context, c: Compare | Between | In) -> str:
    """The comparison as written (on one line), or as it would be written."""
    written = ctx.source(c.span)
    if written is not None and '"' not in written and "#" not in written:
        return " ".join(written.split())
    field = f"{c.field.entity.text} {spelled(c.field.field.text)}"
    if isinstance(c, Compare):
        return f"{field} {c.op.text} {_number(c.value)}"
    if isinstance(c, Between):
        neg = "not " if c.negated else ""
        return f"{field} {neg}between {_number(c.low)} and {_number(c.high)}"
    neg = "not " if c.negated else ""
    return f"{field} {neg}in ({', '.join(_number(v) for v in c.values)})"


def _number(v: Value) -> str:
    return str(v.value) if isinstance(v, Number) else "…"


def _currency_of(rule: Rule) -> str | None:
    """The currency the rule's own actions name, if any (``discount 5.00 USD``)."""
    for a in rule.actions:
        if isinstance(a, FixedDiscount):
            return a.currency.text
        if isinstance(a, PercentDiscount) and a.cap is not None:
            return a.cap.currency.text
        if isinstance(a, TieredDiscount):
            return a.tiers[0].threshold_currency.text
        if isinstance(a, ShippingDiscount) and a.currency is not None:
            return a.currency.text
    return None


def _currency_field(ctx: Context, rule: Rule, c: Compare | Between | In) -> str:
    """The currency that goes with the amount ``c``: its entity's own (``price
    currency``), else the order's (an item's prices are in the order's currency)."""
    entity = ctx.vocabulary.entity(c.field.entity.text)
    candidates: list[Entity] = [entity] if entity is not None else []
    event = ctx.events.get(id(rule))
    names = ["order", *(event.entities if event is not None else ())]
    candidates += [e for n in names if (e := ctx.vocabulary.entity(n)) is not None]
    for e in candidates:
        for f in e.fields:
            if f.type is Type.CURRENCY:
                return f"{e.name} {spelled(f.name)}"
    return "order currency"
