"""How ``rulec diff`` groups a changed decision (rulec.tools.diff.classify), on decisions
the engine makes from plain facts."""

from __future__ import annotations

from decimal import Decimal

import rulec
from rulec.tools.diff import KINDS, classify
from rulec.tools.simulate import given_away

FACTS = {
    "order": {"subtotal": Decimal("100.00"), "currency": "EUR", "labels": {"Gift"}},
    "customer": {"labels": {"VIP"}},
}
HEAD = "label VIP for customer\nlabel Gift, Wrapped for order\n"


def decided(text: str):
    return rulec.load_text(HEAD + text, "t.rules").evaluate("order_created", FACTS)


A = (
    'rule "A"\n  priority {pa}\n'
    '  on order_created when customer has label VIP then discount 10% "A"\nend\n'
)
B = (
    'rule "B"\n  priority {pb}\n'
    '  on order_created when order has label Gift then discount 10% "B"\nend\n'
)


def test_each_kind_of_change() -> None:
    none = decided("")
    ten = decided(A.format(pa=1))
    assert classify(none, ten) == KINDS[0] == "newly discounted"
    assert classify(ten, none) == KINDS[1] == "no longer discounted"
    fifteen = decided(A.format(pa=1).replace("10%", "15%"))
    assert classify(ten, fifteen) == KINDS[2] == "amount changed"
    a_wins = decided(A.format(pa=2) + B.format(pb=1))
    b_wins = decided(A.format(pa=1) + B.format(pb=2))
    assert [d.rule for d in a_wins.applied] == ["A"] and [d.rule for d in b_wins.applied] == ["B"]
    assert classify(a_wins, b_wins) == KINDS[3] == "different rule won"
    labelled = decided(A.format(pa=1) + "on order_created then add label Wrapped to order\n")
    assert classify(ten, labelled) == KINDS[4] == "other effects changed"
    assert classify(ten, decided(A.format(pa=1))) is None


def test_a_shipping_discount_is_money_given_away() -> None:
    # free shipping added to an order with a charge is a newly discounted order, its
    # amount the shipping given away (not "a different rule won")
    facts = {**FACTS, "order": {**FACTS["order"], "shipping": Decimal("4.95")}}
    rules = HEAD + A.format(pa=1)
    free = rules + 'on order_created then free shipping "Free shipping"\n'
    plain = rulec.load_text(HEAD, "t.rules").evaluate("order_created", facts)
    shipped = rulec.load_text(HEAD + 'on order_created then free shipping "F"\n', "t.rules")
    assert classify(plain, shipped.evaluate("order_created", facts)) == "newly discounted"
    ten = rulec.load_text(rules, "t.rules").evaluate("order_created", facts)
    ten_and_free = rulec.load_text(free, "t.rules").evaluate("order_created", facts)
    assert classify(ten, ten_and_free) == "amount changed"
    assert (given_away(ten), given_away(ten_and_free)) == (Decimal("10.00"), Decimal("14.95"))
