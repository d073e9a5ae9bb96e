"""ISO 4217 currency codes in use, with their minor units (decimal places).

Codes for precious metals, testing and funds without minor units (XAU, XTS,
XXX, …) are left out: an order is never priced in them.
"""

from __future__ import annotations

__all__ = ["CURRENCY_WORDS", "MINOR_UNITS", "currency_hint"]

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

#: Currency code → number of decimal places of its minor unit.
MINOR_UNITS: dict[str, int] = {w[:3]: int(w[3:]) for w in _TABLE.split()}

#: Currencies as prose names them (singular, lower case) → their ISO 4217
#: codes, the usual one first: ``euros`` is EUR, ``dollars`` USD or another
#: dollar.
CURRENCY_WORDS: dict[str, tuple[str, ...]] = {
    "euro": ("EUR",),
    "eu": ("EUR",),
    "dollar": ("USD", "CAD", "AUD", "NZD", "SGD", "HKD"),
    "usdollar": ("USD",),
    "buck": ("USD",),
    "pound": ("GBP",),
    "sterling": ("GBP",),
    "poundsterling": ("GBP",),
    "quid": ("GBP",),
    "ukp": ("GBP",),
    "stg": ("GBP",),
    "yen": ("JPY",),
    "yuan": ("CNY",),
    "renminbi": ("CNY",),
    "rmb": ("CNY",),
    "franc": ("CHF", "XOF", "XAF"),
    "swissfranc": ("CHF",),
    "sfr": ("CHF",),
    "krona": ("SEK", "ISK"),
    "kronor": ("SEK",),
    "krone": ("NOK", "DKK"),
    "kroner": ("NOK", "DKK"),
    "koruna": ("CZK",),
    "zloty": ("PLN",),
    "forint": ("HUF",),
    "leu": ("RON", "MDL"),
    "lei": ("RON",),
    "lev": ("BGN",),
    "real": ("BRL",),
    "reais": ("BRL",),
    "rand": ("ZAR",),
    "rupee": ("INR", "PKR", "LKR", "NPR"),
    "peso": ("MXN", "ARS", "CLP", "COP", "PHP"),
    "lira": ("TRY",),
    "ruble": ("RUB",),
    "rouble": ("RUB",),
    "won": ("KRW",),
    "shekel": ("ILS",),
    "nis": ("ILS",),
    "baht": ("THB",),
    "dirham": ("AED", "MAD"),
    "riyal": ("SAR", "QAR"),
    "ringgit": ("MYR",),
    "rupiah": ("IDR",),
    "dong": ("VND",),
    "hryvnia": ("UAH",),
    "naira": ("NGN",),
}


def currency_hint(word: str) -> str | None:
    """How to write the currency ``word`` as a code, when it is one in other
    capitals or a currency's name: ``eur``, ``EURO``, ``euros``, ``dollars``."""
    upper = word.upper()
    if upper in MINOR_UNITS:
        return f"currency codes are written in capitals: '{upper}'"
    key = "".join(ch for ch in word.casefold() if ch.isalpha())
    if key.upper() in MINOR_UNITS:  # "EUR." or "E_U_R"
        return f"write the ISO 4217 code '{key.upper()}'"
    if key.endswith("s") and key not in CURRENCY_WORDS:
        key = key[:-1]  # "euros", "dollars", "USDs"
        if key.upper() in MINOR_UNITS:
            return f"write the ISO 4217 code '{key.upper()}'"
    codes = CURRENCY_WORDS.get(key)
    if codes is None and key.startswith("eur"):  # "EUROS", "euro's"
        key, codes = "euro", CURRENCY_WORDS["euro"]
    if codes is None:
        return None
    if len(codes) == 1:
        return f"write the ISO 4217 code '{codes[0]}'"
    others = ", ".join(f"'{c}'" for c in codes[1:])
    return f"write an ISO 4217 code, such as '{codes[0]}' (or {others})"
