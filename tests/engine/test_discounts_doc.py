"""The worked examples of docs/discounts.md, evaluated as written."""

import pathlib
import re
from datetime import UTC, datetime
from decimal import Decimal

import rulec

DOC = pathlib.Path(__file__).parents[2] / "docs" / "discounts.md"


def example_rules() -> str:
    return re.search(r"```rules\n(.*?)```", DOC.read_text(), re.S).group(1)


def decide(text, when):
    return rulec.load_text(text, "d.rules").evaluate(
        "order_created",
        {
            "customer": {"labels": {"Customer_VIP"}},
            "order": {"subtotal": Decimal("100.00"), "currency": "EUR", "created_at": when},
        },
    )


class TestWorkedExamples:
    def test_best_deal_plus_combinable(self):
        d = decide(example_rules(), datetime(2026, 11, 28, 12, tzinfo=UTC))
        assert d.discount_amount == Decimal("14.00")
        assert d.discount_description == "Black Friday + Gift wrap"
        assert d.discount_percentage is None
        assert d.total_amount == Decimal("86.00")
        assert [(lost.rule, lost.reason) for lost in d.lost] == [
            ("VIP", "a better discount applied: 'Black Friday'")
        ]

    def test_exclusive_vip_applies_alone(self):
        text = example_rules().replace('rule "VIP"', 'rule "VIP" exclusive')
        d = decide(text, datetime(2026, 11, 28, 12, tzinfo=UTC))
        assert d.discount_amount == Decimal("10.00")
        assert d.total_amount == Decimal("90.00")
        assert {lost.rule for lost in d.lost} == {"Black Friday", "Free gift wrap"}

    def test_outside_the_window(self):
        d = decide(example_rules(), datetime(2026, 12, 1, 12, tzinfo=UTC))
        assert d.discount_amount == Decimal("12.00")
        assert d.discount_description == "VIP New Order Discount + Gift wrap"


class TestStackingGroups:
    """The 'Stacking groups' example of docs/discounts.md, as written."""

    def decide(self, labels, text=None):
        if text is None:
            blocks = re.findall(r"```rules\n(.*?)```", DOC.read_text(), re.S)
            text = next(b for b in blocks if "group Seasonal after Loyalty" in b)
        facts = {
            "customer": {"labels": set(labels)},
            "order": {"subtotal": Decimal("200.00"), "currency": "EUR"},
        }
        return rulec.load_text(text, "d.rules").evaluate("order_created", facts), text

    def test_the_best_of_each_group_on_its_base(self):
        d, _ = self.decide({"Customer_VIP", "Member"})
        assert [(a.rule, a.amount, a.group, a.base) for a in d.applied] == [
            ("Newsletter", Decimal("5.00"), None, None),
            ("VIP", Decimal("20.00"), "Loyalty", None),
            ("Winter sale", Decimal("36.00"), "Seasonal", Decimal("180.00")),
            ("Winter wrap", Decimal("2.00"), "Seasonal", Decimal("180.00")),
        ]
        assert [(x.rule, x.reason) for x in d.lost] == [
            ("Member", "a better discount in group 'Loyalty' applied: 'VIP'")
        ]
        assert d.discount_amount == Decimal("63.00")
        assert d.discount_description == "Newsletter + VIP + Winter sale + Winter wrap"
        assert d.discount_percentage is None
        assert d.total_amount == Decimal("137.00")

    def test_without_the_vip_label_member_wins_and_the_base_follows(self):
        d, _ = self.decide({"Member"})
        sale = next(a for a in d.applied if a.rule == "Winter sale")
        assert (sale.base, sale.amount) == (Decimal("185.00"), Decimal("37.00"))

    def test_without_after_the_sale_is_of_the_subtotal(self):
        _, text = self.decide(())
        d, _ = self.decide({"Customer_VIP"}, text.replace(" after Loyalty", ""))
        sale = next(a for a in d.applied if a.rule == "Winter sale")
        assert (sale.base, sale.amount) == (None, Decimal("40.00"))


