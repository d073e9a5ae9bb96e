"""Stacking groups in the audit rows the engine writes: each discount's group, and
the base of a group after others, on the reference models and a backend's own,
on both databases."""

from __future__ import annotations

from decimal import Decimal

import rulec
from rulec.engine.db.attach import Engine

RULES = """\
group Loyalty
group Winter after Loyalty

rule "Member reward"
  in group Loyalty
  on order_created
  when order subtotal >= 10.00
  then discount 5% "Loyalty reward"
end

rule "Winter code"
  in group Winter
  on order_created
  when order has coupon "WINTER20"
  then discount 20% "Winter code"
end
"""


def test_each_audit_row_says_its_group_and_the_base_of_a_group_after_others(shop) -> None:
    engine = Engine(rulec.load_text(RULES, "groups.rules"), binding=shop.binding)
    engine.attach(shop.sessions)
    try:
        with shop.sessions.begin() as s:
            o = shop.order(s, shop.customer(s, "Ada"), subtotal="100.00", codes=["WINTER20"])
        with shop.sessions() as s:
            stored = shop.get(s, shop.key(o))
            assert shop.figures(stored)[1:] == (
                Decimal("24.00"),
                "Loyalty reward + Winter code",
                Decimal("76.00"),
            )
            rows = [
                (r["rule_name"], r["amount"], r["stacking_group"], r["base"])
                for r in shop.audit(s, stored)
            ]
    finally:
        engine.detach(shop.sessions)
    # 20% of what the loyalty reward left (95.00), not of the subtotal
    assert rows == [
        ("Member reward", Decimal("5.00"), "Loyalty", None),
        ("Winter code", Decimal("19.00"), "Winter", Decimal("95.00")),
    ]
