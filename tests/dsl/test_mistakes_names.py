"""A corpus of mistakes in names and meanings (issue 21), each with the line,
the code and the fix its message must carry.

The families: names close to a real one (in other capitals, with look-alike
letters of other scripts, a zero for an O, invisible characters); zones,
currencies, dates and amounts as written elsewhere; and the traps that
used to check clean, now warnings ('and' and 'or' mixed without
parentheses, R312; an amount compared without its currency, R313; a time
zone written as an abbreviation, R314). Every mistake is reported on its
own line, however many a file has.
"""

from __future__ import annotations

import pytest

import rulec
from rulec.dsl.spelling import skeleton

PRELUDE = "label Customer_VIP, Loyal for customer\nlabel Rush for order\n"


VIP = "customer has label Customer_VIP"
LOYAL = "customer has label Loyal"
BUSY = "order item count > 2"
RUSH = "order has label Rush"


def window(dates: str) -> str:
    """A block rule on lines 3 to 6 whose line 4 is the validity window ``dates``."""
    return f'rule "Spring"\n  {dates}\n  on order_created then discount 5% "Spring"\nend'


def cond(condition: str, then: str = 'discount 5% "x"') -> str:
    return f"on order_created when {condition} then {then}"


#: (id, rules after PRELUDE, line, code, texts the message must carry)
CORPUS: list[tuple[str, str, int, str, tuple[str, ...]]] = [
    # ---- names close to a real one: case, look-alikes, invisible characters
    ("event-case", 'on Order_Created then discount 5% "x"', 3, "R201", ("'order_created'",)),
    ("event-camel", 'on OrderCreated then discount 5% "x"', 3, "R201", ("'order_created'",)),
    ("event-cyrillic-o", 'on \u043erder_created then discount 5% "x"', 3, "R201", ("U+043E",)),
    ("entity-cyrillic-es", cond("\u0441ustomer has label Loyal"), 3, "R203", ("U+0441",)),
    ("entity-capital", cond("Customer has label Loyal"), 3, "R203", ("'customer'",)),
    ("entity-plural", cond("customers has label Loyal"), 3, "R203", ("'customer'",)),
    ("field-greek-omicron", cond("order subt\u03bftal >= 5"), 3, "R204", ("U+03BF",)),
    ("field-capital", cond("order Subtotal >= 5"), 3, "R204", ("'subtotal'",)),
    ("field-zero-for-o", cond("customer order c0unt = 0"), 3, "R204", ("U+0030", "'order count'")),
    ("label-palochka", cond("customer has label Loya\u04cf"), 3, "R210", ("U+04CF",)),
    ("label-case", cond("customer has label loyal"), 3, "R210", ("'Loyal'",)),
    (
        "label-zero",
        cond("customer has label Cust0mer_VIP"),
        3,
        "R210",
        ("'Customer_VIP'", "U+0030"),
    ),
    ("label-in-action", "on order_created then add label rush to order", 3, "R210", ("'Rush'",)),
    (
        "label-declared-cyrillic",
        "label G\u043eld for customer\n" + cond("customer has label Gold"),
        4,
        "R210",
        ("U+043E", "declared"),
    ),
    ("verb-case", 'on order_created then Discount 5% "x"', 3, "R202", ("'discount'",)),
    ("verb-cyrillic", 'on order_created then disc\u043eunt 5% "x"', 3, "R202", ("U+043E",)),
    ("status-case", cond("order status is Paid"), 3, "R219", ("'paid'",)),
    ("status-invisible", cond('order status is "paid\u200b"'), 3, "R219", ("U+200B", "delete")),
    ("status-space", cond('order status is "paid "'), 3, "R219", ("a space at the end",)),
    (
        "role-typo",
        "on price_listed when viewer role is gest then hide price",
        3,
        "R219",
        ("'guest'",),
    ),
    ("boolean-capital", cond("order placed by customer is True"), 3, "R206", ("'true'",)),
    ("boolean-quoted", cond('order placed by customer is "yes"'), 3, "R206", ("'yes'", "quotes")),
    ("boolean-one", cond("order placed by customer is 1"), 3, "R206", ("'true'",)),
    # ---- currencies as written elsewhere
    ("currency-lower", 'on order_created then discount 5.00 eur "x"', 3, "R209", ("'EUR'",)),
    ("currency-word", 'on order_created then discount 5.00 euros "x"', 3, "R209", ("'EUR'",)),
    ("currency-dollars", 'on order_created then discount 5.00 dollars "x"', 3, "R209", ("'USD'",)),
    ("currency-cyrillic", cond("order currency is \u0415UR"), 3, "R209", ("U+0415",)),
    (
        "currency-yen-cap",
        'on order_created then discount 10% up to 500 yen "x"',
        3,
        "R209",
        ("'JPY'",),
    ),
    ("currency-quoted-lower", cond('order currency is "usd"'), 3, "R209", ("'USD'",)),
    # ---- time zones as written elsewhere
    ("zone-city", window("from 2026-11-27 until 2026-11-30 Paris"), 4, "R208", ("'Europe/Paris'",)),
    ("zone-city-lower", window("until 2026-11-30 new_york"), 4, "R208", ("'America/New_York'",)),
    ("zone-summer-abbreviation", window("until 2026-07-30 CEST"), 4, "R208", ("'Europe/Paris'",)),
    ("zone-lower", window("until 2026-11-30 europe/paris"), 4, "R208", ("'Europe/Paris'",)),
    ("zone-country", window("until 2026-11-30 Germany"), 4, "R208", ("'Europe/Berlin'",)),
    ("zone-est", window("from 2026-11-27 10:00 EST"), 4, "R314", ("'America/New_York'",)),
    ("zone-cet", window("until 2026-11-30 CET"), 4, "R314", ("'Europe/Paris'",)),
    (
        "zone-etc-reversed",
        cond("order created >= 2026-11-27 10:00 Etc/GMT+1"),
        3,
        "R314",
        ("UTC-01:00", "2026-11-27 10:00-01:00"),
    ),
    # ---- dates as written elsewhere
    (
        "date-day-first-slash",
        window("from 27/11/2026 until 2026-11-30"),
        4,
        "R207",
        ("2026-11-27",),
    ),
    ("date-day-first-dash", cond("order created >= 27-11-2026"), 3, "R207", ("2026-11-27",)),
    ("date-dotted", cond("order created < 27.11.2026"), 3, "R207", ("2026-11-27",)),
    (
        "date-month-first",
        cond("order created < 11/27/2026"),
        3,
        "R207",
        ("2026-11-27", "month first"),
    ),
    (
        "date-either-way",
        cond("order created < 05/06/2026"),
        3,
        "R207",
        ("2026-06-05 if 05 is the day", "2026-05-06 if it is the month"),
    ),
    ("date-slashes-year-first", window("until 2026/11/30"), 4, "R207", ("2026-11-30",)),
    ("date-one-digit", cond("order created >= 2026-2-5"), 3, "R207", ("2026-02-05",)),
    ("date-no-such-day", cond("order created >= 2026-11-31"), 3, "R207", ("30 days", "2026-11-30")),
    (
        "date-hour-one-digit",
        cond("order created >= 2026-11-27 9:00"),
        3,
        "R207",
        ("2026-11-27 09:00",),
    ),
    ("date-midnight-24", window("until 2026-11-27 24:00"), 4, "R207", ("2026-11-28 00:00",)),
    (
        "date-quoted",
        cond('order created >= "2026-11-27"'),
        3,
        "R206",
        ("without quotes: 2026-11-27",),
    ),
    ("date-quoted-day-first", cond('order created >= "27/11/2026"'), 3, "R206", ("2026-11-27",)),
    # ---- amounts
    (
        "precision-eur",
        'on order_created then discount 5.001 EUR "x"',
        3,
        "R206",
        ("write 5.00 EUR",),
    ),
    (
        "precision-jpy",
        'on order_created then discount 100.5 JPY "x"',
        3,
        "R206",
        ("write 101 JPY",),
    ),
    (
        "precision-cap",
        'on order_created then discount 10% up to 20.005 EUR "x"',
        3,
        "R206",
        ("write 20.01 EUR",),
    ),
    ("number-quoted", cond('order subtotal >= "100"'), 3, "R206", ("without quotes: 100",)),
    # ---- traps that used to check clean: warnings
    (
        "and-or",
        cond(f"{VIP} or {LOYAL} and {BUSY}"),
        3,
        "R312",
        (f"{VIP} or ({LOYAL} and {BUSY})", f"({VIP} or {LOYAL}) and {BUSY}"),
    ),
    (
        "and-or-multi-line",
        f"on order_created\n  when {VIP}\n    or {LOYAL}\n"
        f'    and {BUSY}  # busy\n  then discount 5% "x"',
        4,
        "R312",
        (f"({LOYAL} and {BUSY})", f"({VIP} or {LOYAL}) and {BUSY}"),
    ),
    (
        "and-or-not",
        cond(f"not {LOYAL} or {VIP} and {BUSY}"),
        3,
        "R312",
        (f"(not {LOYAL} or {VIP}) and {BUSY}",),
    ),
    (
        "and-or-inside-parentheses",
        cond(f"{BUSY} and ({LOYAL} or {RUSH} and order item count > 9)"),
        3,
        "R312",
        (f"({LOYAL} or {RUSH}) and order item count > 9",),
    ),
    (
        "money-two-currencies",
        'on order_created then discount 5.00 EUR "A"\non order_created then discount 5.00 USD "B"\n'
        + cond("order subtotal >= 100.00"),
        5,
        "R313",
        ("its rules name EUR and USD", "order currency is EUR and order subtotal >= 100.00"),
    ),
    (
        "money-currency-tested-elsewhere",
        cond("order currency is GBP", 'discount 5.00 GBP "Pounds"')
        + "\n"
        + cond("order subtotal between 10 and 20"),
        4,
        "R313",
        ("order currency is GBP and order subtotal between 10 and 20",),
    ),
    (
        "money-item-price",
        cond("order currency in (EUR)") + "\n" + cond("any item unit price > 500"),
        4,
        "R313",
        ("order currency is EUR and any item unit price > 500",),
    ),
    (
        "money-or-does-not-pin",
        cond("order currency is USD or order subtotal > 10.00"),
        3,
        "R313",
        ("order currency is USD and order subtotal > 10.00",),
    ),
]

