"""The checker: names, types and semantics, each problem a diagnostic at its position."""

from __future__ import annotations

import ast
import inspect
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

import rulec
from rulec import Entity, Event, Field, Source, Type, Vocabulary
from rulec.dsl import check as checker_module
from rulec.dsl.check import deep, limits
from rulec.dsl.diagnostics import CODES
from rulec.dsl.fmt import format_text
from rulec.dsl.sources import analyze, read_sources

LABELS = "label VIP, Trial, Loyal for customer\n"

#: A vocabulary that has nothing to do with orders: a help desk.
TICKET = Entity(
    "ticket",
    (
        Field("level", Type.INTEGER),
        Field("channel", Type.STRING),
        Field("urgent", Type.BOOLEAN),
        Field("weight", Type.DECIMAL, aliases=("mass",)),
        Field("opened_at", Type.DATETIME, aliases=("opened",)),
        Field("currency", Type.CURRENCY),
    ),
    labelled=True,
)
AGENT = Entity("agent", (Field("seniority", Type.INTEGER),), labelled=True)
SITE = Entity("site", (Field("country", Type.STRING),))
HELPDESK = Vocabulary(
    entities=(TICKET, AGENT, SITE),
    events=(
        Event("ticket_opened", ("ticket", "site")),
        Event("ticket_assigned", ("ticket", "agent")),
    ),
)


def diags(text: str, vocabulary: Vocabulary | None = None) -> list[rulec.Diagnostic]:
    return rulec.check_text(text, "t.rules", vocabulary)


def tuples(text: str, vocabulary: Vocabulary | None = None) -> list[tuple[str, int, int]]:
    return [d.check_tuple() for d in diags(text, vocabulary)]


def one(text: str, vocabulary: Vocabulary | None = None) -> rulec.Diagnostic:
    ds = diags(text, vocabulary)
    assert len(ds) == 1, [d.check_tuple() for d in ds]
    return ds[0]


def when(cond: str, then: str = 'discount 10% "x"') -> str:
    """A file declaring the usual labels and one rule on line 2."""
    return f"{LABELS}on order_created when {cond} then {then}"


def block(meta: str, prefix: str = "label X for customer\n") -> str:
    """A file whose line 2 is a block rule with the metadata ``meta``."""
    return f'{prefix}rule "r" {meta} on order_created then discount 1% "x" end'


def desk(rule: str) -> str:
    """A help-desk file declaring the label Hot, with ``rule`` on line 2."""
    return f"label Hot for ticket\n{rule}"


def col(text: str, fragment: str, line: int = 2) -> int:
    """The 1-based column of ``fragment`` on ``line`` of ``text``."""
    s = text.splitlines()[line - 1]
    assert fragment in s, (fragment, s)
    return s.index(fragment) + 1


#: One example of every R2xx and R3xx code: (code, vocabulary, text, where, words).
#: ``where`` is the fragment of line 2 the diagnostic points at; ``words`` must
#: appear in the message or the suggestion.
EVERY_CODE = [
    (
        "R201",
        None,
        LABELS + 'on order_craeted then discount 10% "x"',
        "order_craeted",
        "did you mean 'order_created'?",
    ),
    (
        "R202",
        None,
        LABELS + 'on order_created then discont 10% "x"',
        "discont",
        "did you mean 'discount'?",
    ),
    ("R203", None, when("custmer has label VIP"), "custmer", "did you mean 'customer'?"),
    ("R204", None, when("order subtotl > 5"), "subtotl", "did you mean 'subtotal'?"),
    ("R205", None, when("order subtotal => 5"), "=>", "write order subtotal >= 5"),
    ("R206", None, when("order currency >= 5"), ">=", "does not apply to order currency"),
    ("R207", None, when("order created > 2026-02-30"), "2026-02-30", "not a valid date"),
    (
        "R208",
        None,
        when("order created > 2026-02-03 Europe/Pariss"),
        "Europe/Pariss",
        "did you mean 'Europe/Paris'?",
    ),
    ("R209", None, when("order currency is EUX"), "EUX", "did you mean 'EUR'?"),
    ("R210", None, when("customer has label VIPP"), "VIPP", "did you mean 'VIP'?"),
    (
        "R211",
        None,
        '# no declarations\non order_created when customer has label VIP then discount 10% "x"',
        "VIP then",
        "declare them, e.g. 'label VIP for customer'",
    ),
    (
        "R212",
        HELPDESK,
        desk("on ticket_assigned when agent has label Hot then add label Hot to ticket"),
        "Hot then",
        "declared for ticket, not for agent",
    ),
    (
        "R213",
        None,
        LABELS + "label Gold for viewer",
        "viewer",
        "labels can be put on order, customer, item",
    ),
    (
        "R214",
        None,
        LABELS + "on order_created then add label VIP from customer",
        "add label",
        "write 'add label VIP to customer'",
    ),
    (
        "R215",
        HELPDESK,
        desk("on ticket_opened when agent seniority > 3 then add label Hot to ticket"),
        "agent",
        "this event provides ticket, site",
    ),
    (
        "R216",
        None,
        LABELS + 'on customer_labeled when label is VIP then discount 5% "x"',
        "discount",
        "its rules may add, remove, set",
    ),
    (
        "R217",
        None,
        LABELS + "on daily when customer has label VIP then remove label VIP from customer",
        "daily",
        "'on daily for customer' or 'on daily for order'",
    ),
    (
        "R218",
        None,
        'label Fragile for item\non order_created when item has label Fragile then discount 1% "x"',
        "item has",
        "any item has label NAME",
    ),
    ("R219", None, when("order status is confirmd"), "confirmd", "did you mean 'confirmed'?"),
    ("R220", None, when("customer is Bob"), "customer is", "compare one of its fields"),
    ("R230", None, when('customer has coupon "X1"'), "customer has", 'order has coupon "X1"'),
    ("R231", None, when('order has coupon "X 1"'), '"X 1"', 'write "X-1"'),
    (
        "R232",
        None,
        'coupon family Partner is "P-*"\n'
        "on order_created when order has coupon in Partner or order has coupon in Partnr "
        'then discount 10% "x"',
        "Partnr",
        "did you mean 'Partner'?",
    ),
    (
        "R233",
        None,
        'coupon family Partner is "P-*"\ncoupon family Partner is "FRIENDS"\n'
        'on order_created when order has coupon in Partner then discount 10% "x"',
        "Partner",
        "a family is declared once in a rule set (line 1)",
    ),
    (
        "R234",
        None,
        'on order_created when order has coupon in Partner then discount 10% "x"\n'
        'coupon family Partner is "P*-1"',
        '"P*-1"',
        'write "P-1*"',
    ),
    (
        "R235",
        None,
        'on order_created when order has coupon in Partner then discount 10% "x"\n'
        'coupon family Partner is "P-*", "p-7"',
        '"p-7"',
        "'P-*' covers it",
    ),
    (
        "R236",
        None,
        'on order_created when order has coupon "X1" then discount 10% "x"\n'
        'coupon family Partner is "P-*"',
        "Partner",
        "test it in a rule (when order has coupon in Partner), or remove it",
    ),
    ("R301", None, LABELS + 'on order_created then discount 100.5% "x"', "discount", "not 100.5%"),
    (
        "R302",
        None,
        LABELS + 'on order_created then discount 0.00 EUR "x"',
        "discount",
        "above zero",
    ),
    (
        "R303",
        None,
        LABELS + 'on order_created then discount 10% up to 0 EUR "x"',
        "up to",
        "cap must be above zero",
    ),
    (
        "R304",
        None,
        'rule "A" on order_created then discount 1% "x" end\n'
        'rule "A" on order_created then discount 2% "y" end',
        "rule",
        "already used at t.rules:1",
    ),
    (
        "R305",
        None,
        block("from 2026-11-30 until 2026-11-27"),
        "from",
        "ends before it starts",
    ),
    ("R306", None, when("order subtotal between 100 and 50"), "order subtotal", "swap"),
    (
        "R307",
        None,
        when("customer has label VIP and customer lacks label VIP"),
        "customer has",
        "can never fire",
    ),
    (
        "R308",
        None,
        "label VIP for customer\nlabel VIP for customer",
        "VIP",
        "already declared for customer at line 1",
    ),
    (
        "R309",
        None,
        block("exclusive combinable"),
        "combinable",
        "both exclusive and combinable",
    ),
    (
        "R310",
        None,
        LABELS + "on order_created then add label VIP to customer, remove label VIP from customer",
        "remove",
        "both adds and removes label 'VIP'",
    ),
    (
        "R311",
        None,
        when("customer lacks label VIP"),
        "customer lacks",
        "write 'not customer has label …'",
    ),
    (
        "R312",
        None,
        when("customer has label VIP or customer has label Trial and customer has label Loyal"),
        "customer has label VIP",
        "customer has label VIP or (customer has label Trial and customer has label Loyal)",
    ),
    (
        "R313",
        None,
        when("order currency is USD or order subtotal >= 100.00"),
        "order subtotal",
        "order currency is USD and order subtotal >= 100.00",
    ),
    ("R314", None, block("from 2026-11-27 until 2026-11-30 EST"), "EST", "America/New_York"),
    ("R332", None, block("limit 0 uses"), "0", "above zero"),
    ("R333", None, block("budget 0.00 EUR"), "0.00", "above zero"),
    ("R334", None, block("limit 1 use per agent"), "agent", "write 'per customer' or 'per code'"),
    (
        "R338",
        None,
        block("limit 1 use per code"),
        "limit 1 use per code",
        "test a code in the condition",
    ),
    (
        "R335",
        None,
        'label X for customer\nrule "r" limit 5 uses on order_created '
        "then add label X to customer end",
        "limit",
        "gives no discount",
    ),
    ("R336", None, block("uses given back when cancelled"), "uses given", "limit N uses"),
    (
        "R337",
        None,
        block("limit 10 uses limit 10 uses per customer"),
        "limit 10 uses per",
        "never binds",
    ),
    (
        "R343",
        None,
        'on order_created then discount 10% "VIP New Order"\n'
        'test "t" on order_created expect coupon "A1" aplied end',
        "aplied",
        "did you mean 'applied'?",
    ),
    (
        "R344",
        None,
        'rule "Spring" limit 100 uses on order_created then discount 10% "Spring" end\n'
        'test "t" on order_created given rule "Spring" budget_spent expect no discount end',
        "budget_spent",
        "it has no budget; give the rule a budget",
    ),
    (
        "R340",
        None,
        LABELS + 'test "t" on order_created given customer lacks label VIP expect no discount end',
        "customer lacks",
        "write facts such as 'customer has label Customer_VIP'",
    ),
    (
        "R341",
        None,
        'test "t" on order_created expect no discount end\n'
        'test "t" on order_created expect no discount end',
        "test",
        "already at t.rules:1:1",
    ),
    (
        "R342",
        None,
        'on order_created then discount 10% "VIP New Order"\n'
        'test "t" on order_created expect applied "VIP New Ordr" end',
        '"VIP New Ordr"',
        "did you mean 'VIP New Order'?",
    ),
    (
        "R350",
        None,
        "label Socks for item\n"
        'on order_created then discount 25.00 EUR from 200.00 EUR, 10.00 EUR from 100.00 EUR "t"',
        "10.00 EUR from 100.00 EUR",
        "list the tiers from the lowest threshold to the highest",
    ),
    (
        "R351",
        None,
        "label Socks for item\n"
        'on order_created then buy 2 get 0 free on items with label Socks "t"',
        "buy 2",
        "must be whole numbers above zero",
    ),
    (
        "R352",
        None,
        'label Socks for item\non order_created then discount 10% up to 5.00 EUR per line "t"',
        "up to",
        "write 'discount 10% on items up to 5.00 EUR per line'",
    ),
    (
        "R353",
        None,
        "label Socks for item\n"
        'on order_created then discount 10% from 100.00 EUR, 5% from 200.00 EUR "t"',
        "5% from",
        "gives less than the tier below it",
    ),
    # stacking groups
    (
        "R240",
        None,
        'group Loyalty\nrule "a" in group Loyalti on order_created then discount 1% "a" end\n'
        'rule "b" in group Loyalty on order_created then discount 2% "b" end',
        "Loyalti",
        "did you mean 'Loyalty'?",
    ),
    (
        "R360",
        None,
        "group G\ngroup G after H\ngroup H\n"
        'rule "a" in group G on order_created then discount 1% "a" end\n'
        'rule "b" in group H on order_created then discount 1% "b" end',
        "G",
        "group 'G' is already declared at t.rules:1",
    ),
    (
        "R361",
        None,
        'rule "a" in group A on order_created then discount 1% "a" end\ngroup A after B\n'
        'group B after A\nrule "b" in group B on order_created then discount 1% "b" end',
        "B",
        "goes round in a circle: A after B after A",
    ),
    (
        "R362",
        None,
        'on order_created then discount 1% "a"\ngroup Spare',
        "Spare",
        "no rule is in group 'Spare'",
    ),
]


