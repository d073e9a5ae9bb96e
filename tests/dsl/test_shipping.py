"""Shipping discounts in the language: parsed, checked, formatted, lowered and loaded."""

from __future__ import annotations

from decimal import Decimal

import pytest

import rulec
from rulec import Entity, Event, Field, Type, Vocabulary
from rulec.dsl.fmt import format_text
from rulec.dsl.nodes import ExpectFigure, Name, ShippingDiscount
from rulec.dsl.parser import parse_source
from rulec.engine.core.rules import ShippingDiscount_
from rulec.engine.vocabulary import DEFAULT_VOCABULARY

LABELS = "label VIP for customer\n"


def actions(text: str) -> tuple[object, ...]:
    parsed = parse_source(f"on order_created then {text}")
    assert parsed.diagnostics == []
    (rule,) = parsed.items
    return rule.actions


def tuples(text: str, vocabulary: Vocabulary | None = None) -> list[tuple[str, int, int]]:
    return [d.check_tuple() for d in rulec.check_text(text, "t.rules", vocabulary)]


def col(text: str, fragment: str, line: int = 2) -> int:
    return text.splitlines()[line - 1].index(fragment) + 1


class TestParse:
    def test_the_three_forms(self):
        assert actions('free shipping "Free shipping over 50"') == (
            ShippingDiscount(Name("free"), "Free shipping over 50"),
        )
        assert actions('discount 50% on shipping "Half-price shipping"') == (
            ShippingDiscount(Name("discount"), "Half-price shipping", Decimal("50")),
        )
        assert actions('discount 4.95 EUR on shipping "Off"') == (
            ShippingDiscount(Name("discount"), "Off", None, Decimal("4.95"), Name("EUR")),
        )

    def test_beside_other_actions(self):
        got = actions('discount 10% "Ten" and free shipping "Free"')
        assert [type(a).__name__ for a in got] == ["PercentDiscount", "ShippingDiscount"]

    def test_shipping_stays_a_field_name_in_conditions(self):
        parsed = parse_source('on order_created when order shipping > 0 then discount 1% "x"')
        assert parsed.diagnostics == []

    def test_expect_shipping_discount(self):
        parsed = parse_source(
            'test "t" on order_created given order shipping is 4.95\n'
            "  expect shipping discount 4.95 EUR\nend\n"
        )
        assert parsed.diagnostics == []
        (t,) = parsed.items
        (e,) = t.expects
        assert isinstance(e, ExpectFigure) and e.figure == "shipping_discount"
        assert (e.amount.value, e.currency.text) == (Decimal("4.95"), "EUR")

    def test_the_position_of_the_action(self):
        parsed = parse_source('on order_created then free shipping "Free"', "t.rules")
        (a,) = parsed.items[0].actions
        assert (a.span.line, a.span.column, a.span.end_column) == (1, 23, 43)