#: Rows whose mistake is a character that looks like the right one: the
#: message must name it and must not show the right name (it looks the same).
LOOKALIKE = {
    "event-cyrillic-o",
    "entity-cyrillic-es",
    "field-greek-omicron",
    "label-palochka",
    "label-declared-cyrillic",
    "verb-cyrillic",
    "status-invisible",
    "status-space",
    "currency-cyrillic",
}

#: One file, one mistake a line: each is reported on its own line.
MANY = "\n".join(
    [
        cond("custmer has label Loyal"),
        'on order_created then discount 5.00 euros "x"',
        window("from 27/11/2026 until 2026-11-30 Paris"),
        cond("order status is Shipped"),
        'on Order_Updated then discount 5% "x"',
        cond(f"{VIP} or {LOYAL} and {BUSY}"),
    ]
)
MANY_EXPECTED = [
    (3, "R203", "'customer'"),
    (4, "R209", "'EUR'"),
    (6, "R207", "2026-11-27"),
    (6, "R208", "'Europe/Paris'"),
    (9, "R219", "'shipped'"),
    (10, "R201", "'order_updated'"),
    (11, "R312", f"{VIP} or ({LOYAL} and {BUSY})"),
]


def _found(text: str, line: int, code: str) -> rulec.Diagnostic:
    ds = rulec.check_text(PRELUDE + text, "t.rules")
    found = [d for d in ds if d.code == code and d.span.line == line]
    assert found, [(d.code, d.span.line, d.full_message) for d in ds]
    return found[0]