class TestCouponCodes:
    """The 'Coupon codes' example of docs/discounts.md, as written."""

    def decide(self, subtotal):
        blocks = re.findall(r"```rules\n(.*?)```", DOC.read_text(), re.S)
        text = next(b for b in blocks if "SPRING10" in b)
        order = {"subtotal": Decimal(subtotal), "currency": "EUR"}
        order["coupons"] = ["spring10", "welcome", "SUMMER"]
        facts = {"customer": {"labels": {"Customer_VIP"}}, "order": order}
        return rulec.load_text(text, "d.rules").evaluate("order_created", facts)

    def test_the_best_code_beats_vip_and_a_combinable_code_stacks(self):
        d = self.decide("100.00")
        assert (d.discount_amount, d.total_amount) == (Decimal("20.00"), Decimal("80.00"))
        assert [(x.rule, x.reason) for x in d.lost] == [
            ("VIP", "a better discount applied: 'Spring code'")
        ]
        assert [(c.code, c.reason_code, c.reason) for c in d.coupons] == [
            ("SPRING10", "applied", "applied by rule 'Spring code'"),
            ("SUMMER", "unknown", "the code SUMMER is not a promotion of this shop"),
            ("WELCOME", "applied", "applied by rule 'Welcome code'"),
        ]

    def test_a_code_whose_conditions_fail_says_which(self):
        d = self.decide("40.00")
        assert d.discount_amount == Decimal("9.00")
        spring = next(c for c in d.coupons if c.code == "SPRING10")
        assert (spring.reason_code, spring.reason) == (
            "conditions_not_met",
            "needs order subtotal >= 50.00 (order subtotal: 40.00)",
        )


class TestOrdersWithoutACustomer:
    """The 'Orders without a customer' example of docs/discounts.md, as written."""

    def rules(self):
        blocks = re.findall(r"```rules\n(.*?)```", DOC.read_text(), re.S)
        text = next(b for b in blocks if "Agent sale" in b)
        return rulec.load_text(text, "d.rules")

    def decide(self, customer_labels, agent_labels, *, customer=True, agent=True):
        facts = {
            "order.subtotal": Decimal("100.00"),
            "order.currency": "EUR",
            "order.placed_by_customer": customer,
            "customer.absent": not customer,
            "customer.labels": frozenset(customer_labels),
            "agent.absent": not agent,
            "agent.labels": frozenset(agent_labels),
        }
        return self.rules().evaluate("order_created", facts)

    def test_an_agents_order_for_no_customer_gets_the_agent_sale(self):
        d = self.decide((), ("Senior",), customer=False)
        assert (d.discount_description, d.discount_amount) == ("Agent sale", Decimal("5.00"))

    def test_a_vip_gets_the_vip_discount(self):
        d = self.decide(("Customer_VIP",), (), agent=False)
        assert d.discount_description == "VIP"

    def test_an_agents_order_for_a_vip_gets_the_better_one(self):
        d = self.decide(("Customer_VIP",), ("Senior",))
        assert (d.discount_description, d.discount_amount) == ("VIP", Decimal("10.00"))


