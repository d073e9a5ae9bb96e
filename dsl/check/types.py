"""Types and values: a value fits its field, an operator its type; dates,
time zones and currency codes are valid (R206 to R209, R219, R306), and a
time zone is not an abbreviation that seldom means what was meant (R314).

A value written as elsewhere gets its fix in the writer's terms: a
currency's name or small letters (``euros``, ``eur`` → ``EUR``), a city or
an abbreviation for a zone (``Paris`` → ``Europe/Paris``), a date day first
(``27/11/2026`` → ``2026-11-27``), ``True`` or ``"100"`` in quotes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rulec.dsl.check.context import Context, did_you_mean, walk
from rulec.dsl.check.names import spelled
from rulec.dsl.currencies import MINOR_UNITS, currency_hint
from rulec.dsl.nodes import (
    Between,
    Compare,
    DateValue,
    Ident,
    In,
    Is,
    Name,
    Number,
    SetField,
    String,
    Value,
)
from rulec.dsl.resolve import resolve_field
from rulec.dsl.values import (
    Instant,
    invalid_date,
    known_zones,
    parse_date,
    resolve_zone,
    zone_hint,
    zone_warning,
)
from rulec.dsl.vocabulary import Entity, Field, Type

__all__ = ["date_text", "known_currency", "known_zone", "stage_types", "value_of"]


_ORDERED = {Type.MONEY, Type.DECIMAL, Type.INTEGER, Type.DATETIME}


#: Words for "percent" written where a discount's currency goes (``5 percent``).
_PERCENT_WORDS = frozenset({"percent", "pct", "percentage", "perc", "pc"})


def known_currency(ctx: Context, name: Name, amount: Decimal | None = None) -> bool:
    """Whether ``name`` is a currency code (R209 if not); ``amount`` is the
    amount before it in a discount, for the fix of ``discount 5 percent``."""
    if name.text in MINOR_UNITS:
        return True
    fix = _currency_fix(name.text)
    if amount is not None and name.text.casefold() in _PERCENT_WORDS:
        fix = f"a percentage is written with '%' after the number: write discount {amount}%"
    ctx.report("R209", f"unknown currency '{name.text}'", name.span, fix)
    return False


def _currency_fix(text: str) -> str:
    """The currency code meant by ``text``: in capitals, as a code rather than a word
    (``euros``), without look-alike letters; or how codes are written."""
    fix = currency_hint(text)
    if fix is None:
        # a three-letter code misspelt or with a look-alike letter; a longer word
        # close to a code by accident ('dollars', 'ARS') is no suggestion
        fix = did_you_mean(text, list(MINOR_UNITS)) if len(text) <= 4 else None
    return fix or "use an ISO 4217 code such as EUR"


def known_zone(ctx: Context, d: DateValue) -> bool:
    """Whether ``d``'s time zone, if it has one, exists (R208); warns about one
    that is an abbreviation or a legacy name (R314)."""
    if d.zone is None:
        return True
    name = d.zone.text
    if resolve_zone(name) is None:
        ctx.report(
            "R208",
            f"unknown time zone '{name}'",
            d.zone.span,
            zone_hint(name)
            or did_you_mean(name, _zone_names())
            or "use a name such as Europe/Paris",
        )
        return False
    legacy = zone_warning(name, d.text)
    if legacy is not None:
        ctx.report("R314", legacy[0], d.zone.span, legacy[1])
    return True


def date_text(ctx: Context, d: DateValue) -> None:
    """R207 for a date written wrong (``27/11/2026``) whose zone is unknown: both
    mistakes are reported, each saying its fix."""
    got = parse_date(DateValue(d.text))
    if isinstance(got, str):
        ctx.report("R207", got, d.span)


def _zone_names() -> list[str]:
    """The zones worth suggesting: those of places, and UTC."""
    return [*sorted(z for z in known_zones() if "/" in z and not z.startswith("Etc/")), "UTC"]


def value_of(ctx: Context, f: Field, owner: str, v: Value) -> Any:
    """Check that ``v`` fits field ``f``; return its meaning or None."""
    label = f"{owner} {f.name.replace('_', ' ')}"
    t = f.type
    if t in (Type.MONEY, Type.DECIMAL, Type.INTEGER):
        if not isinstance(v, Number):
            ctx.report("R206", f"{label} is a number, not {_kind(v)}", v.span, _unquoted(v))
            return None
        if t is Type.INTEGER and v.value != v.value.to_integral_value():
            ctx.report("R206", f"{label} is a whole number, not {v.value}", v.span)
            return None
        return v.value
    if t is Type.CURRENCY:
        if isinstance(v, Ident | String):
            code = v.name if isinstance(v, Ident) else v.value
            if known_currency(ctx, Name(code, span=v.span)):
                return code
            return None
        ctx.report("R206", f"{label} is a currency code such as EUR, not {_kind(v)}", v.span)
        return None
    if t is Type.STRING:
        if isinstance(v, String):
            text = v.value
        elif isinstance(v, Ident):
            text = v.name
        else:
            ctx.report("R206", f"{label} is a text, not {_kind(v)}", v.span)
            return None
        if f.values and text not in f.values:
            ctx.report(
                "R219",
                f"{label} is never '{text}'",
                v.span,
                did_you_mean(text, f.values) or f"{label} is one of " + ", ".join(f.values),
            )
            return None
        return text
    if t is Type.BOOLEAN:
        if isinstance(v, Ident) and v.name in _BOOLEANS:
            return v.name in ("true", "yes")
        ctx.report("R206", f"{label} is true or false, not {_kind(v)}", v.span, _boolean_fix(v))
        return None
    if t is Type.DATETIME:
        if not isinstance(v, DateValue):
            ctx.report("R206", f"{label} is a date, not {_kind(v)}", v.span, _date_fix(v))
            return None
        if not known_zone(ctx, v):
            date_text(ctx, v)
            return None
        got = parse_date(v)
        if isinstance(got, str):
            ctx.report("R207", got, v.span)
            return None
        return got
    return None  # pragma: no cover


_BOOLEANS = ("true", "false", "yes", "no")


def _boolean_fix(v: Value) -> str | None:
    """``True``, ``TRUE``, ``ture``, ``1``, ``"true"`` → write 'true'."""
    if isinstance(v, Ident | String):
        text = v.name if isinstance(v, Ident) else v.value
        if text.lower() in _BOOLEANS:
            how = "without quotes" if isinstance(v, String) else "in lower case"
            return f"write '{text.lower()}' ({how})"
        return did_you_mean(text, _BOOLEANS)
    if isinstance(v, Number) and v.value in (0, 1):
        return f"write '{'true' if v.value == 1 else 'false'}'"
    return None


def _unquoted(v: Value) -> str | None:
    """A number written in quotes (``"100.00"``): write it without them."""
    if isinstance(v, String):
        text = v.value.strip()
        try:
            Decimal(text)
        except ArithmeticError:
            return None
        if text[:1] in tuple("+-0123456789"):
            return f"write the number without quotes: {text}"
    return None


def _date_fix(v: Value) -> str | None:
    """A date written in quotes, or a year alone: the date as the language writes it."""
    if isinstance(v, String):
        text = " ".join(v.value.split())
        got = parse_date(DateValue(text))
        if isinstance(got, Instant):
            return f"write the date without quotes: {text}"
        fixed = invalid_date(text).rpartition("; write ")[2]
        if fixed and fixed[0].isdigit() and "YYYY" not in fixed:
            return f"write the date without quotes, year first: {fixed}"
        return None
    if isinstance(v, Number) and v.value == v.value.to_integral_value() and 1 <= v.value <= 9999:
        return f"write a whole date, such as {int(v.value):04d}-01-01"
    return None


def _kind(v: Value) -> str:
    if isinstance(v, Number):
        return f"the number {v.value}"
    if isinstance(v, String):
        return "a quoted text"
    if isinstance(v, DateValue):
        return f"the date {v.text}"
    if isinstance(v, Ident):
        return f"the name '{v.name}'"
    return "this value"  # pragma: no cover


def _identity(ctx: Context, entity_name: str) -> tuple[Entity, Field] | None:
    entity = ctx.vocabulary.entity(entity_name)
    if entity is None or entity.identity is None:
        return None
    f = entity.field(entity.identity)
    return (entity, f) if f is not None else None


_TYPE_WORDS = {
    Type.MONEY: "an amount",
    Type.DECIMAL: "a number",
    Type.INTEGER: "a whole number",
    Type.STRING: "a text",
    Type.CURRENCY: "a currency code",
    Type.DATETIME: "a date",
    Type.BOOLEAN: "true or false",
}
_EXAMPLES = {
    Type.MONEY: ">= 100.00",
    Type.DECIMAL: "> 1.5",
    Type.INTEGER: ">= 3",
    Type.STRING: 'is "text"',
    Type.CURRENCY: "is EUR",
    Type.DATETIME: ">= 2026-01-01",
    Type.BOOLEAN: "is true",
}


def _alone(c: Compare) -> bool:
    """Whether ``c`` is a field written alone (``viewer is_agent``), not ``… = true``."""
    return c.value.span is not None and c.value.span == c.field.span


def stage_types(ctx: Context) -> None:
    """Values fit their fields; operators fit their types; dates and codes are valid."""
    for rule in ctx.rules:
        for a in rule.actions:
            if isinstance(a, SetField):
                resolved = resolve_field(ctx.vocabulary, a.field)
                if resolved is not None and resolved[1].settable:
                    value_of(ctx, resolved[1], resolved[0].name, a.value)
        for c in walk(rule.condition):
            if isinstance(c, Is):
                found = _identity(ctx, c.entity.text)
                if found is not None:
                    value_of(ctx, found[1], found[0].name, c.value)
                continue
            if not isinstance(c, Compare | Between | In):
                continue
            resolved = resolve_field(ctx.vocabulary, c.field)
            if resolved is None:
                continue
            entity, f = resolved
            ordered = f.type in _ORDERED
            if isinstance(c, Compare) and _alone(c):
                if f.type is not Type.BOOLEAN:
                    what = f"{entity.name} {spelled(f.name)}"
                    ctx.report(
                        "R206",
                        f"{what} is {_TYPE_WORDS[f.type]}, not true or false:"
                        " a field alone is a test only when it is true or false",
                        c.field.span,
                        f"compare it, e.g. '{what} {_EXAMPLES[f.type]}'",
                    )
                continue
            if isinstance(c, Compare):
                if c.op.text in ("<", "<=", ">", ">=") and not ordered:
                    ctx.report(
                        "R206",
                        f"'{c.op.text}' does not apply to {entity.name} "
                        f"{f.name.replace('_', ' ')} ({f.type.value})",
                        c.op.span,
                        "use 'is', 'is not' or 'in (…)'",
                    )
                    continue
                value_of(ctx, f, entity.name, c.value)
            elif isinstance(c, Between):
                if not ordered:
                    ctx.report(
                        "R206",
                        f"'between' does not apply to {entity.name} "
                        f"{f.name.replace('_', ' ')} ({f.type.value})",
                        c.span,
                        "use 'in (…)'",
                    )
                    continue
                low = value_of(ctx, f, entity.name, c.low)
                high = value_of(ctx, f, entity.name, c.high)
                if low is not None and high is not None:
                    lo = low.start if isinstance(low, Instant) else low
                    hi = high.start if isinstance(high, Instant) else high
                    reversed_ = lo > hi
                    if isinstance(high, Instant) and high.date_only:
                        reversed_ = lo >= high.end  # the upper date covers its whole day
                    if reversed_:
                        ctx.report(
                            "R306",
                            "the lower bound of 'between' is above its upper bound",
                            c.span,
                            "swap the two values",
                        )
            else:
                for v in c.values:
                    value_of(ctx, f, entity.name, v)