class TestEveryCode:
    @pytest.mark.parametrize(
        ("code", "vocabulary", "text", "where", "words"),
        EVERY_CODE,
        ids=[c[0] for c in EVERY_CODE],
    )
    def test_code_at_its_position(self, code, vocabulary, text, where, words):
        d = one(text, vocabulary)
        assert d.check_tuple() == (code, 2, col(text, where))
        assert d.severity == CODES[code][0]
        assert words in d.full_message
        assert d.span.file == "t.rules"
        assert d.span.end_line > d.span.line or d.span.end_column > d.span.column

    def test_every_name_type_and_semantic_code_has_an_example(self):
        # deep lint's codes come from rulec check, not check(): tests/tools/test_deeplint.py
        wanted = {c for c in CODES if c[1] in "23"} - set(deep.CODES)
        assert {c[0] for c in EVERY_CODE} == wanted

    def test_warnings(self):
        warnings = {c for c, (severity, _) in CODES.items() if severity == "warning"}
        assert warnings == {
            "R211",
            "R235",
            "R236",
            "R307",
            "R308",
            "R310",
            "R311",
            "R312",
            "R313",
            "R314",
            "R336",
            "R337",
            "R353",
            "R362",
            *deep.CODES,
        }


class TestEvents:
    def test_unknown_event_lists_events_when_nothing_is_close(self):
        d = one(LABELS + 'on payment_received then discount 1% "x"')
        assert d.check_tuple() == ("R201", 2, 4)
        assert d.message == "unknown event 'payment_received'"
        assert d.suggestion is not None
        assert d.suggestion == (
            "events are order_created, order_updated, daily, monthly, price_listed,"
            " item_listed, service_listed, and ENTITY_labeled, ENTITY_unlabeled for"
            " customer, order, item, price, agent, professional, service"
        )

    def test_both_events_are_known(self):
        text = (
            LABELS + 'on order_created then discount 1% "x"\non order_updated then discount 1% "y"'
        )
        assert diags(text) == []


class TestEntitiesAndFields:
    def test_unknown_entity_in_a_comparison(self):
        text = when("ordr subtotal > 5")
        assert tuples(text) == [("R203", 2, col(text, "ordr"))]
        assert one(text).suggestion == "did you mean 'order'?"

    def test_unknown_entity_in_a_label_declaration(self):
        d = one("label X for custmer")
        assert d.check_tuple() == ("R203", 1, 13)
        assert d.suggestion == "did you mean 'customer'?"

    def test_unknown_entity_of_a_label_action(self):
        text = LABELS + "on order_created then add label VIP to custome"
        d = one(text)
        assert d.check_tuple() == ("R203", 2, col(text, "custome"))
        assert d.suggestion == "did you mean 'customer'?"

    def test_unknown_field_lists_the_fields_when_nothing_is_close(self):
        text = when("order weight > 5")
        d = one(text)
        assert d.check_tuple() == ("R204", 2, col(text, "weight"))
        assert d.message == "unknown field 'weight' of order"
        assert d.suggestion.startswith("order has subtotal, currency, created at")

    def test_unknown_field_of_several_words(self):
        text = when("customer order cnt = 0")
        d = one(text)
        assert d.check_tuple() == ("R204", 2, col(text, "order cnt"))
        assert d.message == "unknown field 'order cnt' of customer"
        assert d.suggestion == "did you mean 'order count'?"

    def test_labels_are_not_a_field(self):
        d = one(when("customer labels = VIP"))
        assert d.code == "R204"
        assert d.suggestion == "test labels with 'customer has label NAME'"

    def test_field_aliases(self):
        assert diags(when("order created >= 2026-01-01 and order created_at < 2027-01-01")) == []

    def test_field_of_an_unknown_entity_is_not_reported_twice(self):
        assert [c for c, _, _ in tuples(when("ordr subtotl > 5"))] == ["R203"]


