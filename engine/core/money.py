"""Money: Decimal end to end, quantized to the currency's minor unit.

The only place that rounds. Amounts that come in (an order's subtotal) are
checked by :func:`payable`: a whole number of the currency's minor unit, not
negative, else :class:`MoneyError`; amounts the engine computes are rounded
half-up by :func:`quantize` and :func:`percent_of`; a line's total is its
quantity times its unit price, rounded half-up (:func:`line_total`); an
order's discount is split over its lines exactly by :func:`allocate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation
from typing import Any

from rulec.dsl.currencies import MINOR_UNITS
from rulec.engine.core.errors import MoneyError

__all__ = [
    "LIMIT",
    "ROUNDING",
    "MoneyError",
    "allocate",
    "line_total",
    "minor_unit",
    "payable",
    "percent_of",
    "places_text",
    "quantize",
    "zero",
]

#: The rounding mode for every amount the engine computes.
ROUNDING = ROUND_HALF_UP
#: Multiplying by it divides by 100 exactly, and faster than dividing.
_HUNDREDTH = Decimal("0.01")
#: Currency code → its minor unit as a quantize exponent, computed once.
_EXPONENTS = {code: Decimal(1).scaleb(-places) for code, places in MINOR_UNITS.items()}
#: Currency code → its number of decimal places.
_PLACES = dict(MINOR_UNITS)
#: Currency code → zero in that currency (``0.00`` EUR, ``0`` JPY).
_ZEROS = {code: Decimal(0).quantize(exp) for code, exp in _EXPONENTS.items()}
#: Quantizing in this context raises instead of rounding a digit away.
_EXACT = Context(prec=40, rounding=ROUNDING, traps=[InvalidOperation, Inexact])


#: Every amount is below this: what a money column stores (``rulec.storage``'s
#: Money, 10 digits before the point; ``tests/engine/test_doors.py`` holds the two equal).
LIMIT = Decimal(10) ** 10


def _unknown(currency: str) -> ValueError:
    return ValueError(f"unknown currency {currency!r}")


def places_text(currency: str) -> str:
    """``"EUR amounts have 2 decimal places"``: what a message about ``currency`` says."""
    places = MINOR_UNITS[currency]
    return f"{currency} amounts have {places} decimal place{'' if places == 1 else 's'}"


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 0.01 EUR, 1 JPY, 0.001 KWD."""
    try:
        return _EXPONENTS[currency]
    except KeyError:
        raise _unknown(currency) from None


def zero(currency: str) -> Decimal:
    """Zero quantized to ``currency``: what ``quantize(Decimal(0), currency)`` gives."""
    try:
        return _ZEROS[currency]
    except KeyError:
        raise _unknown(currency) from None


