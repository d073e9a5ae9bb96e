"""A corpus of syntax-level mistakes (issue 21), each with the line, the code
and the fix its message must carry: the companion of the names and
meanings corpus (``test_mistakes_names.py``), whose helpers it uses.

The families: characters pasted from documents (R115: curly quotes, Unicode
spaces, invisible characters, dashes, ``≥ ≤ ≠``, full-width signs), currency
symbols (R116), operators of other languages (R117), keywords in other
capitals, with a look-alike letter or misspelt (R118), wording the language
does not use (R119), numbers as written elsewhere (R120), names written as
two words (R121); and the older codes whose messages now say the fix from
the user's own words (R105's ``rule "Spring"``, R106's curly closing quote,
R204 and R209 for habits that parse). Where the parser stops a word or two
after the mistake, the diagnostic is on the mistake, not where it stopped.
"""

from __future__ import annotations

import pytest

import rulec
from rulec.dsl import parser
from rulec.dsl.report import Format, render

from .test_mistakes_names import PRELUDE, _found, cond, window

#: (id, rules after PRELUDE, line, code, texts the message or suggestion must carry)
CORPUS: list[tuple[str, str, int, str, tuple[str, ...]]] = [
    # ---- R115: characters pasted from a document
    (
        "curly-double-quotes",
        "on order_created then discount 10% \u201cVIP\u201d",
        3,
        "R115",
        ("U+201C", 'discount 10% "VIP"'),
    ),
    (
        "curly-single-quotes",
        "on order_created then discount 10% \u2018VIP\u2019",
        3,
        "R115",
        ("U+2018", 'discount 10% "VIP"'),
    ),
    (
        "low-double-quote",
        "on order_created then discount 10% \u201eRabatt\u201c",
        3,
        "R115",
        ("U+201E", '"Rabatt"'),
    ),
    (
        "guillemets",
        "on order_created then discount 10% \u00abRemise\u00bb",
        3,
        "R115",
        ("U+00AB", '"Remise"'),
    ),
    (
        "curly-quote-rule-name",
        "\u201cSpring\u201d",
        3,
        "R115",
        ('"Spring"',),
    ),
    (
        "no-break-space",
        cond("order\u00a0subtotal > 5"),
        3,
        "R115",
        ("U+00A0", "between 'order' and 'subtotal'", "plain space"),
    ),
    (
        "narrow-no-break-space",
        cond("order subtotal >\u202f5"),
        3,
        "R115",
        ("U+202F", "plain space"),
    ),
    ("thin-space", cond("customer has\u2009label Loyal"), 3, "R115", ("U+2009",)),
    ("line-separator", cond("order subtotal >\u20285"), 3, "R115", ("U+2028",)),
    ("zero-width-space", cond("order\u200b subtotal > 5"), 3, "R115", ("U+200B", "delete it")),
    (
        "byte-order-mark-mid-file",
        'on order_created then discount 5% "x"\n\ufeffon order_created then discount 6% "y"',
        4,
        "R115",
        ("U+FEFF", "byte-order mark", "delete it"),
    ),
    (
        "en-dash-in-date",
        window("from 2026\u201303\u201301 until 2026-03-31"),
        4,
        "R115",
        ("U+2013", "2026-03-01"),
    ),
    ("minus-sign", cond("order subtotal > \u22125"), 3, "R115", ("U+2212", "order subtotal > -5")),
    (
        "em-dash-note",
        'on order_created then discount 5% "x" \u2014 spring promo',
        3,
        "R115",
        ("U+2014", "# spring promo"),
    ),
    (
        "greater-equal-sign",
        cond("order subtotal \u2265 100"),
        3,
        "R115",
        ("order subtotal >= 100",),
    ),
    ("less-equal-sign", cond("order item count \u2264 3"), 3, "R115", ("order item count <= 3",)),
    ("not-equal-sign", cond("order subtotal \u2260 0"), 3, "R115", ("order subtotal != 0",)),
    ("fullwidth-greater", cond("order subtotal \uff1e 5"), 3, "R115", ("U+FF1E", "'>'")),
    # ---- R116: currency symbols
    (
        "euro-before",
        'on order_created then discount \u20ac10 "Ten off"',
        3,
        "R116",
        ('discount 10.00 EUR "Ten off"',),
    ),
    (
        "euro-after",
        'on order_created then discount 10 \u20ac "Ten off"',
        3,
        "R116",
        ('discount 10.00 EUR "Ten off"',),
    ),
    (
        "pound",
        'on order_created then discount \u00a35.5 "Fiver"',
        3,
        "R116",
        ('discount 5.50 GBP "Fiver"',),
    ),
    ("dollar", 'on order_created then discount $10 "x"', 3, "R116", ("10.00 USD", "CAD")),
    ("yen", 'on order_created then discount \u00a5500 "x"', 3, "R116", ("500 JPY",)),
    (
        "euro-in-comparison",
        cond("order subtotal >= \u20ac100"),
        3,
        "R116",
        ("order subtotal >= 100", "order currency is EUR"),
    ),
    # ---- R117: operators of other languages
    (
        "double-ampersand",
        cond("customer has label Loyal && order subtotal > 5"),
        3,
        "R117",
        ("customer has label Loyal and order subtotal > 5",),
    ),
    (
        "double-bar",
        cond("customer has label Loyal || order subtotal > 5"),
        3,
        "R117",
        ("customer has label Loyal or order subtotal > 5",),
    ),
    (
        "single-ampersand",
        cond("customer has label Loyal & order has label Rush"),
        3,
        "R117",
        ("customer has label Loyal and order has label Rush",),
    ),
    ("bang", cond("!customer has label Loyal"), 3, "R117", ("not customer has label Loyal",)),
    ("spaced-comparison", cond("order subtotal > = 5"), 3, "R117", ("order subtotal >= 5",)),
    ("spaced-less-equal", cond("order subtotal < = 5"), 3, "R117", ("order subtotal <= 5",)),
    # ---- R118: keywords in other capitals, with a look-alike letter, misspelt
    ("capital-on", 'On order_created then discount 5% "x"', 3, "R118", ("on order_created",)),
    (
        "capital-when",
        'on order_created When order subtotal > 5 then discount 5% "x"',
        3,
        "R118",
        ("on order_created when order subtotal > 5",),
    ),
    (
        "upper-then",
        cond("order subtotal > 5", "").replace(" then ", " THEN ") + 'discount 5% "x"',
        3,
        "R118",
        ('then discount 5% "x"',),
    ),
    (
        "capital-and",
        cond("order subtotal > 5 And customer has label Loyal"),
        3,
        "R118",
        ("order subtotal > 5 and customer has label Loyal",),
    ),
    ("capital-label", cond("customer has Label Loyal"), 3, "R118", ("customer has label Loyal",)),
    (
        "capital-rule",
        'Rule "Spring" on order_created then discount 5% "x" end',
        3,
        "R118",
        ('rule "Spring"',),
    ),
    (
        "upper-end",
        'rule "Spring" on order_created then discount 5% "x" END',
        3,
        "R118",
        ('discount 5% "x" end',),
    ),
    (
        "cyrillic-in-when",
        'on order_created wh\u0435n order subtotal > 5 then discount 5% "x"',
        3,
        "R118",
        ("U+0435", "retype"),
    ),
    (
        "misspelt-when",
        'on order_created whne order subtotal > 5 then discount 5% "x"',
        3,
        "R118",
        ("on order_created when order subtotal > 5",),
    ),
    (
        "misspelt-then",
        cond("order subtotal > 5", "").replace(" then ", " thne ") + 'discount 5% "x"',
        3,
        "R118",
        ("then discount",),
    ),
    # ---- R119: wording the language does not use
    ("if-for-on", 'if order_created then discount 5% "x"', 3, "R119", ("on order_created",)),
    (
        "if-for-when",
        'on order_created if order subtotal > 5 then discount 5% "x"',
        3,
        "R119",
        ("on order_created when order subtotal > 5",),
    ),
    (
        "doesnt-have",
        cond("customer doesn't have label Loyal"),
        3,
        "R119",
        ("customer lacks label Loyal",),
    ),
    (
        "doesnt-have-curly",
        cond("customer doesn\u2019t have label Loyal"),
        3,
        "R119",
        ("customer lacks label Loyal",),
    ),
    (
        "does-not-have",
        cond("customer does not have label Loyal"),
        3,
        "R119",
        ("customer lacks label Loyal",),
    ),
    (
        "has-no-label",
        cond("customer has no label Loyal"),
        3,
        "R119",
        ("customer lacks label Loyal",),
    ),
    ("has-labels", cond("customer has labels Loyal"), 3, "R119", ("customer has label Loyal",)),
    (
        "has-any-labels",
        cond("customer has any labels of Loyal, Customer_VIP"),
        3,
        "R119",
        ("customer has any label of Loyal, Customer_VIP",),
    ),
    (
        "has-any-label-without-of",
        cond("customer has any label Loyal, Customer_VIP"),
        3,
        "R119",
        ("customer has any label of Loyal, Customer_VIP",),
    ),
    (
        "to-the-customer",
        "on order_created then add label Loyal to the customer",
        3,
        "R119",
        ("add label Loyal to customer",),
    ),
    (
        "remove-labels",
        "on order_created then remove labels Rush from order",
        3,
        "R119",
        ("remove label Rush from order",),
    ),
    ("per-cent", 'on order_created then discount 5 per cent "x"', 3, "R119", ('discount 5% "x"',)),
    (
        "greater-than",
        cond("order subtotal is greater than 100"),
        3,
        "R119",
        ("order subtotal > 100",),
    ),
    ("at-least", cond("order item count at least 3"), 3, "R119", ("order item count >= 3",)),
    ("equal-to", cond("order item count equals 3"), 3, "R119", ("order item count = 3",)),
    # ---- R120: numbers as written elsewhere
    (
        "decimal-comma-percent",
        'on order_created then discount 10,5% "x"',
        3,
        "R120",
        ('discount 10.5% "x"',),
    ),
    (
        "decimal-comma-amount",
        'on order_created then discount 10,50 EUR "x"',
        3,
        "R120",
        ('discount 10.50 EUR "x"',),
    ),
    (
        "thousands-european",
        cond("order subtotal > 1.000,00"),
        3,
        "R120",
        ("order subtotal > 1000.00",),
    ),
    (
        "thousands-english",
        cond("order subtotal > 1,000.00"),
        3,
        "R120",
        ("order subtotal > 1000.00",),
    ),
    ("thousands-space", cond("order subtotal > 1 000"), 3, "R120", ("order subtotal > 1000",)),
    (
        "thousands-narrow-space",
        cond("order subtotal > 1\u202f000"),
        3,
        "R120",
        ("order subtotal > 1000",),
    ),
    (
        "glued-currency",
        'on order_created then discount 100.00EUR "x"',
        3,
        "R120",
        ('discount 100.00 EUR "x"',),
    ),
    (
        "space-before-percent",
        'on order_created then discount 10 % "x"',
        3,
        "R120",
        ('discount 10% "x"',),
    ),
    # ---- R121: names written as two words
    ("event-two-words", 'on order created then discount 5% "x"', 3, "R121", ("on order_created",)),
    (
        "event-two-words-when",
        'on order created when order subtotal > 5 then discount 5% "x"',
        3,
        "R121",
        ("on order_created",),
    ),
    (
        "label-two-words",
        cond("customer has label Customer VIP"),
        3,
        "R121",
        ("customer has label Customer_VIP",),
    ),
    (
        "declared-label-two-words",
        "label Big Spender for customer",
        3,
        "R121",
        ("label Big_Spender for customer",),
    ),
    # ---- older codes, whose messages now say the fix from the user's words
    (
        "rule-name-unquoted",
        'rule Spring\n  on order_created then discount 5% "x"\nend',
        3,
        "R105",
        ('rule "Spring"', "rule's name"),
    ),
    (
        "title-unquoted",
        "on order_created then discount 10% VIP Discount",
        3,
        "R105",
        ('discount 10% "VIP Discount"',),
    ),
    (
        "description-unquoted",
        'rule "A" description Spring sale on order_created then discount 5% "x" end',
        3,
        "R105",
        ('description "Spring sale"',),
    ),
    (
        "single-quoted-title",
        "on order_created then discount 10% 'VIP'",
        3,
        "R105",
        ('discount 10% "VIP"',),
    ),
    (
        "curly-closing-quote",
        'on order_created then discount 10% "VIP\u201d',
        3,
        "R106",
        ("U+201D", '"VIP"'),
    ),
    ("percent-word", 'on order_created then discount 5 percent "x"', 3, "R209", ("discount 5%",)),
    ("not-has", cond("customer not has label Loyal"), 3, "R119", ("customer lacks label Loyal",)),
    ("capital-has", cond("customer Has label Loyal"), 3, "R118", ("customer has label Loyal",)),
    (
        "currency-after-compared-amount",
        cond("order subtotal >= 50.00 EUR"),
        3,
        "R100",
        ("order subtotal >= 50.00 and order currency is EUR",),
    ),
    (
        "currency-in-between",
        cond("order subtotal between 10 EUR and 20 EUR"),
        3,
        "R100",
        ("order subtotal between 10 and 20 and order currency is EUR",),
    ),
    ("unit-after-number", cond("order item count > 2 items"), 3, "R100", ("order item count > 2",)),
    ("semicolon", 'on order_created then discount 10% "x";', 3, "R101", ("delete it",)),
    (
        "colon-after-event",
        'on order_created: then discount 10% "x"',
        3,
        "R101",
        ("on order_created",),
    ),
    ("dotted-field", cond("order.subtotal > 100"), 3, "R117", ("order subtotal > 100",)),
    (
        "number-ends-with-point",
        cond("order subtotal >= 100."),
        3,
        "R120",
        ("order subtotal >= 100",),
    ),
    (
        "hyphenated-label",
        cond("customer has label Customer-VIP"),
        3,
        "R121",
        ("customer has label Customer_VIP",),
    ),
    (
        "comparison-without-field",
        cond("order subtotal > 100 and < 200"),
        3,
        "R100",
        ("order subtotal > 100 and order subtotal < 200",),
    ),
    (
        "word-before-title",
        'on order_created then discount 10% off "x"',
        3,
        "R100",
        ('discount 10% "x"', "'off'"),
    ),
    (
        "then-twice",
        cond("order subtotal > 100", 'then discount 10% "x"'),
        3,
        "R100",
        ("'then' is written twice", 'then discount 10% "x"'),
    ),
    (
        "cap-written-max",
        'on order_created then discount 10% max 20.00 EUR "x"',
        3,
        "R119",
        ('discount 10% up to 20.00 EUR "x"',),
    ),
    (
        "date-after",
        cond("order created after 2026-11-27"),
        3,
        "R119",
        ("order created > 2026-11-27",),
    ),
    (
        "between-to",
        cond("order subtotal between 10 to 20"),
        3,
        "R119",
        ("order subtotal between 10 and 20",),
    ),
    (
        "list-in-brackets",
        cond("order item count in [1, 2]"),
        3,
        "R117",
        ("order item count in (1, 2)",),
    ),
    ("isnt", cond("order currency isn't EUR"), 3, "R119", ("order currency is not EUR",)),
    (
        "number-glued-to-word",
        'on order_created when order subtotal >= 100then discount 5% "x"',
        3,
        "R101",
        ("order subtotal >= 100 then",),
    ),
    ("stray-comma-before-then", cond("customer has label Loyal,"), 3, "R100", ("delete it",)),
    (
        "two-events",
        'on order_created and order_updated then discount 5% "x"',
        3,
        "R100",
        ("one rule for each event",),
    ),
    (
        "else",
        'on order_created then discount 10% "A" else discount 5% "B"',
        3,
        "R119",
        ("another rule",),
    ),
    (
        "is-not-equal-to",
        cond("order currency is not equal to EUR"),
        3,
        "R119",
        ("order currency != EUR",),
    ),
    (
        "verb-after-amount",
        'on order_created then give 10% discount "x"',
        3,
        "R100",
        ('discount 10% "x"',),
    ),
    ("over", cond("order subtotal over 100"), 3, "R119", ("order subtotal > 100",)),
    (
        "label-list",
        cond("customer has label Loyal, Customer_VIP"),
        3,
        "R119",
        ("customer has any label of Loyal, Customer_VIP",),
    ),
    (
        "end-after-one-line-rule",
        'on order_created then discount 5% "x" end',
        3,
        "R100",
        ("'end'", 'rule "NAME"'),
    ),
]

