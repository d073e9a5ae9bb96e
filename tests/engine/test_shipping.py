"""The shipping policy (engine/core/shipping.py) through decide, with plain facts:
free shipping, a percentage or an amount off the shipping, never more than the
charge, no charge -> lost, exclusivity within each kind, and the figures."""

from decimal import Decimal

import pytest

import rulec
from rulec.engine.core.errors import FactsError, MoneyError

D = Decimal
HEAD = "label VIP for customer\n"


def decide(rules, *, subtotal="60.00", shipping="4.95", currency="EUR", labels=("VIP",)):
    order = {"subtotal": D(subtotal), "currency": currency}
    if shipping is not None:
        order["shipping"] = shipping if not isinstance(shipping, str) else D(shipping)
    rs = rulec.load_text(HEAD + rules, "s.rules")
    return rs.evaluate("order_created", {"customer": {"labels": set(labels)}, "order": order})


def block(name, action, *settings, when=""):
    cond = f"  when {when}\n" if when else ""
    meta = "".join(f"  {s}\n" for s in settings)
    return f'rule "{name}"\n{meta}  on order_created\n{cond}  then {action}\nend\n'


FREE = block("Free", 'free shipping "Free shipping over 50"', when="order subtotal >= 50.00")
HALF = block("Half", 'discount 50% on shipping "Half-price shipping"')
FLAT = block("Flat", 'discount 2.00 EUR on shipping "2.00 off shipping"')
TEN = block("Ten", 'discount 10% "Ten percent"')


def kinds(d):
    return [(a.rule, a.kind, a.amount) for a in d.applied]


class TestAmounts:
    def test_free_shipping_takes_the_whole_charge(self):
        d = decide(FREE)
        assert kinds(d) == [("Free", "free_shipping", D("4.95"))]
        assert (d.shipping_amount, d.shipping_discount) == (D("4.95"), D("4.95"))
        assert (d.discount_amount, d.discount_percentage) == (D("0.00"), None)
        assert d.total_amount == D("60.00")
        assert d.discount_description == "Free shipping over 50"

    def test_a_percentage_of_the_shipping_is_rounded_half_up(self):
        d = decide(HALF)  # 50% of 4.95 = 2.475
        assert kinds(d) == [("Half", "shipping_percentage", D("2.48"))]
        assert d.applied[0].percentage == D("50")
        assert (d.shipping_discount, d.total_amount) == (D("2.48"), D("62.47"))

    def test_a_fixed_amount_off_the_shipping(self):
        d = decide(FLAT)
        assert kinds(d) == [("Flat", "shipping_fixed", D("2.00"))]
        assert d.total_amount == D("62.95")

    def test_an_amount_off_never_exceeds_the_charge(self):
        d = decide(block("Big", 'discount 10.00 EUR on shipping "10 off shipping"'))
        assert kinds(d) == [("Big", "shipping_fixed", D("4.95"))]
        assert d.applied[0].capped
        assert (d.shipping_discount, d.total_amount) == (D("4.95"), D("60.00"))

    def test_stacked_shipping_discounts_never_exceed_the_charge(self):
        d = decide(
            block("Flat", 'discount 3.00 EUR on shipping "3 off"', "combinable")
            + block("Half", 'discount 50% on shipping "Half"', "combinable")
        )
        assert kinds(d) == [
            ("Flat", "shipping_fixed", D("3.00")),
            ("Half", "shipping_percentage", D("1.95")),
        ]
        assert d.applied[1].capped
        assert d.shipping_discount == D("4.95") and d.total_amount == D("60.00")

    def test_the_total_is_never_below_zero(self):
        d = decide(
            block("All", 'discount 100% "Everything"') + FREE, subtotal="60.00", shipping="4.95"
        )
        assert (d.discount_amount, d.shipping_discount, d.total_amount) == (
            D("60.00"),
            D("4.95"),
            D("0.00"),
        )


class TestChoice:
    def test_the_best_shipping_discount_applies_and_the_others_lose(self):
        d = decide(HALF + FREE + FLAT)
        assert kinds(d) == [("Free", "free_shipping", D("4.95"))]
        lost = {x.rule: x.reason for x in d.lost}
        assert lost == {
            "Half": "a better shipping discount applied: 'Free'",
            "Flat": "a better shipping discount applied: 'Free'",
        }

    def test_a_tie_goes_to_the_earlier_rule(self):
        big = block("Big", 'discount 9.00 EUR on shipping "9 off"')
        d = decide(big + FREE)  # both take the whole 4.95: the earlier wins
        assert kinds(d) == [("Big", "shipping_fixed", D("4.95"))]
        d = decide(block("Big", 'discount 9.00 EUR on shipping "9 off"', "priority -1") + FREE)
        assert kinds(d) == [("Free", "free_shipping", D("4.95"))]

    def test_an_exclusive_order_discount_leaves_free_shipping(self):
        d = decide(block("Only", 'discount 20% "Only this"', "exclusive") + TEN + FREE)
        assert kinds(d) == [
            ("Only", "percentage", D("12.00")),
            ("Free", "free_shipping", D("4.95")),
        ]
        assert {x.rule: x.reason for x in d.lost} == {"Ten": "exclusive rule 'Only' applied"}
        assert d.total_amount == D("48.00")

    def test_an_exclusive_shipping_discount_applies_alone_among_shipping_discounts(self):
        d = decide(FREE + block("Half", 'discount 50% on shipping "Half"', "exclusive") + TEN)
        assert kinds(d) == [
            ("Ten", "percentage", D("6.00")),
            ("Half", "shipping_percentage", D("2.48")),
        ]
        assert {x.rule: x.reason for x in d.lost} == {
            "Free": "exclusive rule 'Half' applied to the shipping"
        }

    def test_a_rule_with_both_gives_both(self):
        d = decide(block("Both", 'discount 10% "Ten" and free shipping "Free"'))
        assert kinds(d) == [("Both", "percentage", D("6.00")), ("Both", "free_shipping", D("4.95"))]
        assert d.discount_description == "Ten + Free"
        assert (d.discount_percentage, d.discount_amount) == (D("10"), D("6.00"))


