"""Held-out mistakes in names and meanings (issue 21): written, and committed,
before the messages they test were worked on, and not looked at while
working on them. They measure how well the messages generalise: the target
is that at least 90 % get a message on the right line that says the fix.

Results. First round (HELD_OUT): 5 of 15 passed before the work, 15 of 15
after it. Second round (HELD_OUT_2, written after the work, run once): 12 of
13; the miss expected the code point of a Greek capital rho in 'Ρush', which
got "did you mean 'Rush'?" (right, as a rho looks like a P, not an R) without
naming the letter; hints now name a letter of another script in a plain name.
Both rounds are now plain regression tests.

Each row is a rule file (after two lines of label declarations), the line
and code of the diagnostic expected, and texts the diagnostic's message or
suggestion must carry: the fix, in the user's own terms.
"""

from __future__ import annotations

import pytest

import rulec

PRELUDE = "label Customer_VIP, Loyal for customer\nlabel Rush for order\n"

MULTI = (
    'on order_created when customer has label Loyl then discount 5% "A"\n'
    'on order_created then discount 5.00 EURO "B"\n'
)

#: (id, rules after the prelude, line, code, texts the message must carry)
HELD_OUT: list[tuple[str, str, int, str, tuple[str, ...]]] = [
    (
        "and-or-three",
        "on order_created when customer has label Loyal and order item count >= 3"
        ' or customer has label Customer_VIP then discount 5% "Loyal or VIP"',
        3,
        "R312",
        (
            "(customer has label Loyal and order item count >= 3)"
            " or customer has label Customer_VIP",
            "customer has label Loyal and"
            " (order item count >= 3 or customer has label Customer_VIP)",
        ),
    ),
    (
        "currency-pounds",
        'on order_created then discount 10.00 pounds "Ten off"',
        3,
        "R209",
        ("GBP",),
    ),
    (
        "zone-city-london",
        'rule "Xmas"\n  from 2026-12-01 until 2026-12-24 London\n'
        '  on order_created then discount 5% "Xmas"\nend',
        4,
        "R208",
        ("Europe/London",),
    ),
    (
        "zone-abbreviation-pst",
        'rule "Launch"\n  from 2026-11-27 10:00 until 2026-11-27 12:00 PST\n'
        '  on order_created then discount 5% "Launch"\nend',
        4,
        "R208",
        ("America/Los_Angeles",),
    ),
    (
        "greek-omicron-event",
        'on \u03bfrder_created then discount 5% "Omicron"',
        3,
        "R201",
        ("U+03BF",),
    ),
    (
        "currency-lower-cap",
        'on order_created then discount 10% up to 20.00 usd "Capped"',
        3,
        "R209",
        ("USD",),
    ),
    ("precision-rounded", 'on order_created then discount 2.999 USD "Odd"', 3, "R206", ("3.00",)),
    (
        "date-year-day-month",
        'on order_created when order created_at < 2026-31-12 then discount 5% "Before new year"',
        3,
        "R207",
        ("2026-12-31",),
    ),
    (
        "money-without-currency",
        'on order_created when order currency is USD then discount 5.00 USD "Dollar orders"\n'
        'on order_created when order subtotal > 200.00 then discount 5% "Big orders"',
        4,
        "R313",
        ("order currency is",),
    ),
    (
        "zero-for-o-field",
        'on order_created when order subt0tal >= 50.00 then discount 5% "Zero"',
        3,
        "R204",
        ("U+0030",),
    ),
    (
        "value-case",
        "on price_listed when viewer role is Guest then hide price",
        3,
        "R219",
        ("guest",),
    ),
    (
        "boolean-upper",
        "on price_listed when viewer is_agent is TRUE then show price",
        3,
        "R206",
        ("'true'",),
    ),
    ("multi-first", MULTI, 3, "R210", ("Loyal",)),
    ("multi-second", MULTI, 4, "R209", ("EUR",)),
    (
        "cyrillic-i-label",
        'on order_created when customer has label Customer_V\u0406P then discount 5% "I"',
        3,
        "R210",
        ("U+0406",),
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "code", "fixes"),
    [pytest.param(*row[1:], id=row[0]) for row in HELD_OUT],
)
def test_held_out(text: str, line: int, code: str, fixes: tuple[str, ...]) -> None:
    _check(text, line, code, fixes)