class TestOperators:
    @pytest.mark.parametrize(
        ("op", "hint"),
        [("==", "="), ("=>", ">="), ("=<", "<="), ("<>", "!="), ("=!", "!="), ("!", "!=")],
    )
    def test_common_mistakes(self, op, hint):
        text = when(f"order subtotal {op} 5")
        d = one(text)
        assert d.check_tuple() == ("R205", 2, col(text, op))
        assert d.message == f"unknown operator '{op}'"
        assert d.suggestion == f"did you mean '{hint}'? write order subtotal {hint} 5"

    def test_unknown_operator_lists_the_operators(self):
        d = one(when("order subtotal !! 5"))
        assert d.code == "R205"
        assert d.suggestion == "operators are =, !=, <, <=, >, >="


class TestTypes:
    def test_ordering_on_a_currency(self):
        text = when("order currency < EUR")
        d = one(text)
        assert d.check_tuple() == ("R206", 2, col(text, "<"))
        assert d.suggestion == "use 'is', 'is not' or 'in (…)'"

    def test_between_on_a_currency(self):
        text = when("order currency between EUR and USD")
        assert tuples(text) == [("R206", 2, col(text, "order currency"))]

    def test_number_for_a_currency(self):
        text = when("order currency is 5")
        d = one(text)
        assert d.check_tuple() == ("R206", 2, col(text, "5 then"))
        assert d.message == "order currency is a currency code such as EUR, not the number 5"

    def test_name_for_money(self):
        text = when("order subtotal > EUR")
        d = one(text)
        assert d.check_tuple() == ("R206", 2, col(text, "EUR"))
        assert d.message == "order subtotal is a number, not the name 'EUR'"

    def test_text_for_money(self):
        assert one(when('order subtotal > "5"')).message == (
            "order subtotal is a number, not a quoted text"
        )

    def test_date_for_money(self):
        assert one(when("order subtotal > 2026-01-01")).message == (
            "order subtotal is a number, not the date 2026-01-01"
        )

    def test_number_for_a_date(self):
        text = when("order created > 5")
        assert tuples(text) == [("R206", 2, col(text, "5 then"))]
        assert "is a date" in one(text).message

    def test_fraction_for_an_integer(self):
        text = when("customer order count = 1.5")
        d = one(text)
        assert d.check_tuple() == ("R206", 2, col(text, "1.5"))
        assert d.message == "customer order count is a whole number, not 1.5"

    def test_whole_number_written_with_decimals_is_an_integer(self):
        assert diags(when("customer order count = 1.0")) == []

    def test_bad_member_of_in(self):
        text = when("order currency in (EUR, 5, XYZ)")
        assert tuples(text) == [("R206", 2, col(text, "5,")), ("R209", 2, col(text, "XYZ"))]

    def test_both_bounds_of_between_are_checked(self):
        text = when("order subtotal between EUR and USD")
        assert tuples(text) == [("R206", 2, col(text, "EUR")), ("R206", 2, col(text, "USD"))]

    def test_quoted_currency_is_accepted(self):
        assert diags(when('order currency is "EUR"')) == []

    @pytest.mark.parametrize(
        ("action", "where"),
        [
            ('discount 5.001 EUR "x"', "discount"),
            ('discount 10% up to 1.5 JPY "x"', "up to"),
            ('discount 1.0001 KWD "x"', "discount"),
        ],
    )
    def test_amount_finer_than_the_currency(self, action, where):
        text = LABELS + f"on order_created then {action}"
        d = one(text)
        assert d.check_tuple() == ("R206", 2, col(text, where))
        assert "decimal place" in d.message

    def test_amount_as_fine_as_the_currency(self):
        text = LABELS + 'on order_created then discount 1.005 KWD "x", discount 5 JPY "y"'
        assert diags(text) == []

    def test_priority_out_of_range(self):
        text = block("priority 99999999999")
        d = one(text)
        assert d.check_tuple() == ("R206", 2, col(text, "99999999999"))
        assert "1,000,000,000" in d.message

    def test_priority_at_the_limit(self):
        text = block("priority -1000000000")
        assert diags(text) == []


class TestDates:
    @pytest.mark.parametrize(
        "value", ["2026-02-30", "2026-13-01", "2026-1-5", "2026-11-27 25:00", "0000-01-01"]
    )
    def test_invalid_dates(self, value):
        text = when(f"order created > {value}")
        d = one(text)
        assert d.check_tuple() == ("R207", 2, col(text, value))
        assert "not a valid date" in d.message

    @pytest.mark.parametrize(
        "value", ["9999-12-31", "0001-01-01 Asia/Tokyo", "9999-12-31 23:00 America/New_York"]
    )
    def test_dates_at_the_edge_of_the_calendar(self, value):
        text = when(f"order created > {value}")
        d = one(text)
        assert d.check_tuple() == ("R207", 2, col(text, value))
        assert "limits of the calendar" in d.message

    @pytest.mark.parametrize("window", ["from 9999-12-31", "until 0001-01-01 Asia/Tokyo"])
    def test_window_at_the_edge_of_the_calendar(self, window):
        text = f'label X for customer\nrule "r" {window} on order_created then discount 1% "x" end'
        d = one(text)
        assert d.check_tuple() == ("R207", 2, col(text, window.split()[0]))

    def test_offset_and_zone_together(self):
        text = when("order created > 2026-11-27 10:00+01:00 Europe/Paris")
        d = one(text)
        assert d.check_tuple() == ("R207", 2, col(text, "2026"))
        assert "give only one" in d.message

    @pytest.mark.parametrize(
        "value",
        [
            "2026-11-27",
            "2026-11-27 10:00",
            "2026-11-27T10:00:30",
            "2026-11-27 10:00Z",
            "2026-11-27 10:00+05:30",
            "2026-11-27 Europe/Paris",
            "2026-11-27 10:00 America/Argentina/Buenos_Aires",
            "2026-11-27 UTC",
        ],
    )
    def test_valid_dates(self, value):
        assert diags(when(f"order created > {value}")) == []

    def test_unknown_time_zone_without_a_close_match(self):
        text = when("order created > 2026-02-03 Mars/Base")
        d = one(text)
        assert d.check_tuple() == ("R208", 2, col(text, "Mars/Base"))
        assert d.suggestion == "use a name such as Europe/Paris"

    def test_unknown_time_zone_in_a_window(self):
        text = block("until 2026-01-01 Mars/Olympus")
        assert tuples(text) == [("R208", 2, col(text, "Mars/Olympus"))]

    def test_a_word_after_a_date_is_a_zone(self):
        text = when("order created > 2026-02-03 EUR")
        assert tuples(text) == [("R208", 2, col(text, "EUR"))]


class TestCurrencies:
    def test_unknown_currency_of_a_fixed_amount(self):
        text = LABELS + 'on order_created then discount 5.00 EUX "x"'
        d = one(text)
        assert d.check_tuple() == ("R209", 2, col(text, "EUX"))
        assert d.suggestion == "did you mean 'EUR'?"

    def test_unknown_currency_of_a_cap(self):
        text = LABELS + 'on order_created then discount 10% up to 5.00 EUX "x"'
        assert tuples(text) == [("R209", 2, col(text, "EUX"))]

    def test_lower_case_currency_suggests_upper_case(self):
        d = one(when("order currency is eur"))
        assert d.code == "R209"
        assert d.suggestion == "currency codes are written in capitals: 'EUR'"

    def test_test_currency_is_not_a_currency(self):
        d = one(LABELS + 'on order_created then discount 5.00 XXX "x"')
        assert d.code == "R209"
        assert d.suggestion == "use an ISO 4217 code such as EUR"


