"""Back-testing agrees with the engine, order by order (issue 16), on SQLite and PostgreSQL.

Random rule sets over every fact the catalog reads in SQL (labels of the
order, its customer, its agent and its lines; coupon codes entered, one by
one and by a family of codes and prefixes; money, counts, texts,
instants, days, a date, booleans; ``any item``; ``not``, ``and``, ``or``;
priorities, exclusive rules, validity windows in a zone) and random order
histories. For every stored order:

* each rule's SQL predicate selects the order exactly when the engine says
  the rule held for it (condition and window);
* the back-test's decision (the orders SQL selects, decided through the
  batch readers; the others decided by no rule) is the engine's own
  decision of the order read row by row: the same rules matched, applied
  and lost, the same amounts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import rulec
from rulec.engine.core.decide import decide
from rulec.engine.db.backtest import Period, decide_stored, read_only, select_orders
from rulec.engine.db.facts.binding import REFERENCE
from rulec.engine.db.facts.row import load_facts
from rulec.engine.db.facts.sql import OrderRef
from rulec.engine.db.sqlcond import rule_predicate
from rulec.storage.models import Agent, Base, Customer, Item, Label, Order, OrderItem

EVENT = "order_created"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HEADER = (
    "label VIP, Trial for customer\n"
    "label Senior for agent\n"
    "label Rush, Gift for order\n"
    "label Fragile, Bulky for item\n"
    'coupon family Partner is "PARTNER_*", "FRIENDS"\n'
)

# ------------------------------------------------------------------ rules --

ATOMS = st.sampled_from(
    [
        "customer has label VIP",
        "customer lacks label Trial",
        "customer has any label of VIP, Trial",
        "customer lacks any label of VIP, Trial",
        "order has label Rush",
        "order lacks label Gift",
        "agent has label Senior",
        "agent lacks label Senior",
        "any item has label Fragile",
        "not any item has label Bulky",
        "any item quantity >= 2",
        "any item line total > 10.00",
        "any item unit price <= 4.35",
        'any item name = "Tea"',
        "order subtotal >= 50.00",
        "order subtotal < 20",
        "order subtotal between 10.00 and 100.00",
        "order subtotal not between 10.00 and 100.00",
        "order currency is EUR",
        "order currency not in (JPY, KWD)",
        "order status in (new, paid)",
        "order status is not new",
        "customer order count = 0",
        "customer order count >= 2",
        "customer order count in (1, 2)",
        "order item count > 2",
        "order line count != 1",
        "order created at >= 2026-03-01",
        "order created at < 2026-03-01T11:00",
        "order created at = 2026-03-01",
        "order created at in (2026-02-28, 2026-03-01T10:00)",
        "order created at not in (2026-03-01)",
        "order created at between 2026-02-28 and 2026-03-01T12:00",
        "order wedding date = 2027-06-12",
        "order wedding date > 2026-01-01",
        "order wedding date <= 2026-06-12T12:00",
        "order wedding date < 2026-06-12T12:00",
        "order created at <= 2026-03-01",
        "order wedding year = 2027",
        "order placed by customer is true",
        "order created by agent is false",
        'agent name = "Alice"',
        'agent name != "Alice"',
        'order has coupon "SPRING10"',
        "order lacks coupon spring10",
        "order has coupon in Partner",
        "order lacks coupon in Partner",
    ]
)


@st.composite
def conditions(draw: Any, depth: int = 0) -> str:
    kind = draw(st.integers(0, 5 if depth < 2 else 0))
    if kind <= 2:
        return draw(ATOMS)
    if kind == 3:
        return f"not ({draw(conditions(depth + 1))})"
    joiner = " and " if kind == 4 else " or "
    parts = draw(st.lists(conditions(depth + 1), min_size=2, max_size=3))
    return joiner.join(f"({p})" for p in parts)


ACTIONS = st.sampled_from(
    [
        'discount 10% "{n}"',
        'discount 2.50 EUR "{n}"',
        'discount 33% "{n}"',
        'discount 1000 JPY "{n}"',
        'discount 20% on items with label Fragile up to 5.00 EUR per line "{n}"',
        'buy 2 get 1 free on items with label Bulky "{n}"',
    ]
)
WINDOWS = st.sampled_from(
    [
        "",
        "  from 2026-03-01 until 2026-03-02 Europe/Paris\n",
        "  from 2026-03-01T10:00 until 2026-03-02\n",
        "  until 2026-03-01\n",
    ]
)


@st.composite
def rule_sets(draw: Any) -> str:
    out = [HEADER, "group A\ngroup B after A\n"]  # stacking groups: the back-test's policy too
    for n in range(draw(st.integers(1, 5))):
        name = f"r{n}"
        condition = draw(st.none() | conditions())
        when = f" when {condition}" if condition else ""
        meta = f"  priority {draw(st.integers(-2, 2))}\n"
        meta += draw(st.sampled_from(["", "  exclusive\n", "  combinable\n"]))
        if "exclusive" not in meta:
            meta += draw(st.sampled_from(["", "", "  in group A\n", "  in group B\n"]))
        meta += draw(WINDOWS)
        action = draw(ACTIONS).format(n=name)
        out.append(f'rule "{name}"\n{meta}  on order_created{when} then {action}\nend\n')
    return "\n".join(out)


# ----------------------------------------------------------------- orders --

LINES = st.lists(
    st.tuples(
        st.integers(1, 3),
        st.sampled_from([Decimal("4.35"), Decimal("12.00"), Decimal("0.10"), Decimal("1.479")]),
        st.sampled_from([None, "vase", "box"]),
        st.sampled_from(["Tea", "Cake"]),
        st.booleans(),  # the line's own label Bulky
    ),
    max_size=3,
)
ORDERS = st.lists(
    st.fixed_dictionaries(
        {
            "customer": st.sampled_from([None, 0, 1, 2]),
            "agent": st.sampled_from([None, 0, 1]),
            "hours": st.sampled_from([-30, -1, 0, 1, 1, 2, 3, 27]),
            "currency": st.sampled_from(["EUR", "EUR", "JPY", "USD"]),
            "status": st.sampled_from(["new", "paid", "cancelled"]),
            "subtotal": st.sampled_from([Decimal("0.00"), Decimal("15.00"), Decimal("60.00")]),
            "labels": st.sets(st.sampled_from(["Rush", "Gift"])),
            "wedding": st.sampled_from([None, date(2027, 6, 12), date(2026, 6, 12)]),
            "lines": LINES,
            # PARTNERX7 is not of the family: the '_' of its prefix is no LIKE wildcard
            "coupons": st.sets(
                st.sampled_from(["SPRING10", "partner_7", "PARTNERX7", "FRIENDS", "FRIENDS2"])
            ),
        }
    ),
    min_size=1,
    max_size=8,
)
CUSTOMERS = st.lists(st.sets(st.sampled_from(["VIP", "Trial"])), min_size=3, max_size=3)


def _store(sessions: Any, customers: list[set[str]], orders: list[dict[str, Any]]) -> None:
    with sessions.begin() as s:
        lb = {
            n: Label(name=n, entity_type=k)
            for n, k in [
                ("VIP", "customer"),
                ("Trial", "customer"),
                ("Senior", "agent"),
                ("Rush", "order"),
                ("Gift", "order"),
                ("Fragile", "item"),
                ("Bulky", "item"),
            ]
        }
        people = [
            Customer(name=f"c{n}", labels=[lb[x] for x in sorted(held)])
            for n, held in enumerate(customers)
        ]
        agents = [Agent(name="Alice", labels=[lb["Senior"]]), Agent(name="Bob")]
        items = {
            "vase": Item(name="Vase", unit_price=Decimal("60.00"), labels=[lb["Fragile"]]),
            "box": Item(name="Box", unit_price=Decimal("0.10"), labels=[lb["Bulky"]]),
        }
        for o in orders:
            lines = [
                OrderItem(
                    item=items[item] if item and o["currency"] == "EUR" else None,
                    description=name,
                    unit_price=price,
                    quantity=quantity,
                    labels=[lb["Bulky"]] if bulky else [],
                )
                for quantity, price, item, name, bulky in o["lines"]
            ]
            s.add(
                Order(
                    customer=people[o["customer"]] if o["customer"] is not None else None,
                    agent=agents[o["agent"]] if o["agent"] is not None else None,
                    created_at=T0 + timedelta(hours=o["hours"]),
                    currency=o["currency"],
                    status=o["status"],
                    subtotal=o["subtotal"],
                    labels=[lb[x] for x in sorted(o["labels"])],
                    wedding_date=o["wedding"],
                    items=lines,
                    coupon_codes=sorted(o["coupons"]),
                )
            )


def _empty(engine: Any) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


def _summary(d: Any) -> tuple[Any, ...]:
    return (
        d.matched,
        tuple((a.rule, a.amount) for a in d.applied),
        tuple((r.rule, r.reason) for r in d.lost),
        d.discount_amount,
        d.total_amount,
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=rule_sets(), customers=CUSTOMERS, orders=ORDERS)
def test_sql_path_agrees_with_the_engine(db, sessions, text, customers, orders) -> None:
    _empty(db)
    rules = rulec.load_text(text, "backtest.rules")
    _store(sessions, customers, orders)
    # the engine's decision of every order, read row by row
    expected: dict[int, Any] = {}
    with sessions() as s:
        for order in s.scalars(select(Order).order_by(Order.id)):
            facts = load_facts(s, order, rules.keys_for(EVENT))
            expected[order.id] = decide(rules, EVENT, facts)
    ref = OrderRef.of(REFERENCE.orders)
    selection = select_orders([rules], EVENT, Period())
    assert not selection.inexact
    with read_only(db) as conn:
        # each rule's predicate: exactly the orders the rule held for
        for rule in rules.rules_of(EVENT):
            p = rule_predicate(rule, REFERENCE, ref)
            assert p.exact
            ids = set(conn.scalars(select(REFERENCE.orders.c.id).where(p.sql)))
            held = {oid for oid, d in expected.items() if rule.name in d.matched}
            assert ids == held, (rule.name, text)
        # the back-test's decisions: the engine's own
        got = {
            order.id: order.decisions[0]
            for page in decide_stored(conn, [rules], EVENT, selection, page=3)
            for order in page
        }
    for oid, d in expected.items():
        if oid in got:
            assert _summary(got[oid]) == _summary(d), (oid, text)
        else:
            assert not d.matched and not d.discount_amount, (oid, text)
