"""The example of docs/adopting.md: an old database, as the doc's tables show it."""

from __future__ import annotations

from .olddb import OldDb


def example_db() -> OldDb:
    db = OldDb()
    vip = db.label("Customer_VIP")
    gold = db.label("Gold Tier")
    season = db.label("Season 2026-2027", "PRICE")
    rush = db.label("Rush", "ORDER")
    orders = db.trigger("discount_vip", "VIP discount")
    pricing = db.trigger("pricing_trigger_2026_2027", "Pricing 2026")
    db.trigger("ON_CREATION", "On creation")
    db.rule(
        "VIP",
        orders,
        labels=[vip],
        actions=[("DISCOUNT", {"percentage": 10, "description": "VIP New Order Discount"})],
    )
    db.rule(
        "VIP",
        orders,
        description="Gold customers, not in a rush",
        conditions=[("CUSTOMER", "HAS_LABEL", gold), ("ORDER", "NOT_LABEL", rush)],
        actions=[("DISCOUNT", {"percentage": 15})],
    )
    db.rule(
        "Gold status", orders, labels=[gold], actions=[("STATUS_CHANGE", {"status": "confirmed"})]
    )
    db.rule("Season prices", pricing, conditions=[("PRICE", "HAS_LABEL", season)])
    db.customer(1, vip)
    db.customer(2, vip, gold)
    db.order(1, "120.00")
    db.order(1, "0.05")
    db.order(None, "80.00")
    return db