class TestLabels:
    def test_undeclared_label_without_a_close_match(self):
        text = when("customer has label Gold")
        d = one(text)
        assert d.check_tuple() == ("R210", 2, col(text, "Gold"))
        assert d.suggestion == "declare it with 'label Gold for customer'"

    @pytest.mark.parametrize(
        "cond",
        [
            "customer has label Gold",
            "customer lacks label Gold",
            "customer has any label of VIP, Gold",
            "customer lacks any label of Gold",
        ],
    )
    def test_undeclared_label_in_every_label_condition(self, cond):
        text = when(cond)
        assert tuples(text) == [("R210", 2, col(text, "Gold"))]

    @pytest.mark.parametrize(
        "action", ["add label Gold to customer", "remove label Gold from customer"]
    )
    def test_undeclared_label_in_actions(self, action):
        text = LABELS + f"on order_created then {action}"
        assert tuples(text) == [("R210", 2, col(text, "Gold"))]

    def test_no_declarations_warn_once(self):
        text = (
            "on order_created when customer has label A then add label B to customer\n"
            'on order_updated when customer has label C then discount 1% "x"\n'
        )
        d = one(text)
        assert d.check_tuple() == ("R211", 1, 42)
        assert d.severity == "warning"
        assert "cannot be checked" in d.message

    def test_labels_declared_after_use_count(self):
        text = 'on order_created when customer has label VIP then discount 1% "x"\n'
        text += "label VIP for customer"
        assert diags(text) == []

    def test_labels_declared_in_another_file_count(self):
        analysis = analyze(
            [
                Source.from_text("label VIP for customer\n", "labels.rules"),
                Source.from_text(
                    'on order_created when customer has label VIP then discount 1% "x"',
                    "vip.rules",
                ),
                Source.from_text(
                    'on order_created when customer has label Vip then discount 1% "x"',
                    "typo.rules",
                ),
            ],
            rulec.DEFAULT_VOCABULARY,
        )
        assert [(d.span.file, *d.check_tuple()) for d in analysis.diagnostics] == [
            ("typo.rules", "R210", 1, 42)
        ]
        assert analysis.diagnostics[0].suggestion == "did you mean 'VIP'?"

    def test_label_of_another_entity(self):
        text = desk("on ticket_assigned when agent has label Hot then add label Hot to agent")
        assert tuples(text, HELPDESK) == [
            ("R212", 2, col(text, "Hot then")),
            ("R212", 2, len(text.splitlines()[1]) - len("Hot to agent") + 1),
        ]

    def test_label_declared_for_both_entities(self):
        text = "label Hot for ticket, agent\n"
        # 'for' takes one entity: the second name is a syntax error
        assert [c for c, _, _ in tuples(text, HELPDESK)] == ["R100"]
        text = desk(
            "label Hot for agent\n"
            "on ticket_assigned when agent has label Hot and ticket has label Hot"
            " then add label Hot to agent"
        )
        assert diags(text, HELPDESK) == []

    def test_declaring_labels_on_an_entity_without_labels(self):
        d = one("label Big for viewer")
        assert d.check_tuple() == ("R213", 1, 15)
        assert d.message == "'viewer' does not carry labels"

    def test_label_action_on_an_entity_without_labels(self):
        text = LABELS + "on customer_labeled then add label VIP to label"
        assert tuples(text) == [("R213", 2, col(text, "to label") + 3)]

    def test_duplicate_declarations_in_one_line(self):
        text = "label VIP, VIP for customer"
        d = one(text)
        assert d.check_tuple() == ("R308", 1, 12)
        assert d.severity == "warning"

    def test_labels_of_a_custom_vocabulary(self):
        text = desk("on ticket_opened when ticket has label Hott then add label Hot to ticket")
        d = one(text, HELPDESK)
        assert d.check_tuple() == ("R210", 2, col(text, "Hott"))
        assert d.suggestion == "did you mean 'Hot'?"


class TestActions:
    @pytest.mark.parametrize(
        ("action", "message"),
        [
            ("add label VIP from customer", "write 'add label VIP to customer'"),
            ("remove label VIP to customer", "write 'remove label VIP from customer'"),
            ('add 10% "x"', "'add' takes label NAME to ENTITY"),
            ('remove 5.00 EUR "x"', "'remove' takes label NAME from ENTITY"),
            ("discount label VIP to customer", "'discount' takes a percentage (10%)"),
        ],
    )
    def test_malformed_actions(self, action, message):
        text = LABELS + f"on order_created then {action}"
        d = one(text)
        assert d.check_tuple() == ("R214", 2, col(text, action.split()[0]))
        assert d.message.startswith(message)

    def test_unknown_action_without_a_close_match(self):
        d = one(LABELS + 'on order_created then refund 10% "x"')
        assert d.code == "R202"
        assert d.suggestion == "actions are discount, free, buy, add, remove, set, show, hide"

    @pytest.mark.parametrize("percent", ["0", "0.00", "-5", "100.01", "250"])
    def test_percentage_out_of_range(self, percent):
        text = LABELS + f'on order_created then discount {percent}% "x"'
        d = one(text)
        assert d.check_tuple() == ("R301", 2, col(text, "discount"))
        assert f"not {Decimal(percent)}%" in d.message

    @pytest.mark.parametrize("percent", ["0.01", "12.5", "100", "100.00"])
    def test_percentage_in_range(self, percent):
        assert diags(LABELS + f'on order_created then discount {percent}% "x"') == []

    @pytest.mark.parametrize("amount", ["0", "0.00", "-1.00"])
    def test_fixed_amount_not_positive(self, amount):
        text = LABELS + f'on order_created then discount {amount} EUR "x"'
        assert tuples(text) == [("R302", 2, col(text, "discount"))]

    @pytest.mark.parametrize("amount", ["0", "-1"])
    def test_cap_not_positive(self, amount):
        text = LABELS + f'on order_created then discount 10% up to {amount} EUR "x"'
        assert tuples(text) == [("R303", 2, col(text, "up to"))]

    def test_adding_and_removing_a_label(self):
        text = (
            LABELS
            + "on order_created then add label VIP to customer and remove label VIP from customer"
        )
        d = one(text)
        assert d.check_tuple() == ("R310", 2, col(text, "remove"))
        assert d.severity == "warning"

    def test_adding_one_label_and_removing_another(self):
        text = LABELS + "on order_created then add label Loyal to customer"
        text += " and remove label Trial from customer"
        assert diags(text) == []


class TestRuleSettings:
    def test_duplicate_names_across_files(self):
        analysis = analyze(
            [
                Source.from_text('rule "A" on order_created then discount 1% "x" end', "a.rules"),
                Source.from_text('\nrule "A" on order_created then discount 1% "x" end', "b.rules"),
            ],
            rulec.DEFAULT_VOCABULARY,
        )
        (d,) = analysis.diagnostics
        assert (d.span.file, *d.check_tuple()) == ("b.rules", "R304", 2, 1)
        assert "already used at a.rules:1" in d.message

    def test_every_repeat_of_a_name_is_reported(self):
        text = "\n".join(f'rule "A" on order_created then discount {n}% "x" end' for n in (1, 2, 3))
        assert tuples(text) == [("R304", 2, 1), ("R304", 3, 1)]

    def test_window_ending_on_the_day_it_starts_is_fine(self):
        text = 'rule "r" from 2026-11-27 until 2026-11-27 on order_created then discount 1% "x" end'
        assert diags(text) == []

    def test_window_of_no_time_at_all(self):
        text = block("from 2026-11-27 10:00 until 2026-11-27 10:00", prefix="")
        assert tuples(text) == [("R305", 1, 10)]

    def test_window_in_time_zones(self):
        # 10:00 in Paris is 09:00 UTC; until 09:30 UTC is after it
        ok = block("from 2026-11-27 10:00 Europe/Paris until 2026-11-27 09:30 UTC")
        assert diags(ok) == []
        bad = block("from 2026-11-27 10:00 UTC until 2026-11-27 10:30 Europe/Paris")
        assert [c for c, _, _ in tuples(bad)] == ["R305"]

    @pytest.mark.parametrize(
        ("meta", "what", "column"),
        [
            ("priority 1 priority 2", "priority", 21),
            ('description "a" description "b"', "description", 26),
            ("enabled disabled", "enabled/disabled", 18),
            ("exclusive exclusive", "exclusive", 20),
            ("combinable combinable", "combinable", 21),
            ("until 2026-03-01 from 2026-01-01 until 2026-02-01", "validity window", 27),
        ],
    )
    def test_setting_twice(self, meta, what, column):
        d = one(f'rule "r" {meta} on order_created then discount 1% "x" end')
        assert d.check_tuple() == ("R309", 1, column)
        assert d.message == f"the rule sets its {what} twice"
        assert d.suggestion == "keep one"

    def test_exclusive_and_combinable(self):
        text = 'rule "r" combinable exclusive on order_created then discount 1% "x" end'
        d = one(text)
        assert d.check_tuple() == ("R309", 1, 10)
        assert d.message == "a rule cannot be both exclusive and combinable"