class TestCorpus:
    def test_is_large_enough(self):
        assert len(CORPUS) >= 30
        assert len({row[0] for row in CORPUS}) == len(CORPUS)

    @pytest.mark.parametrize(
        ("text", "line", "code", "fixes"),
        [pytest.param(*row[1:], id=row[0]) for row in CORPUS],
    )
    def test_message_on_the_line_says_the_fix(self, text, line, code, fixes):
        message = _found(text, line, code).full_message
        for fix in fixes:
            assert fix in message, message

    @pytest.mark.parametrize(
        ("text", "line", "code"),
        [pytest.param(*row[1:4], id=row[0]) for row in CORPUS if row[0] in LOOKALIKE],
    )
    def test_a_look_alike_is_named_never_shown(self, text, line, code):
        d = _found(text, line, code)
        assert "did you mean" not in d.full_message
        # no quoted text in the suggestion looks like the name typed
        typed = d.message.split("'")[1]
        quoted = (d.suggestion or "").split("'")[1::2]
        assert all(skeleton(q) != skeleton(typed) or q == typed for q in quoted), d.suggestion

    def test_every_mistake_of_a_file_on_its_own_line(self):
        ds = rulec.check_text(PRELUDE + MANY, "t.rules")
        got = [(d.span.line, d.code) for d in ds]
        assert got == [(line, code) for line, code, _ in MANY_EXPECTED]
        for d, (_, _, fix) in zip(ds, MANY_EXPECTED, strict=True):
            assert fix in d.full_message, d.full_message


class TestNoFalseAlarms:
    @pytest.mark.parametrize(
        "text",
        [
            cond(f"({VIP} or {LOYAL}) and {BUSY}"),
            cond(f"{VIP} or ({LOYAL} and {BUSY})"),
            cond(f"{VIP} and ({LOYAL} or {RUSH})"),
            cond(f"not ({LOYAL} and {BUSY}) or {RUSH}"),
            cond(f"(({VIP} and {BUSY})) or {RUSH}"),
            # one currency, no currency test: an amount means that currency
            cond("order subtotal >= 100.00", 'discount 5.00 EUR "x"'),
            # the currency is pinned where the amount is compared
            cond("order currency is USD and order subtotal >= 100.00", 'discount 5.00 USD "x"')
            + "\n"
            + cond("order currency in (EUR) and (order subtotal > 5 or order item count > 2)"),
            window("from 2026-11-27 until 2026-11-30 Europe/Paris"),
            window("from 2026-11-27T10:00-05:00 until 2026-11-30 America/New_York"),
            window("until 2026-11-30 UTC"),
            cond("order created >= 2026-11-27 09:00 Europe/Paris"),
        ],
    )
    def test_clean(self, text):
        assert rulec.check_text(PRELUDE + text, "t.rules") == []

    def test_the_shipped_rules_check_clean(self):
        assert rulec.check_paths([rulec.shipped_rules()]) == []
