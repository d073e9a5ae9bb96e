"""Discounts on the order's lines, buy X get Y and tiers, one construct at a time,
through ``RuleSet.evaluate`` with nested facts (issue 15)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

import rulec
from rulec.dsl.fmt import format_text

LABELS = "label Clearance, Socks for item\n"


def line(price: str, quantity: int = 1, *labels: str) -> dict[str, object]:
    return {"labels": set(labels), "quantity": quantity, "unit_price": D(price)}


def decide(rules: str, *lines: dict[str, object], currency: str = "EUR", subtotal: str = ""):
    rule_set = rulec.load_text(LABELS + rules, "t.rules")
    total = sum((D(str(x["unit_price"])) * int(str(x["quantity"])) for x in lines), D(0))
    order = {"subtotal": D(subtotal) if subtotal else total, "currency": currency}
    return rule_set.evaluate("order_created", {"order": order, "item": list(lines)})


def shares(d) -> list[str]:
    return [str(s) for s in d.line_discounts]


class TestPercentOnItems:
    def test_only_the_lines_with_the_label(self):
        d = decide(
            'on order_created then discount 20% on items with label Clearance "Clearance"',
            line("40.00", 1, "Clearance"),
            line("30.00"),
            line("12.50", 2, "Clearance"),
        )
        assert d.discount_amount == D("13.00")
        assert shares(d) == ["8.00", "0.00", "5.00"]
        [a] = d.applied
        assert (a.kind, a.percentage, a.lines) == ("line_percentage", D("20"), d.line_discounts)
        assert d.discount_percentage is None  # not a percentage of the order

    def test_on_items_alone_is_every_line(self):
        d = decide('on order_created then discount 10% on items "All"', line("9.99"), line("0.05"))
        assert shares(d) == ["1.00", "0.01"]  # each line rounded half-up on its own

    def test_a_cap_per_line(self):
        d = decide(
            'on order_created then discount 20% on items up to 5.00 EUR per line "Capped"',
            line("40.00"),
            line("10.00"),
        )
        assert shares(d) == ["5.00", "2.00"]
        assert d.applied[0].capped

    def test_a_cap_on_the_whole_discount_is_split_over_the_lines(self):
        d = decide(
            'on order_created then discount 50% on items up to 10.00 EUR "Half"',
            line("10.00"),
            line("20.00"),
            line("30.00"),
        )
        assert d.discount_amount == D("10.00")
        assert shares(d) == ["1.67", "3.33", "5.00"]

    def test_a_cap_in_another_currency_does_not_apply(self):
        d = decide(
            'on order_created then discount 20% on items up to 5.00 USD per line "Capped"',
            line("40.00"),
        )
        assert not d.applied
        assert d.lost[0].reason == "no discount applies: its cap is in USD, the order in EUR"

    def test_no_line_with_the_label(self):
        d = decide(
            'on order_created then discount 20% on items with label Clearance "Clearance"',
            line("40.00"),
        )
        assert not d.applied
        assert d.lost[0].reason == ("no discount applies: no item of the order has label Clearance")


class TestAmountPerItem:
    def test_per_unit_never_more_than_the_line(self):
        d = decide(
            'on order_created then discount 2.00 EUR per item on items with label Socks "Socks"',
            line("6.00", 3, "Socks"),
            line("1.50", 1, "Socks"),
            line("20.00", 2),
        )
        assert shares(d) == ["6.00", "1.50", "0.00"]
        assert d.applied[0].kind == "line_fixed"

    def test_in_another_currency(self):
        d = decide('on order_created then discount 2.00 USD per item "Socks"', line("6.00"))
        assert not d.applied
        assert "its amount is in USD, the order in EUR" in d.lost[0].reason


class TestBuyGet:
    RULE = 'on order_created then buy 2 get 1 free on items with label Socks "3 for 2"\n'

    def test_the_cheapest_units_are_free_as_often_as_the_basket_allows(self):
        d = decide(
            self.RULE,
            line("6.00", 4, "Socks"),
            line("4.50", 2, "Socks"),
            line("99.00", 1),
        )
        # 6 pairs: 2 free, the two at 4.50
        assert shares(d) == ["0.00", "9.00", "0.00"]
        [a] = d.applied
        assert a.kind == "buy_get"
        assert a.detail == "2 of 6 items with label Socks free (buy 2 get 1, 2 times), the cheapest"

    def test_one_short_of_a_group(self):
        d = decide(self.RULE, line("6.00", 2, "Socks"), line("6.00", 1))
        assert not d.applied
        assert d.lost[0].reason == (
            "no discount applies: 3 items with label Socks are needed, the order has 2"
        )

    def test_equal_prices_free_on_the_earlier_line(self):
        d = decide(self.RULE, line("5.00", 2, "Socks"), line("5.00", 2, "Socks"))
        assert shares(d) == ["5.00", "0.00"]

    def test_n_for_m(self):
        d = decide(
            'on order_created then buy 3 for 2 on items "Three for two"',
            line("10.00", 2),
            line("3.00", 4),
        )
        # 6 items, 2 free: the two cheapest
        assert shares(d) == ["0.00", "6.00"]

    def test_a_unit_price_finer_than_a_cent(self):
        d = decide(
            'on order_created then buy 2 get 1 free on items "Fuel"',
            line("1.479", 3),
            subtotal="4.44",
        )
        assert shares(d) == ["1.48"]


class TestTiers:
    RULE = (
        "on order_created then discount 10.00 EUR from 100.00 EUR, 25.00 EUR from 200.00 EUR "
        '"Spend"'
    )

    @pytest.mark.parametrize(
        ("subtotal", "amount", "detail"),
        [
            ("100.00", "10.00", "tier from 100.00 EUR"),
            ("199.99", "10.00", "tier from 100.00 EUR"),
            ("200.00", "25.00", "tier from 200.00 EUR"),
            ("950.00", "25.00", "tier from 200.00 EUR"),
        ],
    )
    def test_the_highest_tier_reached(self, subtotal, amount, detail):
        d = decide(self.RULE, line(subtotal))
        assert d.discount_amount == D(amount)
        assert d.applied[0].detail == detail

    def test_below_the_lowest_tier(self):
        d = decide(self.RULE, line("99.99"))
        assert not d.applied
        assert d.lost[0].reason == (
            "no discount applies: the subtotal 99.99 EUR is below its lowest tier, from 100.00"
        )

    def test_percentage_tiers_are_the_order_s_percentage(self):
        d = decide(
            'on order_created then discount 5% from 50.00 EUR, 10% from 100.00 EUR "Spend"',
            line("60.00"),
            line("60.00"),
        )
        assert (d.discount_percentage, d.discount_amount) == (D("10"), D("12.00"))
        assert shares(d) == ["6.00", "6.00"]

    def test_tiers_in_another_currency(self):
        d = decide(self.RULE, line("500"), currency="JPY")
        assert not d.applied
        assert "its tiers are in EUR, the order in JPY" in d.lost[0].reason


class TestPolicy:
    def test_a_line_discount_competes_with_its_total(self):
        rules = (
            'on order_created then discount 20% on items with label Clearance "Clearance"\n'
            'on order_created then discount 5% "Five"\n'
        )
        d = decide(rules, line("40.00", 1, "Clearance"), line("100.00"))
        assert [a.description for a in d.applied] == ["Clearance"]  # 8.00 beats 7.00
        assert d.lost[0].reason == "a better discount applied: 't.rules:2'"
        d = decide(rules, line("20.00", 1, "Clearance"), line("100.00"))
        assert [a.description for a in d.applied] == ["Five"]  # 6.00 beats 4.00

    def test_an_order_discount_is_shared_over_what_the_line_discounts_leave(self):
        rules = (
            'rule "socks" combinable on order_created '
            'then buy 1 get 1 free on items with label Socks "Pairs" end\n'
            'on order_created then discount 10.00 EUR "Ten"\n'
        )
        d = decide(rules, line("10.00", 2, "Socks"), line("30.00"))
        # the socks line keeps 10.00 of 20.00, the other 30.00: 10.00 is 2.50 and 7.50
        assert [(a.description, a.lines) for a in d.applied] == [
            ("Ten", (D("2.50"), D("7.50"))),
            ("Pairs", (D("10.00"), D("0.00"))),
        ]
        assert shares(d) == ["12.50", "7.50"]
        assert sum(d.line_discounts) == d.discount_amount

    def test_the_total_never_goes_below_zero(self):
        rules = (
            'rule "a" combinable on order_created then discount 100% on items "All" end\n'
            'rule "b" combinable on order_created then discount 3.00 EUR per item "Three" end\n'
        )
        d = decide(rules, line("2.00", 2), line("0.50"))
        assert d.total_amount == D("0.00")
        assert shares(d) == ["4.00", "0.50"]
        assert d.lost[0].reason == "the order is already free"

    def test_lines_that_do_not_add_up_to_the_subtotal(self):
        d = decide(
            'on order_created then discount 10% on items "All"\n'
            'rule "x" combinable on order_created then discount 5% "Five" end\n',
            line("10.00"),
            subtotal="50.00",
        )
        assert [a.description for a in d.applied] == ["Five"]
        assert "the order's lines cost 10.00 EUR and its subtotal is 50.00 EUR" in d.lost[0].reason
        assert d.line_totals == () and d.line_discounts == ()

    def test_an_order_without_lines(self):
        rule_set = rulec.load_text('on order_created then discount 10% on items "All"', "t.rules")
        d = rule_set.evaluate(
            "order_created", {"order": {"subtotal": D("10.00"), "currency": "EUR"}}
        )
        assert not d.applied
        assert d.lost[0].reason == "no discount applies: the order has no lines"

    def test_an_order_discount_alone_is_shared_as_before(self):
        d = decide('on order_created then discount 10% "Ten"', line("0.05"), line("0.05"))
        assert shares(d) == ["0.01", "0.00"]  # 0.01 in all: the tie to the earlier line


class TestExplain:
    def test_the_explanation_says_which_units_are_free_and_where(self):
        rule_set = rulec.load_text(
            LABELS + 'on order_created then buy 2 get 1 free on items with label Socks "3 for 2"',
            "t.rules",
        )
        facts = {
            "order": {"subtotal": D("22.00"), "currency": "EUR"},
            "item": [line("10.00", 1), line("4.00", 3, "Socks")],
        }
        [r] = rule_set.explain("order_created", facts).rules
        assert r.reason == (
            "3 for 2: 4.00 EUR, 1 of 3 items with label Socks free (buy 2 get 1, once), "
            "the cheapest (line 2: 4.00)"
        )


class TestLanguage:
    def test_a_rule_with_a_line_discount_reads_the_lines(self):
        rule_set = rulec.load_text('on order_created then buy 3 for 2 on items "x"', "t.rules")
        assert "item.all" in rule_set.keys_for("order_created")

    def test_formatting_keeps_every_form(self):
        text = (
            LABELS
            + "on order_created then discount 20% on items with label Clearance up to 5.00 EUR "
            'per line "a"\n'
            'on order_created then discount 2.00 EUR per item "b"\n'
            'on order_created then buy 3 for 2 on items with label Socks "c"\n'
            'on order_created then discount 10.00 EUR from 100.00 EUR, 5% from 300.00 EUR "d"\n'
        )
        assert format_text(text) == text

    @pytest.mark.parametrize(
        ("action", "fix"),
        [
            ('buy 2 get 1 "x"', """write 'buy 2 get 1 free "x"'"""),
            ('buy 3 for 2 items "x"', """write 'buy 3 for 2 "x"'"""),
            (
                'discount 10.00 EUR from 100.00 EUR 25.00 EUR from 200.00 EUR "x"',
                """write 'discount 10.00 EUR from 100.00 EUR, 25.00 EUR from 200.00 EUR "x"'""",
            ),
        ],
    )
    def test_a_malformed_action_gets_its_fix(self, action, fix):
        [d] = rulec.check_text(f"on order_created then {action}")
        assert (d.code, d.suggestion) == ("R214", fix)

    def test_an_undeclared_item_label(self):
        [d] = rulec.check_text(
            LABELS + 'on order_created then discount 10% on items with label Sockz "x"'
        )
        assert (d.code, d.suggestion) == ("R210", "did you mean 'Socks'?")

    def test_a_discount_on_items_needs_an_event_with_lines(self):
        from rulec.dsl.vocabulary import Entity, Event, Field, Type, Vocabulary

        shop = Vocabulary(
            entities=(
                Entity(
                    "order",
                    (Field("subtotal", Type.MONEY), Field("currency", Type.CURRENCY)),
                ),
            ),
            events=(Event("order_placed", ("order",)),),
        )
        [d] = rulec.check_text(
            'on order_placed then buy 2 get 1 free on items "x"', vocabulary=shop
        )
        assert d.code == "R216"
        assert d.message == (
            "a discount on items needs the order's lines, and event 'order_placed' has none"
        )