class TestBetween:
    def test_reversed_dates(self):
        text = when("order created between 2026-11-30 and 2026-11-27")
        assert tuples(text) == [("R306", 2, col(text, "order created"))]

    def test_equal_bounds_are_fine(self):
        assert diags(when("order subtotal between 50 and 50")) == []
        assert diags(when("order created between 2026-11-27 and 2026-11-27")) == []

    def test_time_within_the_upper_day_is_fine(self):
        # from 10:00 to the end of that same day
        assert diags(when("order created between 2026-11-27 10:00 and 2026-11-27")) == []

    def test_time_after_the_upper_time(self):
        text = when("order created between 2026-11-27 10:00 and 2026-11-27 09:00")
        assert [c for c, _, _ in tuples(text)] == ["R306"]

    def test_midnight_after_the_upper_day(self):
        text = when("order created between 2026-11-28 00:00 and 2026-11-27")
        assert [c for c, _, _ in tuples(text)] == ["R306"]

    def test_reversed_not_between(self):
        assert [c for c, _, _ in tuples(when("order subtotal not between 9 and 1"))] == ["R306"]


class TestContradictions:
    @pytest.mark.parametrize(
        "cond",
        [
            "customer has label VIP and customer lacks label VIP",
            "customer has label VIP and not customer has label VIP",
            "customer has label VIP and customer lacks any label of Trial, VIP",
            "customer has any label of Trial, VIP and customer lacks label VIP"
            " and customer lacks label Trial",
            "not (customer has label VIP or customer has label Trial) and customer has label Trial",
            "order subtotal > 100 and order subtotal < 50",
            "order subtotal > 50 and order subtotal <= 50",
            "order subtotal >= 50 and order subtotal < 50",
            "not (order subtotal > 100) and order subtotal > 100",
            "order subtotal != 50 and order subtotal = 50",
            "order subtotal in (50, 60) and order subtotal > 60",
            "order currency is EUR and order currency is USD",
            "order currency is EUR and order currency is not EUR",
            "order currency in (EUR, USD) and order currency not in (EUR, USD)",
            "order currency is EUR and order currency in (USD, GBP)",
            "customer order count = 0 and customer order count > 0",
            "customer order count between 1 and 5 and customer order count = 6",
            "order created < 2026-01-01 and order created > 2026-02-01",
            "order created < 2026-01-01 and order created >= 2026-01-01",
            "order created = 2026-01-01 and order created > 2026-01-01",
            "order created = 2026-01-01 and order created < 2026-01-01 00:00",
            "order created between 2026-01-01 and 2026-01-30"
            " and order created between 2026-01-31 and 2026-02-28",
            "order created between 2026-01-01 10:00 and 2026-01-01"
            " and order created < 2026-01-01 10:00",
            "(order subtotal > 100 or customer has label VIP) and order subtotal < 50"
            " and customer lacks label VIP",
            "order currency is EUR and order currency is USD or customer has label VIP"
            " and customer lacks label VIP",
        ],
    )
    def test_never_fires(self, cond):
        text = when(cond)
        # the last one mixes 'and' and 'or' too (R312)
        ds = [d for d in diags(text) if d.code != "R312"]
        assert len(ds) == 1, [d.check_tuple() for d in ds]
        d = ds[0]
        assert d.check_tuple() == ("R307", 2, col(text, cond[:12]))
        assert d.severity == "warning"
        assert d.message == "the conditions contradict each other, so this rule can never fire"

    @pytest.mark.parametrize(
        "cond",
        [
            "order subtotal >= 50 and order subtotal <= 50",
            "order subtotal = 50 and order subtotal = 50.00",
            "order subtotal in (50, 60) and order subtotal >= 60",
            "order subtotal > 100 or order subtotal < 50",
            "customer has label VIP or customer lacks label VIP",
            "customer has label VIP and customer has label Trial",
            "customer has any label of Trial, VIP and customer lacks label VIP",
            "customer lacks label VIP and customer lacks label Trial",
            "order currency in (EUR, USD) and order currency not in (EUR)",
            "order currency is EUR and order currency is not USD",
            'order currency is "EUR" and order currency is EUR',
            "customer order count = 0 and customer order count >= 0",
            "customer order count between 1 and 5 and customer order count = 5",
            "customer order count not between 1 and 5 and customer order count = 6",
            "order created <= 2026-01-01 and order created >= 2026-01-01",
            "order created = 2026-01-01 and order created >= 2026-01-01 23:59",
            "order created = 2026-01-01 and order created < 2026-01-01 00:01",
            "order created between 2026-01-01 and 2026-01-31"
            " and order created between 2026-01-31 and 2026-02-28",
            "order created = 2026-01-01 Europe/Paris and order created = 2026-01-02 Asia/Tokyo",
            "order created > 2026-01-01 23:00 Europe/Paris and order created < 2026-01-02",
            "order created between 2026-01-01 10:00 and 2026-01-01"
            " and order created <= 2026-01-01 10:00",
            "not (order subtotal > 100 and order subtotal < 50)",
        ],
    )
    def test_satisfiable_conditions_are_not_reported(self, cond):
        assert [d for d in diags(when(cond)) if d.code != "R311"] == []

    def test_each_rule_is_judged_on_its_own(self):
        text = (
            LABELS
            + 'on order_created when order subtotal > 100 then discount 1% "x"\n'
            + 'on order_created when order subtotal < 50 then discount 1% "y"\n'
        )
        assert diags(text) == []

    def test_rules_with_errors_get_no_contradiction_warning(self):
        text = when("customer has label VIP and customer lacks label VIP", 'discount 0% "x"')
        assert [c for c, _, _ in tuples(text)] == ["R301"]

    def test_contradiction_in_a_block_points_at_the_condition(self):
        text = (
            LABELS
            + 'rule "never"\n'
            + "  on order_created\n"
            + "  when order subtotal > 100\n"
            + "   and order subtotal < 50\n"
            + '  then discount 1% "x"\n'
            + "end\n"
        )
        assert tuples(text) == [("R307", 4, 8)]

    def test_large_conditions_are_left_alone(self):
        # 2**10 conjunctions: too many to search, and no crash or slowness
        pairs = " and ".join(
            "(customer has label VIP or customer has label Trial)" for _ in range(10)
        )
        assert (
            diags(when(pairs + " and customer lacks label VIP and customer lacks label Trial"))
            == []
        )