#: Rows whose mistake is a character that looks like the right one (a space,
#: an invisible character, a look-alike letter): the message names it by its
#: code point, and the suggestion never shows the line fixed, which would
#: look like the line typed.
LOOKALIKE = {
    "no-break-space": "\u00a0",
    "narrow-no-break-space": "\u202f",
    "thin-space": "\u2009",
    "zero-width-space": "\u200b",
    "line-separator": "\u2028",
    "byte-order-mark-mid-file": "\ufeff",
    "cyrillic-in-when": "\u0435",
}

#: One file, one mistake a line: each is reported on its own line, with its fix.
MANY = "\n".join(
    [
        "on order_created then discount 10% \u201cVIP\u201d",
        cond("customer has label Loyal && order subtotal > 5"),
        'on order created then discount 5% "x"',
        cond("customer doesn't have label Loyal"),
        'on order_created then discount 10,5% "x"',
        'on order_created then discount \u20ac10 "x"',
        cond("order\u00a0subtotal \u2265 5"),
        'on order_created When order subtotal > 5 then discount 5% "x"',
        'rule Spring\n  on order_created then discount 5% "x"\nend',
        cond("customer has labels Loyal"),
        # an item start in capitals right after a broken rule is still one
        'On order_created then discount 5% "x"',
        'If order_created then discount 5% "x"',
    ]
)
MANY_EXPECTED = [
    (3, "R115", 'discount 10% "VIP"'),
    (4, "R117", "customer has label Loyal and order subtotal > 5"),
    (5, "R121", "on order_created"),
    (6, "R119", "customer lacks label Loyal"),
    (7, "R120", 'discount 10.5% "x"'),
    (8, "R116", 'discount 10.00 EUR "x"'),
    (9, "R115", "U+00A0"),
    (10, "R118", "on order_created when"),
    (11, "R105", 'rule "Spring"'),
    (14, "R119", "customer has label Loyal"),
    (15, "R118", "on order_created"),
    (16, "R119", "on order_created"),
]