class TestCheck:
    @pytest.mark.parametrize(
        "action",
        [
            'free shipping "Free"',
            'discount 50% on shipping "Half"',
            'discount 100% on shipping "All"',
            'discount 4.95 EUR on shipping "Off"',
        ],
    )
    def test_well_formed(self, action):
        assert tuples(LABELS + f"on order_created when order shipping > 0 then {action}") == []

    @pytest.mark.parametrize("percent", ["0", "-5", "150"])
    def test_a_percentage_out_of_range(self, percent):
        text = LABELS + f'on order_created then discount {percent}% on shipping "x"'
        assert tuples(text) == [("R301", 2, col(text, "discount"))]

    def test_above_100_percent_suggests_free_shipping(self):
        text = LABELS + 'on order_created then discount 150% on shipping "x"'
        (d,) = rulec.check_text(text, "t.rules")
        assert "free shipping" in (d.suggestion or "")

    @pytest.mark.parametrize("amount", ["0", "0.00", "-1.00"])
    def test_an_amount_not_above_zero(self, amount):
        text = LABELS + f'on order_created then discount {amount} EUR on shipping "x"'
        assert tuples(text) == [("R302", 2, col(text, "discount"))]

    def test_an_amount_finer_than_its_currency(self):
        text = LABELS + 'on order_created then discount 4.955 EUR on shipping "x"'
        (d,) = rulec.check_text(text, "t.rules")
        assert (d.code, d.suggestion) == ("R206", "write 4.96 EUR")

    def test_an_unknown_currency(self):
        text = LABELS + 'on order_created then discount 4.95 EUX on shipping "x"'
        assert [t[0] for t in tuples(text)] == ["R209"]

    @pytest.mark.parametrize(
        ("action", "message"),
        [
            ('discount shipping "x"', "'discount' takes"),
            ('free 50% on shipping "x"', "'free' takes shipping"),
        ],
    )
    def test_the_verb_goes_with_its_form(self, action, message):
        text = LABELS + f"on order_created then {action}"
        (d,) = rulec.check_text(text, "t.rules")
        assert d.check_tuple() == ("R214", 2, col(text, action.split()[0]))
        assert d.message.startswith(message)

    @pytest.mark.parametrize(
        ("action", "suggestion"),
        [
            ('free shiping "Free"', """write 'free shipping "Free"'"""),
            ("free shipping Free", """write 'free shipping "TITLE"'"""),
        ],
    )
    def test_a_misshapen_free_shipping_is_rewritten(self, action, suggestion):
        text = f"on order_created then {action}\n"
        (d,) = rulec.check_text(text, "t.rules")
        assert d.check_tuple() == ("R214", 1, col(text, "free", 1))
        assert d.suggestion == suggestion

    def test_not_on_an_event_without_discounts(self):
        text = LABELS + 'on customer_labeled then free shipping "x"'
        assert [t[0] for t in tuples(text)] == ["R216"]

    def test_a_vocabulary_whose_order_has_no_shipping(self):
        order = Entity("order", (Field("subtotal", Type.MONEY), Field("currency", Type.CURRENCY)))
        vocabulary = Vocabulary(entities=(order,), events=(Event("order_created", ("order",)),))
        text = 'on order_created then free shipping "Free"'
        (d,) = rulec.check_text(text, "t.rules", vocabulary)
        assert d.check_tuple() == ("R216", 1, col(text, "free", 1))
        assert d.message == (
            "a shipping discount needs the order's shipping charge, and the vocabulary's "
            "order has no 'shipping' field of money"
        )
        assert "entities.order.fields.shipping" in (d.suggestion or "")

    def test_a_test_may_expect_a_shipping_discount_in_a_known_currency(self):
        text = (
            'on order_created then free shipping "Free"\n'
            'test "t" on order_created given order currency is EUR\n'
            "  expect shipping discount 4.95 EUX\nend\n"
        )
        assert [t[0] for t in tuples(text)] == ["R209"]


class TestFormat:
    @pytest.mark.parametrize(
        "text",
        [
            'on order_created then free shipping "Free shipping over 50"\n',
            'on order_created then discount 50% on shipping "Half-price shipping"\n',
            'on order_created then discount 4.95 EUR on shipping "Off"\n',
            'on order_created then discount 10% "Ten", free shipping "Free"\n',
            'test "t"\n  on order_created\n  given order shipping is 4.95\n'
            "  expect shipping discount 4.95 EUR\nend\n",
        ],
    )
    def test_round_trip(self, text):
        out = format_text(text)
        assert out == text
        assert parse_source(out).items == parse_source(text).items

    def test_spacing_is_made_canonical(self):
        got = format_text('on  order_created then discount  4.950 EUR   on  shipping  "Off"')
        assert got == 'on order_created then discount 4.950 EUR on shipping "Off"\n'


class TestLoad:
    def test_the_loaded_actions(self):
        rs = rulec.load_text(
            'rule "S" on order_created then free shipping "Free", '
            'discount 50% on shipping "Half", discount 2.00 EUR on shipping "Two" end',
            "s.rules",
        )
        (rule,) = rs.rules
        assert rule.actions == (
            ShippingDiscount_("Free"),
            ShippingDiscount_("Half", Decimal("50")),
            ShippingDiscount_("Two", None, Decimal("2.00"), "EUR"),
        )
        assert [a.kind for a in rule.actions] == [
            "free_shipping",
            "shipping_percentage",
            "shipping_fixed",
        ]

    def test_the_default_vocabulary_has_the_shipping_field(self):
        order = DEFAULT_VOCABULARY.entity("order")
        assert order is not None
        shipping = order.field("shipping")
        assert shipping is not None and shipping.type is Type.MONEY