class TestOnePass:
    def test_all_problems_of_a_file_at_once(self):
        text = """\
label VIP, Trial for customer
rule "dup"
  priority 1
  exclusive
  from 2026-12-01 until 2026-11-01
  on order_craeted
  when custmer has label VIP and order subtotl > 5 and order currency >= 5 and customer has label Gold
  then discont 10% "a", discount 0% "b", discount 5.00 XXX "c", add label VIP from customer
end
rule "dup" combinable exclusive on order_created when order created = 2026-02-30 then discount 5% "x", add label VIP to customer, remove label VIP from customer end
label VIP for customer
"""  # noqa: E501
        assert tuples(text) == [
            ("R305", 5, 3),
            ("R201", 6, 6),
            ("R203", 7, 8),
            ("R204", 7, 40),
            ("R206", 7, 71),
            ("R210", 7, 99),
            ("R202", 8, 8),
            ("R301", 8, 25),
            ("R209", 8, 56),
            ("R214", 8, 65),
            ("R304", 10, 1),
            ("R309", 10, 12),
            ("R207", 10, 71),
            ("R310", 10, 131),
            ("R308", 11, 7),
        ]

    def test_diagnostics_are_sorted_by_position(self):
        text = (
            when("order subtotl > 5", 'discont 10% "x"') + '\non order_craeted then discount 1% "y"'
        )
        got = tuples(text)
        assert got == sorted(got, key=lambda t: (t[1], t[2]))
        assert [c for c, _, _ in got] == ["R204", "R202", "R201"]

    def test_syntax_and_check_errors_together(self):
        text = (
            LABELS
            + 'on order_created then discount 10 "x"\n'
            + when("customer has label Gold").split("\n")[1]
        )
        assert [c for c, _, _ in tuples(text)] == ["R104", "R210"]

    def test_check_errors_stop_loading(self):
        with pytest.raises(rulec.RulesCheckError) as info:
            rulec.load_text(when("order subtotl > 5", 'discont 10% "x"'))
        assert [d.code for d in info.value.diagnostics] == ["R204", "R202"]
        assert isinstance(info.value, rulec.RulesError)

    def test_warnings_do_not_stop_loading(self):
        rules = rulec.load_text('on order_created when customer has label A then discount 1% "x"')
        assert len(rules) == 1


class TestLimits:
    def test_too_many_rules(self, monkeypatch):
        monkeypatch.setattr(limits, "MAX_RULES", 3)
        text = "".join(f'on order_created then discount {n}% "x"\n' for n in range(1, 6))
        d = one(text)
        assert d.check_tuple() == ("R112", 4, 1)
        assert "5 rules" in d.message
        assert d.severity == "error"

    def test_as_many_rules_as_allowed(self, monkeypatch):
        monkeypatch.setattr(limits, "MAX_RULES", 3)
        text = "".join(f'on order_created then discount {n}% "x"\n' for n in range(1, 4))
        assert diags(text) == []

    def test_label_declarations_are_not_rules(self, monkeypatch):
        monkeypatch.setattr(limits, "MAX_RULES", 1)
        text = 'label A for customer\nlabel B for customer\non order_created then discount 1% "x"'
        assert diags(text) == []

    # a rule name or label name longer than the database column made every
    # matching order fail to save on PostgreSQL (value too long)
    def test_rule_name_over_200_characters(self):
        ok = "n" * checker_module.MAX_RULE_NAME
        assert diags(f'rule "{ok}" on order_created then discount 1% "x" end') == []
        d = one(f'\nrule "{ok}x" on order_created then discount 1% "x" end')
        assert d.check_tuple() == ("R114", 2, 1)
        assert "201 characters" in d.message

    def test_label_name_over_100_characters(self):
        ok, long = "L" * checker_module.MAX_LABEL_NAME, "M" * 101
        assert diags(f"label {ok} for customer") == []
        assert [d.check_tuple() for d in diags(f"label A, {long} for customer")] == [
            ("R114", 1, 10)
        ]
        text = f"label A for customer\non order_created then add label {long} to customer"
        assert ("R114", 2, 33) in [d.check_tuple() for d in diags(text)]


class TestVocabulary:
    RULES = """\
label Hot, Cold for ticket
label Senior for agent
on ticket_opened
  when ticket channel is email and ticket urgent is true and ticket mass > 2.5
   and ticket level in (1, 2) and ticket opened >= 2026-01-01 and site country is "FR"
  then add label Hot to ticket
rule "senior"
  on ticket_assigned
  when agent has label Senior and ticket has any label of Hot, Cold
   and agent seniority between 3 and 10
  then remove label Cold from ticket
end
"""

    def test_custom_vocabulary_is_accepted(self):
        assert diags(self.RULES, HELPDESK) == []

    def test_the_default_vocabulary_rejects_it(self):
        codes = {c for c, _, _ in tuples(self.RULES)}
        assert {"R201", "R203"} <= codes

    def test_the_default_events_are_unknown_to_a_custom_vocabulary(self):
        d = one('on order_created then discount 1% "x"', HELPDESK)
        assert d.check_tuple() == ("R201", 1, 4)
        assert d.suggestion == "events are ticket_opened, ticket_assigned"

    def test_suggestions_come_from_the_vocabulary(self):
        text = desk("on ticket_opend when tickt chanel is x then add label Hot to ticket")
        ds = diags(text, HELPDESK)
        assert [d.check_tuple()[0] for d in ds] == ["R201", "R203"]
        assert ds[0].suggestion == "did you mean 'ticket_opened'?"
        assert ds[1].suggestion == "did you mean 'ticket'?"

    def test_field_suggestion_from_the_vocabulary(self):
        text = desk("on ticket_opened when ticket chanel is x then add label Hot to ticket")
        d = one(text, HELPDESK)
        assert d.check_tuple() == ("R204", 2, col(text, "chanel"))
        assert d.suggestion == "did you mean 'channel'?"

    def test_entity_not_provided_by_the_event(self):
        text = desk("on ticket_assigned when site country is FR then add label Hot to ticket")
        d = one(text, HELPDESK)
        assert d.check_tuple() == ("R215", 2, col(text, "site"))
        assert d.suggestion == "this event provides ticket, agent"

    @pytest.mark.parametrize(
        ("cond", "message"),
        [
            ("ticket channel > email", "'>' does not apply to ticket channel (string)"),
            ("ticket urgent is maybe", "ticket urgent is true or false, not the name 'maybe'"),
            ("ticket urgent = 1", "ticket urgent is true or false, not the number 1"),
            ("ticket channel = 1", "ticket channel is a text, not the number 1"),
            ("ticket weight > x", "ticket weight is a number, not the name 'x'"),
        ],
    )
    def test_types_of_a_custom_vocabulary(self, cond, message):
        d = one(
            f"label Hot for ticket\non ticket_opened when {cond} then add label Hot to ticket",
            HELPDESK,
        )
        assert d.code == "R206"
        assert d.message.startswith(message)

    def test_custom_rules_compile_and_run(self):
        from datetime import UTC, datetime

        rules = rulec.load_text(self.RULES, "desk.rules", HELPDESK)
        facts = {
            "ticket.labels": frozenset(),
            "ticket.channel": "email",
            "ticket.urgent": True,
            "ticket.weight": Decimal("3"),
            "ticket.level": 2,
            "ticket.opened_at": datetime(2026, 3, 1, tzinfo=UTC),
            "site.country": "FR",
        }
        assert [r.line for r in rules.matching("ticket_opened", facts)] == [3]
        assert rules.matching("ticket_opened", {**facts, "ticket.urgent": False}) == []
        assigned = {
            "agent.labels": frozenset({"Senior"}),
            "ticket.labels": frozenset({"Cold"}),
            "agent.seniority": 5,
        }
        assert [r.name for r in rules.matching("ticket_assigned", assigned)] == ["senior"]

    def test_field_named_like_a_keyword(self):
        vocabulary = Vocabulary(
            entities=(Entity("ticket", (Field("priority", Type.INTEGER),)),),
            events=(Event("ticket_opened", ("ticket",)),),
        )
        assert (
            diags('on ticket_opened when ticket priority > 1 then discount 1% "x"', vocabulary)
            == []
        )

    @pytest.mark.parametrize("word", ["priority", "from", "end", "to", "label", "rule", "until"])
    def test_field_words_spelt_like_keywords(self, word):
        vocabulary = Vocabulary(
            entities=(Entity("ticket", (Field(f"{word}_date", Type.DATETIME),)),),
            events=(Event("ticket_opened", ("ticket",)),),
        )
        text = f'on ticket_opened when ticket {word} date > 2026-01-01 then discount 1% "x"'
        assert diags(text, vocabulary) == []