def quantize(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to the minor unit of ``currency``."""
    try:
        return amount.quantize(_EXPONENTS[currency], ROUNDING)
    except KeyError:
        raise _unknown(currency) from None


def percent_of(amount: Decimal, percent: Decimal, currency: str) -> Decimal:
    """``percent`` % of ``amount``, rounded half-up: 25% of 19.99 EUR is 5.00."""
    try:
        return (amount * percent * _HUNDREDTH).quantize(_EXPONENTS[currency], ROUNDING)
    except KeyError:
        raise _unknown(currency) from None


def line_total(quantity: int, unit_price: Decimal, currency: str) -> Decimal:
    """What an order line costs: ``quantity × unit_price``, rounded half-up to the
    currency's minor unit (3 × 1.479 EUR is 4.44: a line's total is paid, a unit
    price may be finer). Exact in a currency rulec does not know."""
    exp = _EXPONENTS.get(currency)
    cost = unit_price * quantity
    return cost if exp is None else cost.quantize(exp, ROUNDING)


def payable(amount: Any, currency: str, what: str = "amount") -> Decimal:
    """``amount``, an amount that comes in (an order's subtotal), checked.

    It must be a Decimal (an int or a decimal string will do; a float never),
    not negative, and a whole number of the currency's minor unit: 10.005 EUR
    and 100.5 JPY are refused, never rounded, with a :class:`MoneyError`
    naming ``what``, the value, the currency and its places. It comes back
    with the currency's places (12.5 EUR is 12.50, 10.000 EUR is 10.00, 0
    JPY is 0). None is zero. An amount of :data:`LIMIT` or more (what a money
    column cannot store) is refused too. In a currency rulec does not know,
    only its type, its sign and its size are checked.
    """
    exp = _EXPONENTS.get(currency)
    if (
        type(amount) is Decimal
        and exp is not None
        and amount.same_quantum(exp)
        and not amount.is_signed()
        and amount < LIMIT
    ):
        return amount  # written with the currency's places, not negative: the usual case
    return _payable(amount, currency, exp, what)


def _payable(amount: Any, currency: str, exp: Decimal | None, what: str) -> Decimal:
    """:func:`payable` for an amount that is not already written with its currency's
    places: another type, other places, a sign, an unknown currency, not a number."""
    if type(amount) is not Decimal:
        amount = _decimal(amount, what)
    if amount.is_finite() and amount >= LIMIT:
        raise _refused(
            what,
            amount,
            f"{what} {amount} {currency} is too large: amounts are below 10**10 "
            "(what a money column stores)",
        )
    if exp is None:
        if not amount.is_finite():
            raise _refused(what, amount, f"{what} {amount} {currency} is not an amount")
        if amount < 0:
            raise _refused(what, amount, f"{what} {amount} {currency} is negative")
        return amount
    try:
        exact = amount.quantize(exp)  # the caller's context: rounds only what is finer
    except ArithmeticError:  # not a number, or a context that traps: say it exactly
        exact = _exactly(amount, exp, currency, what)
    if exact != amount:  # a digit below the minor unit
        _exactly(amount, exp, currency, what)
    if not exact.is_signed():
        return exact
    if exact:
        raise _refused(what, amount, f"{what} {amount} {currency} is negative")
    return _ZEROS[currency]  # never -0.00


def _refused(what: str, amount: Any, message: str) -> MoneyError:
    """A MoneyError; ``what`` is its key when it is one (``order.subtotal``)."""
    return MoneyError(message, key=what if "." in what else None, value=amount)


def _exactly(amount: Decimal, exp: Decimal, currency: str, what: str) -> Decimal:
    """``amount`` quantized to ``exp`` if that loses nothing, else MoneyError."""
    if not amount.is_finite():
        raise _refused(what, amount, f"{what} {amount} {currency} is not an amount")
    try:
        return amount.quantize(exp, context=_EXACT)
    except ArithmeticError:  # Inexact: a digit below the minor unit; or not a number
        raise _refused(
            what,
            amount,
            f"{what} {amount} {currency} is finer than the currency's minor unit: "
            f"{places_text(currency)}",
        ) from None


def _decimal(amount: Any, what: str) -> Decimal:
    if amount is None:
        return Decimal(0)
    if isinstance(amount, float):
        raise _refused(
            what, amount, f"{what} {amount} is a float: money is a Decimal (or an int, or a str)"
        )
    if isinstance(amount, bool):
        raise _refused(
            what, amount, f"{what} {amount} is a bool: money is a Decimal (or an int, or a str)"
        )
    try:
        return Decimal(amount)
    except (TypeError, ValueError, ArithmeticError):
        raise _refused(what, amount, f"{what} {amount!r} is not an amount") from None


def allocate(amount: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """``amount`` split in proportion to ``weights``, in the currency's minor unit.

    The parts add up to ``amount`` exactly (largest remainder): each part is
    first rounded down to the minor unit, then the units left over go one
    each to the parts with the largest remainders (ties to the earlier part).
    Remainders are compared exactly, as integers over one denominator, so a
    larger part never wins a tie by a rounding of its own. No cent is lost
    or invented. Weights are the lines' totals; with no positive weight,
    every part is zero (and so must ``amount`` be). With weights in the minor
    unit and ``amount`` at most their sum, no part exceeds its weight.
    """
    unit = minor_unit(currency)
    amount = quantize(amount, currency)
    if not weights:
        return []
    # every weight as an integer number of 10**-scale (a weight not above zero: 0);
    # usually they are amounts in the currency's minor unit
    if all(w.same_quantum(unit) for w in weights):
        scale = _PLACES[currency]
    else:
        scale = max(0, *(-_exponent(w) for w in weights))
    ints = [int(w.scaleb(scale)) if w > 0 else 0 for w in weights]
    total = sum(ints)
    if total <= 0:
        if amount:
            raise ValueError(f"cannot split {amount} {currency} over lines worth nothing")
        return [zero(currency)] * len(weights)
    units = int(amount / unit)  # amount in minor units, exactly
    # part n is units * ints[n] / total minor units: a quotient and a remainder over total
    split = [divmod(units * w, total) for w in ints]
    counts = [q for q, _ in split]
    left = units - sum(counts)
    if left:
        order = sorted(range(len(split)), key=lambda n: (-split[n][1], n))
        for n in order[:left]:
            counts[n] += 1
    return [unit * c for c in counts]  # exactly: c units, with the currency's places


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0
