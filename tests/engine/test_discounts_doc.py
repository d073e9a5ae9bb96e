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