class TestCorpus:
    def test_is_large_enough(self):
        assert len(CORPUS) >= 50
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
        ("text", "line", "code", "char"),
        [
            pytest.param(*row[1:4], LOOKALIKE[row[0]], id=row[0])
            for row in CORPUS
            if row[0] in LOOKALIKE
        ],
    )
    def test_a_look_alike_is_named_never_shown(self, text, line, code, char):
        d = _found(text, line, code)
        assert f"U+{ord(char):04X}" in d.full_message
        typed = (PRELUDE + text).split("\n")[line - 1]
        if char.isalpha():  # the keyword meant looks like the word typed: never shown
            assert "'when'" not in d.full_message, d.full_message
        else:
            assert char not in (d.suggestion or "")
        # the line with the character made plain would look like the line typed
        plain = typed.replace(char, " " if char.isspace() else "e" if char == "\u0435" else "")
        assert plain.strip() not in (d.suggestion or "")

    @pytest.mark.parametrize(
        ("text", "line", "code"),
        [pytest.param(*row[1:4], id=row[0]) for row in CORPUS],
    )
    def test_one_diagnostic_for_one_mistake(self, text, line, code):
        ds = rulec.check_text(PRELUDE + text, "t.rules")
        errors = [d for d in ds if d.severity == "error"]
        assert [(d.span.line, d.code) for d in errors] == [(line, code)]

    def test_every_mistake_of_a_file_on_its_own_line(self):
        ds = rulec.check_text(PRELUDE + MANY, "t.rules")
        got = [(d.span.line, d.code) for d in ds]
        assert got == [(line, code) for line, code, _ in MANY_EXPECTED]
        for d, (_, _, fix) in zip(ds, MANY_EXPECTED, strict=True):
            assert fix in d.full_message, d.full_message

    def test_the_fast_path_recovers_as_the_lark_path(self):
        text = PRELUDE + MANY
        fast = parser.parse_collect(text, "t.rules")
        slow = parser._parse_lark(text, "t.rules", None)
        assert fast == slow
        assert [d.to_dict() for d in fast[1]] == [d.to_dict() for d in slow[1]]

    def test_the_text_report_ends_each_caret_line(self):
        # the caret line of the last diagnostic used to run into the summary
        text = PRELUDE + "on order_created then discount 10% \u201cVIP\u201d"
        ds = rulec.check_text(text, "t.rules")
        out = render(Format.TEXT, ds, {"t.rules": text})
        assert out.endswith("^~~~~\n"), out
        assert all(line.startswith(("t.rules:", "    ")) for line in out.splitlines())


