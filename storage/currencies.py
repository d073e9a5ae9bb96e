"""Currencies for the models: ISO 4217 minor units, and the money rules a stored row obeys.

``rulec.storage`` imports nothing of rulec but itself (an import-linter
contract: the models stand alone, under SQLAlchemy only), so it cannot read
``rulec.dsl.currencies``. This module keeps its own copy of the table;
``tests/storage/test_money.py`` holds the two equal.

The rules, the same as the engine's (``rulec.engine.core.money``):

* an amount is a Decimal (never a float) and never negative;
* an amount that is paid (an order's subtotal, discount and total, a line's
  total and share) is a whole number of its currency's minor unit, stored
  with the currency's places (12.50 EUR, 1799 JPY); a finer one is refused;
* a unit price (a line's, an item's, a price list's) may be finer (1.479
  EUR a litre); it is stored with at least the currency's places;
* a line's total is quantity × unit price, rounded half-up to the minor unit;
* in a currency rulec does not know, only type and sign are checked.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

__all__ = ["LIMIT", "MINOR_UNITS", "AmountError", "amount", "line_total", "places"]

_TABLE = """
AED2 AFN2 ALL2 AMD2 ANG2 AOA2 ARS2 AUD2 AWG2 AZN2 BAM2 BBD2 BDT2 BGN2 BHD3 BIF0
BMD2 BND2 BOB2 BOV2 BRL2 BSD2 BTN2 BWP2 BYN2 BZD2 CAD2 CDF2 CHE2 CHF2 CHW2 CLF4
CLP0 CNY2 COP2 COU2 CRC2 CUC2 CUP2 CVE2 CZK2 DJF0 DKK2 DOP2 DZD2 EGP2 ERN2 ETB2
EUR2 FJD2 FKP2 GBP2 GEL2 GHS2 GIP2 GMD2 GNF0 GTQ2 GYD2 HKD2 HNL2 HTG2 HUF2 IDR2
ILS2 INR2 IQD3 IRR2 ISK0 JMD2 JOD3 JPY0 KES2 KGS2 KHR2 KMF0 KPW2 KRW0 KWD3 KYD2
KZT2 LAK2 LBP2 LKR2 LRD2 LSL2 LYD3 MAD2 MDL2 MGA2 MKD2 MMK2 MNT2 MOP2 MRU2 MUR2
MVR2 MWK2 MXN2 MXV2 MYR2 MZN2 NAD2 NGN2 NIO2 NOK2 NPR2 NZD2 OMR3 PAB2 PEN2 PGK2
PHP2 PKR2 PLN2 PYG0 QAR2 RON2 RSD2 RUB2 RWF0 SAR2 SBD2 SCR2 SDG2 SEK2 SGD2 SHP2
SLE2 SLL2 SOS2 SRD2 SSP2 STN2 SVC2 SYP2 SZL2 THB2 TJS2 TMT2 TND3 TOP2 TRY2 TTD2
TWD2 TZS2 UAH2 UGX0 USD2 USN2 UYI0 UYU2 UYW4 UZS2 VED2 VES2 VND0 VUV0 WST2 XAF0
XCD2 XCG2 XOF0 XPF0 YER2 ZAR2 ZMW2 ZWG2 ZWL2
"""

#: Currency code → number of decimal places of its minor unit (rulec.dsl.currencies' table).
MINOR_UNITS: dict[str, int] = {w[:3]: int(w[3:]) for w in _TABLE.split()}

#: Every amount is below this: what a Money column stores (NUMERIC(14, 4): 10 digits
#: before the point); the engine refuses the same (rulec.engine.core.money.LIMIT).
LIMIT = Decimal(10) ** 10

_UNITS = {code: Decimal(1).scaleb(-n) for code, n in MINOR_UNITS.items()}


class AmountError(ValueError):
    """An amount a model refuses: negative, finer than its currency's minor unit,
    or on an order line in another currency than its order."""


def places(currency: str | None) -> int | None:
    """The decimal places of ``currency``'s minor unit; None when rulec does not know it."""
    return None if currency is None else MINOR_UNITS.get(currency)


def amount(value: Any, currency: str | None, what: str, *, finer: bool = False) -> Decimal | None:
    """``value`` as a stored amount of ``currency``, or refused.

    A float raises TypeError; a negative amount, or one finer than the
    currency's minor unit (unless ``finer``: a unit price), AmountError naming
    ``what``, the value, the currency and its places. The amount comes back
    with the currency's places (12.5 EUR is 12.50, 100.00 JPY is 100) or, for
    a finer unit price, its own (1.4790 EUR is 1.479). None stays None; with
    no known currency (None, or one rulec does not know) only the type and
    the sign are checked. An amount of :data:`LIMIT` or more is refused
    (AmountError): a money column cannot store it.
    """
    if value is None:
        return None
    if isinstance(value, float):
        raise TypeError("money must be a Decimal, not a float")
    if not isinstance(value, Decimal):
        value = Decimal(value)
    if not value.is_finite():
        raise AmountError(f"{what} {value} is not an amount")
    if value >= LIMIT:
        raise AmountError(
            f"{what} {value} {currency or ''}".rstrip()
            + " is too large: amounts are below 10**10 (what a money column stores)"
        )
    if value < 0:
        raise AmountError(f"{what} {value} {currency or ''}".rstrip() + " is negative")
    if not value:
        value = abs(value)  # never -0
    unit = _UNITS.get(currency) if currency is not None else None
    if unit is None:
        return value
    try:
        exact = value.quantize(unit)
    except InvalidOperation:  # too many digits to be an amount at all
        exact = None
    if exact == value:
        return exact
    if finer:
        return value.normalize()  # 1.4790 -> 1.479: still more places than the currency's
    n = MINOR_UNITS[currency]  # type: ignore[index]
    raise AmountError(
        f"{what} {value} {currency} is finer than the currency's minor unit: "
        f"{currency} amounts have {n} decimal place{'' if n == 1 else 's'}"
    )


def line_total(quantity: int, unit_price: Decimal, currency: str | None) -> Decimal:
    """``quantity × unit_price`` rounded half-up to ``currency``'s minor unit (exact when
    the currency is not known): what ``rulec.engine.core.money.line_total`` computes."""
    cost = unit_price * quantity
    unit = _UNITS.get(currency) if currency is not None else None
    return cost if unit is None else cost.quantize(unit, ROUND_HALF_UP)
