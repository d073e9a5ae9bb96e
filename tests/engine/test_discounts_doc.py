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


class TestOrdersWithoutACustomer:
    """The 'Orders without a customer' example of docs/discounts.md, as written."""

    def rules(self):
        blocks = re.findall(r"```rules\n(.*?)```", DOC.read_text(), re.S)
        text = next(b for b in blocks if "Agent sale" in b)
        return rulec.load_text(text, "d.rules")

    def decide(self, customer_labels, agent_labels, *, customer=True, agent=True):
        facts = {
            "order.subtotal": Decimal("100.00"),
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