#: A second round, written after the work (so by someone who knew it) but
#: committed before being run once: a weaker test of generalising than the
#: first round, reported beside it.
HELD_OUT_2: list[tuple[str, str, int, str, tuple[str, ...]]] = [
    (
        "and-or-not-last",
        "on order_updated when customer has label Loyal or customer has label Customer_VIP"
        ' and not order has label Rush then discount 3% "x"',
        3,
        "R312",
        (
            "(customer has label Loyal or customer has label Customer_VIP)"
            " and not order has label Rush",
        ),
    ),
    (
        "currency-capitalised-word-cap",
        'on order_created then discount 15% up to 30.00 Euros "Cap"',
        3,
        "R209",
        ("'EUR'",),
    ),
    ("currency-lower-chf", 'on order_created then discount 5.00 chf "x"', 3, "R209", ("'CHF'",)),
    (
        "zone-city-in-condition",
        'on order_created when order created >= 2026-11-27 Tokyo then discount 5% "x"',
        3,
        "R208",
        ("'Asia/Tokyo'",),
    ),
    (
        "zone-aest",
        'rule "Oz"\n  until 2026-12-24 AEST\n  on order_created then discount 5% "Oz"\nend',
        4,
        "R208",
        ("'Australia/Sydney'",),
    ),
    (
        "date-either-way-one-digit",
        'on order_created when order created < 1/12/2026 then discount 5% "x"',
        3,
        "R207",
        ("2026-12-01", "2026-01-12"),
    ),
    (
        "date-dotted-until",
        'rule "Year end"\n  until 31.12.2026\n  on order_created then discount 5% "x"\nend',
        4,
        "R207",
        ("2026-12-31",),
    ),
    (
        "greek-rho-label",
        'on order_created when order has label \u03a1ush then discount 5% "x"',
        3,
        "R210",
        ("U+03A1",),
    ),
    (
        "fullwidth-status",
        'on order_created when order status is \uff50\uff41\uff49\uff44 then discount 5% "x"',
        3,
        "R219",
        ("U+FF50",),
    ),
    (
        "entity-plural-capital",
        'on order_created when Orders has label Rush then discount 5% "x"',
        3,
        "R203",
        ("'order'",),
    ),
    (
        "price-amount-without-currency",
        "label Promo for price\n"
        "on price_listed when price currency is EUR and price has label Promo then hide price\n"
        "on price_listed when price amount < 10.00 then hide price",
        5,
        "R313",
        ("price currency is EUR and price amount < 10.00",),
    ),
    ("declaration-entity-capital", "label Fragile for Item", 3, "R203", ("'item'",)),
    (
        "nbsp-in-quoted-currency",
        'on order_created when order currency is "EUR\u00a0" then discount 5% "x"',
        3,
        "R209",
        ("'EUR'",),
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "code", "fixes"),
    [pytest.param(*row[1:], id=row[0]) for row in HELD_OUT_2],
)
def test_held_out_second_round(text: str, line: int, code: str, fixes: tuple[str, ...]) -> None:
    _check(text, line, code, fixes)


def _check(text: str, line: int, code: str, fixes: tuple[str, ...]) -> None:
    ds = rulec.check_text(PRELUDE + text, "t.rules")
    found = [d for d in ds if d.code == code and d.span.line == line]
    assert found, [(d.code, d.span.line, d.full_message) for d in ds]
    message = found[0].full_message
    for fix in fixes:
        assert fix in message, message