class TestNoFalseAlarms:
    @pytest.mark.parametrize(
        "text",
        [
            # commas between numbers in a list, a dash and quotes inside quoted text
            cond("order item count in (1,000, 2)"),
            'on order_created then discount 10% "VIP \u2013 \u201cgold\u201d, 1.000,00 \u20ac"',
            # words that look like habits inside comments and titles
            'on order_created then discount 5% "doesn\'t have labels"  # if && || \u2265',
            cond("order subtotal >= 1000.00"),
            # a label whose name reads like wording ('equal', 'at least'), in a broken rule
            "label Equal, Over for order\n" + cond("order has label Equal or order has label Over"),
            'rule "Spring" on order_created then discount 5% "x" end',
        ],
    )
    def test_clean(self, text):
        assert rulec.check_text(PRELUDE + text, "t.rules") == []

    def test_a_missing_then_is_not_a_name_in_two_words(self):
        d = _found('on order_created when customer has label Loyal discount 5% "x"', 3, "R103")
        assert "then" in d.full_message

    @pytest.mark.parametrize("label", ["Equal", "Over_Than", "Has_No"])
    def test_a_label_named_like_wording_is_not_blamed(self, label):
        # the rule is broken further on (no value after '>'): the label is not the cause
        text = f"label {label} for customer\n" + cond(
            f"customer has label {label} and order subtotal >"
        )
        ds = rulec.check_text(PRELUDE + text, "t.rules")
        assert [d.code for d in ds] == ["R100"], [d.full_message for d in ds]
        assert label not in ds[0].full_message