class TestFieldAlone:
    """A true-or-false field written alone is a test; any other is an error at the field."""

    def test_a_boolean_field_alone_means_true(self):
        rs = rulec.load_text(
            'on order_created when order placed by customer then discount 2% "c"\n'
            'on order_created when not order created by agent then discount 1% "a"\n',
            "b.rules",
        )
        assert [
            r.name for r in rs.matching("order_created", {"order.placed_by_customer": True})
        ] == [
            "b.rules:1",
            "b.rules:2",
        ]
        agent = {"order.placed_by_customer": False, "order.created_by_agent": True}
        assert rs.matching("order_created", agent) == []

    def test_another_field_alone_is_reported_at_the_field_with_how_to_compare_it(self):
        text = LABELS + 'on order_created when order subtotal then discount 5% "x"'
        d = one(text)
        assert d.check_tuple() == ("R206", 2, col(text, "order subtotal"))
        assert "not true or false" in d.message
        assert d.suggestion == "compare it, e.g. 'order subtotal >= 100.00'"

    def test_a_missing_comparison_does_not_swallow_the_rest_of_the_file(self):
        text = (
            LABELS
            + 'on order_created when customer order count then discount 5% "x"\n'
            + 'on order_created when customer has label VIP then discount 1% "y"\n'
        )
        assert tuples(text) == [("R206", 2, col(text, "customer order count"))]


GOLDEN = Path(__file__).resolve().parents[1] / "golden"
SHIPPED = Path(__file__).resolve().parents[2] / "rules"