class TestNoCharge:
    @pytest.mark.parametrize("shipping", [None, "0.00", 0])
    def test_a_shipping_discount_on_an_order_without_shipping_is_lost(self, shipping):
        d = decide(FREE + FLAT, shipping=shipping)
        assert d.applied == ()
        assert [(x.rule, x.reason) for x in d.lost] == [
            ("Free", "the order has no shipping charge"),
            ("Flat", "the order has no shipping charge"),
        ]
        assert d.shipping_discount == D("0.00") and d.total_amount == D("60.00")

    def test_an_amount_in_another_currency_does_not_apply(self):
        d = decide(block("Usd", 'discount 2.00 USD on shipping "2 off"'))
        assert d.applied == ()
        assert [x.reason for x in d.lost] == [
            "no discount applies: its amount is in USD, the order in EUR"
        ]


class TestLegacyFigures:
    """An order without shipping keeps exactly the figures it had before shipping existed."""

    @pytest.mark.parametrize(
        "rules",
        [
            TEN,
            block("Five", 'discount 5.00 EUR "Five"'),
            TEN + block("Big", 'discount 80.00 EUR "Big"'),
        ],
    )
    def test_the_four_figures_do_not_change(self, rules):
        without = decide(rules, shipping=None)
        zero = decide(rules, shipping="0.00")
        for d in (without, zero):
            assert (
                d.discount_percentage,
                d.discount_amount,
                d.discount_description,
                d.total_amount,
            ) == (
                without.discount_percentage,
                without.discount_amount,
                without.discount_description,
                without.subtotal - without.discount_amount
                if without.subtotal > without.discount_amount
                else D("0.00"),
            )
            assert d.shipping_discount == D("0.00") and not d.shipping_amount

    def test_with_a_charge_the_order_figures_stay_and_the_total_adds_the_shipping(self):
        plain, shipped = decide(TEN, shipping=None), decide(TEN, shipping="4.95")
        assert (plain.discount_percentage, plain.discount_amount, plain.discount_description) == (
            shipped.discount_percentage,
            shipped.discount_amount,
            shipped.discount_description,
        )
        assert shipped.total_amount == plain.total_amount + D("4.95")


class TestFacts:
    @pytest.mark.parametrize("bad", [4.95, D("NaN"), D("-1.00")])
    def test_a_shipping_charge_that_is_not_an_amount_is_refused(self, bad):
        with pytest.raises(FactsError):
            decide(FREE, shipping=bad)

    def test_a_charge_finer_than_the_minor_unit_is_refused(self):
        with pytest.raises(MoneyError, match=r"order\.shipping"):
            decide(FREE, shipping="4.955")

    def test_a_condition_reads_a_missing_shipping_as_zero(self):
        rules = block("No ship", 'discount 1.00 EUR "One"', when="order shipping = 0")
        assert kinds(decide(rules, shipping=None)) == [("No ship", "fixed", D("1.00"))]
        assert decide(rules, shipping="4.95").applied == ()


class TestExplain:
    def facts(self, shipping):
        order = {"subtotal": D("60.00"), "currency": "EUR"}
        if shipping is not None:
            order["shipping"] = D(shipping)
        return {"customer": {"labels": {"VIP"}}, "order": order}

    def test_the_figures_name_the_shipping_and_its_discount(self):
        rs = rulec.load_text(HEAD + TEN + FREE, "s.rules")
        e = rs.explain("order_created", self.facts("4.95"))
        assert e.text().splitlines()[0] == (
            "order_created: Ten percent + Free shipping over 50, 6.00 EUR off 60.00 EUR, "
            "shipping 4.95 EUR less 4.95 EUR: total 54.00 EUR"
        )
        assert e.rule("Free").status == "applied"

    def test_without_shipping_the_text_is_as_before_and_the_rule_says_why_it_lost(self):
        rs = rulec.load_text(HEAD + TEN + FREE, "s.rules")
        e = rs.explain("order_created", self.facts(None))
        assert e.text().splitlines()[0] == (
            "order_created: Ten percent, 6.00 EUR off 60.00 EUR: total 54.00 EUR"
        )
        free = e.rule("Free")
        assert (free.status, free.reason) == ("lost", "the order has no shipping charge")


class TestWithCoupons:
    def test_a_code_for_free_shipping_is_applied_and_the_figures_keep_the_shipping(self):
        rules = block(
            "Code", 'free shipping "Free with SHIPFREE"', when='order has coupon "SHIPFREE"'
        )
        rs = rulec.load_text(HEAD + rules, "s.rules")
        order = {"subtotal": D("30.00"), "currency": "EUR", "shipping": D("3.90")}
        d = rs.evaluate("order_created", {"order": {**order, "coupons": ["shipfree"]}})
        [c] = d.coupons
        assert (c.code, c.reason_code) == ("SHIPFREE", "applied")
        assert (d.shipping_discount, d.total_amount) == (D("3.90"), D("30.00"))
        d = rs.evaluate("order_created", {"order": {**order, "subtotal": D("30.00")}})
        assert d.total_amount == D("33.90")