class TestMoneyTable:
    """The table of the Money section, row by row."""

    def rows(self):
        text = DOC.read_text()
        money = text[text.index("## Money") : text.index("## Worked examples")]
        table = [line for line in money.splitlines() if line.startswith("| ")][1:]
        return [[cell.strip() for cell in line.strip("|").split("|")] for line in table]

    def test_every_row(self):
        from types import SimpleNamespace

        from rulec.engine.db.facts.catalog import line_cost

        rows = self.rows()
        assert len(rows) == 8
        for subtotal, rule, discount, total in rows:
            action = {"none": "add label X to customer", "any": 'discount 10% "x"'}.get(rule)
            if action is None:
                action = f'discount {rule} "x"'
            rules = rulec.load_text(f"label X for customer\non order_created then {action}\n")
            if discount == "refused":
                for amount in subtotal.split(", "):
                    value, currency = amount.split()
                    facts = {"order": {"subtotal": Decimal(value), "currency": currency}}
                    try:
                        rules.evaluate("order_created", facts)
                    except rulec.MoneyError as refused:
                        assert f"order.subtotal {value} {currency}" in str(refused)
                    else:
                        raise AssertionError(f"{amount} was not refused")
                continue
            if subtotal.startswith("one line of "):  # "one line of 3 × 1.479 EUR = 4.44"
                quantity, _, price, currency, _, cost = subtotal.split()[3:]
                line = SimpleNamespace(quantity=int(quantity), unit_price=Decimal(price))
                assert str(line_cost(line, currency)) == cost
                value = cost
            else:
                value, currency = subtotal.split()
            d = rules.evaluate(
                "order_created", {"order": {"subtotal": Decimal(value), "currency": currency}}
            )
            assert str(d.discount_amount) == discount.split()[0]
            assert str(d.total_amount) == total


class TestCodeFamilies:
    """The 'Code families' example of docs/discounts.md, as written."""

    def decide(self, code, subtotal="80.00"):
        blocks = re.findall(r"```rules\n(.*?)```", DOC.read_text(), re.S)
        text = next(b for b in blocks if "coupon family Partner" in b)
        order = {"subtotal": Decimal(subtotal), "currency": "EUR", "coupons": [code]}
        return rulec.load_text(text, "d.rules").evaluate("order_created", {"order": order})

    def test_a_code_of_the_family_applies_and_others_are_unknown(self):
        d = self.decide("partner-0042")
        assert d.discount_amount == Decimal("12.00")
        assert [(c.code, c.reason_code, c.reason) for c in d.coupons] == [
            ("PARTNER-0042", "applied", "applied by rule 'Partner code'")
        ]
        assert self.decide("PARTNERX").coupons[0].reason_code == "unknown"

    def test_a_family_code_whose_conditions_fail_says_which(self):
        (friends,) = self.decide("FRIENDS", "20.00").coupons
        assert (friends.reason_code, friends.reason) == (
            "conditions_not_met",
            "needs order subtotal >= 30.00 (order subtotal: 20.00)",
        )


class TestShipping:
    """The 'Shipping' example of docs/discounts.md, as written."""

    def decide(self, subtotal, shipping):
        blocks = re.findall(r"```rules\n(.*?)```", DOC.read_text(), re.S)
        text = next(b for b in blocks if "free shipping" in b)
        order = {"subtotal": Decimal(subtotal), "currency": "EUR"}
        if shipping is not None:
            order["shipping"] = Decimal(shipping)
        facts = {"customer": {"labels": {"Customer_VIP"}}, "order": order}
        return rulec.load_text(text, "d.rules").evaluate("order_created", facts)

    def test_free_shipping_beats_half_price_shipping(self):
        d = self.decide("60.00", "4.95")
        assert (d.discount_amount, d.shipping_amount, d.shipping_discount, d.total_amount) == (
            Decimal("6.00"),
            Decimal("4.95"),
            Decimal("4.95"),
            Decimal("54.00"),
        )
        assert d.discount_description == "VIP New Order Discount + Free shipping over 50"
        assert [(x.rule, x.reason) for x in d.lost] == [
            ("Half-price shipping", "a better shipping discount applied: 'Free shipping over 50'")
        ]

    def test_below_50_the_vip_pays_half_the_shipping(self):
        d = self.decide("40.00", "4.95")
        assert (d.discount_amount, d.shipping_discount, d.total_amount) == (
            Decimal("4.00"),
            Decimal("2.48"),
            Decimal("38.47"),
        )

    def test_without_shipping_the_order_is_as_it_always_was(self):
        d = self.decide("40.00", None)
        assert (d.discount_amount, d.total_amount) == (Decimal("4.00"), Decimal("36.00"))
        assert [(x.rule, x.reason) for x in d.lost] == [
            ("Half-price shipping", "the order has no shipping charge")
        ]