def _reported_codes(stage: checker_module.Stage) -> set[str]:
    """The codes a stage's source passes to ``ctx.report``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(stage.run)))
    return {
        call.args[0].value
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "report"
        and call.args
        and isinstance(call.args[0], ast.Constant)
    }


class TestLintStages:
    """A load skips the stages that only warn; it must not miss an error."""

    def test_the_lint_stages_only_warn(self) -> None:
        for stage in checker_module.LINT_STAGES:
            codes = _reported_codes(stage)
            assert codes, stage.name  # the scan finds what it looks for
            assert {CODES[c][0] for c in codes} == {"warning"}, (stage.name, codes)

    def test_they_run_after_every_other_stage(self) -> None:
        stages = checker_module.STAGES
        first = min(stages.index(s) for s in checker_module.LINT_STAGES)
        assert set(stages[first:]) == checker_module.LINT_STAGES

    @pytest.mark.parametrize(
        "path",
        sorted([*GOLDEN.glob("*/*.rules"), *SHIPPED.glob("*.rules")]),
        ids=lambda p: f"{p.parent.name}/{p.name}",
    )
    def test_without_them_the_diagnostics_are_the_same_but_their_warnings(self, path: Path) -> None:
        sources = read_sources([path])  # a file that is not UTF-8 included
        every = analyze(sources, rulec.DEFAULT_VOCABULARY).diagnostics
        loaded = analyze(sources, rulec.DEFAULT_VOCABULARY, lint=False).diagnostics
        lints = {c for s in checker_module.LINT_STAGES for c in _reported_codes(s)}
        assert list(loaded) == [d for d in every if d.code not in lints]

    def test_a_rule_set_with_a_lint_warning_still_loads(self) -> None:
        text = (
            "on order_created when order subtotal > 100.00 and order subtotal < 50.00 "
            'then discount 5% "Never"\n'
        )
        assert [d.code for d in rulec.check_text(text)] == ["R307"]
        assert len(rulec.load_text(text)) == 1


class TestRuleNamesAreUnique:
    """A one-line rule is named after its file's name in the rule set (its path
    under the folder given) and its line; a name used twice is an error (R304)."""

    ONE = 'label VIP for customer\non order_created then discount {p}% "r{p}"\n'

    def write(self, root, path, text):
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def test_files_of_one_name_in_two_folders_give_two_names(self, tmp_path):
        self.write(tmp_path, "a/x.rules", self.ONE.format(p=5))
        self.write(tmp_path, "b/x.rules", self.ONE.format(p=10).replace("label VIP", "label Gold"))
        assert rulec.check_paths([tmp_path]) == []
        rules = rulec.load_paths([tmp_path])
        assert [r.name for r in rules.rules] == ["a/x.rules:2", "b/x.rules:2"]
        order = {"subtotal": Decimal("100.00"), "currency": "EUR"}
        d = rules.evaluate("order_created", {"order": order})
        assert [a.rule for a in d.applied] == ["b/x.rules:2"]
        assert [(lost.rule, lost.reason) for lost in d.lost] == [
            ("a/x.rules:2", "a better discount applied: 'b/x.rules:2'")
        ]

    def test_the_same_name_from_two_roots_is_an_error(self, tmp_path):
        self.write(tmp_path, "a/x.rules", self.ONE.format(p=5))
        self.write(tmp_path, "b/x.rules", self.ONE.format(p=10).replace("label VIP", "label Gold"))
        [d] = rulec.check_paths([tmp_path / "a", tmp_path / "b"])
        assert (d.code, d.span.file, d.span.line) == ("R304", str(tmp_path / "b/x.rules"), 2)
        assert "rule name 'x.rules:2' is already used" in d.message
        assert d.suggestion is not None and "rename one of the files called 'x.rules'" in (
            d.suggestion
        )

    def test_a_block_named_like_a_one_line_rule_is_an_error(self, check_codes):
        text = (
            "label VIP for customer\n"
            'on order_created then discount 5% "five"\n'
            'rule "c.rules:2" on order_created then discount 1% "one" end\n'
        )
        assert check_codes(text, "c.rules") == [("R304", 3, 1)]


class TestValuesAsWrittenElsewhere:
    """Values that parse but mean nothing get the value to write (issue 21)."""

    @pytest.mark.parametrize(
        ("text", "code", "fix"),
        [
            (when("order currency is euros"), "R209", "write the ISO 4217 code 'EUR'"),
            (LABELS + 'on order_created then discount 5.00 dollars "x"', "R209", "'USD'"),
            (block("until 2026-11-30 Paris"), "R208", "'Europe/Paris'"),
            (block("until 2026-11-30 PST"), "R208", "'America/Los_Angeles'"),
            (block("from 27/11/2026"), "R207", "write 2026-11-27"),
            (when("order created >= 2026-31-12"), "R207", "write 2026-12-31"),
            (when('order created >= "2026-11-27"'), "R206", "without quotes: 2026-11-27"),
            (when('order subtotal >= "100"'), "R206", "without quotes: 100"),
            (when("order placed by customer is True"), "R206", "write 'true'"),
            (when("order placed by customer is 0"), "R206", "write 'false'"),
            (LABELS + 'on order_created then discount 5.005 EUR "x"', "R206", "write 5.01 EUR"),
            (LABELS + 'on order_created then discount 2.5 JPY "x"', "R206", "write 3 JPY"),
        ],
    )
    def test_the_fix_is_in_the_message(self, text, code, fix):
        d = one(text)
        assert d.check_tuple()[:2] == (code, 2)
        assert fix in d.full_message

    def test_a_date_written_wrong_with_an_unknown_zone_gives_both(self):
        text = block("from 27/11/2026 until 2026-11-30 Paris")
        assert sorted(c for c, _, _ in tuples(text)) == ["R207", "R208"]


class TestPrecedence:
    """R312: 'and' and 'or' mixed without parentheses, and both readings."""

    A, B, C, D = (
        "customer has label VIP",
        "customer has label Trial",
        "customer has label Loyal",
        "customer order count = 0",
    )

    def r312(self, text: str) -> rulec.Diagnostic:
        (d,) = [d for d in diags(text) if d.code == "R312"]
        return d

    def test_both_readings(self):
        d = self.r312(when(f"{self.A} or {self.B} and {self.C}"))
        assert d.message.endswith(f"so this reads as {self.A} or ({self.B} and {self.C})")
        assert d.suggestion == (
            "write these parentheses to keep that meaning, or write"
            f" ({self.A} or {self.B}) and {self.C} if that is what is meant"
        )

    def test_a_bare_and_in_the_middle(self):
        d = self.r312(when(f"{self.A} or {self.B} and {self.C} or {self.D}"))
        assert f"{self.A} or ({self.B} and {self.C}) or {self.D}" in d.message
        assert f"({self.A} or {self.B}) and ({self.C} or {self.D})" in (d.suggestion or "")

    @pytest.mark.parametrize(
        "cond",
        [
            "{A} or ({B} and {C}) or {D}",
            "({A} and {B}) or {C}",
            "{A} or ( {B} and {C} )",
            "(({A} and {B})) or {C}",
            "{A} or # why\n  ({B} and {C})",
            "({A} or {B}) and {C}",
            "{A} and {B} and {C}",
            "{A} or {B} or {C}",
        ],
    )
    def test_parentheses_say_it(self, cond):
        text = when(cond.format(A=self.A, B=self.B, C=self.C, D=self.D))
        assert [c for c, _, _ in tuples(text) if c == "R312"] == []

    def test_written_over_lines_with_comments(self):
        text = (
            f"{LABELS}on order_created\n  when {self.A}  # first\n    or {self.B}\n"
            f'   and {self.C}\n  then discount 1% "x"'
        )
        d = self.r312(text)
        assert d.check_tuple() == ("R312", 3, 8)
        assert d.message.endswith(f"{self.A} or ({self.B} and {self.C})")

    def test_quoted_text_is_kept_as_written(self):
        cond = f'any item name is "A  # B" or {self.B} and {self.C}'
        d = self.r312(when(cond))
        assert f'(any item name is "A  # B" or {self.B}) and {self.C}' in (d.suggestion or "")

    def test_without_the_text_it_says_how_it_binds(self):
        from rulec.dsl.check import check
        from rulec.dsl.parser import parse

        items = parse(when(f"{self.A} or {self.B} and {self.C}"), "t.rules")
        (d,) = [d for d in check(items, rulec.DEFAULT_VOCABULARY) if d.code == "R312"]
        assert "'and' binds first" in d.message

    def test_a_load_does_not_look(self):
        rules = rulec.load_text(when(f"{self.A} or {self.B} and {self.C}"), "t.rules")
        assert len(rules) == 1


class TestAmountsWithoutCurrency:
    """R313: an amount compared without its currency where orders have several."""

    @staticmethod
    def two(first: str, second: str, then: str = 'discount 10% "x"') -> str:
        """The usual labels, then two rules (lines 2 and 3) with these conditions."""
        return f"{when(first)}\non order_created when {second} then {then}"

    def r313(self, text: str, vocabulary: Vocabulary | None = None) -> list[rulec.Diagnostic]:
        return [d for d in diags(text, vocabulary) if d.code == "R313"]

    def test_one_currency_and_no_currency_test_is_fine(self):
        text = when("order subtotal >= 100.00", 'discount 5.00 EUR "x"')
        assert self.r313(text) == []

    def test_a_currency_test_anywhere_means_several(self):
        text = self.two("order currency is EUR", "order subtotal >= 100.00")
        (d,) = self.r313(text)
        assert d.check_tuple() == ("R313", 3, 23)  # the amount's own line
        assert "a rule tests order currency at t.rules:2" in d.message
        assert d.suggestion == (
            "say which in the same rule: order currency is EUR and order subtotal >= 100.00"
        )

    def test_two_currencies_named_mean_several(self):
        text = self.two(
            "order subtotal > 5", "customer has label VIP", 'discount 10% up to 5.00 USD "b"'
        ).replace('discount 10% "x"', 'discount 5.00 EUR "a"', 1)
        (d,) = self.r313(text)
        assert "its rules name EUR and USD" in d.message
        assert "order currency is EUR and order subtotal > 5" in (d.suggestion or "")

    def test_a_vocabulary_with_several_currencies(self):
        shop = Vocabulary(
            entities=(
                Entity(
                    "order",
                    (
                        Field("total", Type.MONEY),
                        Field("currency", Type.CURRENCY, values=("EUR", "CHF")),
                    ),
                ),
            ),
            events=(Event("order_placed", ("order",)),),
        )
        text = 'on order_placed when order total > 5 then discount 1% "x"'
        (d,) = self.r313(text, shop)
        assert "order currency is one of EUR, CHF" in d.message

    @pytest.mark.parametrize(
        "cond",
        [
            "order currency is EUR and order subtotal >= 100.00",
            "order currency = EUR and not order subtotal >= 100.00",
            "order currency in (EUR) and (order subtotal > 5 or customer has label VIP)",
            "customer has label VIP and order currency is EUR and any item unit price > 5",
        ],
    )
    def test_pinned_currencies(self, cond):
        assert self.r313(when(cond)) == []

    @pytest.mark.parametrize(
        "cond",
        [
            "order currency in (EUR, USD) and order subtotal >= 100.00",
            "order currency is not EUR and order subtotal >= 100.00",
            "order currency is EUR or order subtotal >= 100.00",
            "not (order currency is EUR) and order subtotal >= 100.00",
        ],
    )
    def test_what_does_not_pin(self, cond):
        assert len(self.r313(when(cond))) == 1

    def test_once_a_rule(self):
        text = self.two("order currency is EUR", "order subtotal > 5 and order subtotal < 9")
        assert len(self.r313(text)) == 1

    def test_a_price_amount_goes_with_the_price_currency(self):
        text = (
            "label Sale for price\n"
            "on price_listed when price currency is EUR and price has label Sale then hide price\n"
            "on price_listed when price amount > 100.00 then hide price"
        )
        (d,) = self.r313(text)
        assert "price currency is EUR and price amount > 100.00" in (d.suggestion or "")

    def test_a_rule_that_never_fires_is_left_to_r307(self):
        text = self.two("order currency is EUR", "order subtotal > 9 and order subtotal < 5")
        assert [c for c, _, _ in tuples(text)] == ["R307"]


class TestUsageLimits:
    def test_a_limit_per_customer_on_an_event_without_a_customer(self):
        text = 'rule "r" limit 1 use per customer on item_labeled then discount 1% "x" end'
        found = {d.code: d for d in rulec.check_text(text)}
        assert "R334" in found
        assert "item_labeled" in found["R334"].message
        assert "see no customer" in found["R334"].message

    def test_a_budget_per_currency_and_every_setting_once_are_clean(self):
        text = (
            'rule "r" limit 100 uses limit 1 use per customer budget 1000.00 EUR '
            "budget 120000 JPY uses given back when cancelled "
            'on order_created then discount 1% "x" end'
        )
        assert rulec.check_text(text) == []

    def test_two_budgets_in_one_currency_are_one_too_many(self):
        d = one(
            '\nrule "r" budget 10.00 EUR budget 20.00 EUR on order_created then discount 1% "x" end'
        )
        assert (d.code, d.message) == ("R309", "the rule sets its budget in EUR twice")

    def test_the_formatter_keeps_the_settings(self):
        text = (
            'rule "r" limit 2 uses limit 1 use per customer budget 10.00 EUR '
            'uses given back when cancelled on order_created then discount 1% "x" end\n'
        )
        formatted = format_text(text)
        assert "  limit 2 uses\n  limit 1 use per customer\n  budget 10.00 EUR\n" in formatted
        assert "  uses given back when cancelled\n" in formatted
        assert format_text(formatted) == formatted
        assert rulec.parse(formatted) == rulec.parse(text)


class TestLimitsPerCode:
    RULE = (
        'coupon family P is "P-*"\n'
        'rule "Partner" {limit} on order_created when order has coupon in P '
        'then discount 10% "P" end\n'
        'test "t" on order_created given rule "Partner" {reason} expect no discount end'
    )

    def test_a_test_states_a_code_used_up_only_for_a_rule_limited_per_code(self):
        ok = self.RULE.format(limit="limit 1 use per code", reason="code_limit_reached")
        assert diags(ok) == []
        bad = self.RULE.format(limit="limit 1 use per customer", reason="code_limit_reached")
        (d,) = diags(bad)
        assert d.code == "R344"
        assert "never refused for code_limit_reached: it has no limit per code" in d.message
        per_code = self.RULE.format(limit="limit 1 use per code", reason="customer_limit_reached")
        assert [d.code for d in diags(per_code)] == ["R344"]
