"""The fact catalog (engine/db/facts): one definition per fact, the same on every path.

Every test runs on SQLite and PostgreSQL (the ``sessions`` fixture).

* :class:`TestThreeAccesses`: for every fact with an SQL expression, the
  expression, the batch reader and the single-row reader give the same value
  for the same stored rows (and so does a listing, for the facts it reads).
* :class:`TestOneMeaning`: the three facts the paths used to disagree on,
  each settled by a rule stated in its test's name and held on every path.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, literal, select
from sqlalchemy.orm import selectinload

import rulec
from rulec.engine.db.attach import Engine
from rulec.engine.db.facts.batch import CustomerBatches, OrderBatches, labels_of_many
from rulec.engine.db.facts.binding import REFERENCE
from rulec.engine.db.facts.catalog import ITEM_FACTS, ORDER_FACTS, Batch, holder_sql
from rulec.engine.db.facts.row import load_facts, load_holder_facts
from rulec.engine.db.facts.sql import HolderRef, OrderRef, line_currency
from rulec.engine.db.listing import explain_listing, listing_facts
from rulec.engine.db.scheduled import run_scheduled
from rulec.storage.models import (
    LABEL_LINKS,
    LABEL_TYPES,
    Agent,
    Customer,
    Item,
    Label,
    Order,
    OrderItem,
    Price,
    Professional,
    Service,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LABELS = {
    "VIP": "customer",
    "Trial": "customer",
    "Senior": "agent",
    "Rush": "order",
    "Gift": "order",
    "Fragile": "item",
    "Bulky": "item",
    "Season": "price",
}
#: One label of every type, linked by :func:`link_strays` where it does not belong.
STRAYS = {f"Stray_{kind}": kind for kind in LABEL_TYPES}
#: Every order fact whose value is one SQL scalar (labels and item.all apart).
SCALARS = [k for k, f in ORDER_FACTS.items() if f.batch not in (Batch.LABELS, Batch.ITEMS)]
LABEL_KEYS = [k for k, f in ORDER_FACTS.items() if f.batch is Batch.LABELS]


#: Lines priced finer than the minor unit: quantity, unit price (see SUB_UNIT_TOTALS).
SUB_UNIT_LINES = {
    "EUR": [(3, "1.479"), (1, "0.005"), (1, "0.0049")],
    "JPY": [(3, "33.3"), (2, "10.5"), (1, "0.5")],
    "KWD": [(3, "0.3335"), (7, "0.0001")],
}
#: Their totals, rounded half-up to the minor unit: 4.437 -> 4.44, 0.005 -> 0.01, …
SUB_UNIT_TOTALS = {
    "EUR": ["4.44", "0.01", "0.00"],
    "JPY": ["100", "21", "1"],
    "KWD": ["1.001", "0.001"],
}


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
def shop(sessions) -> dict[str, Any]:
    """A small shop, stored without the engine (so stored subtotals may disagree
    with the lines): orders with and without customer, agent, lines, labels on
    every holder, several orders per customer (two placed at the same instant),
    wedding dates, statuses, currencies."""
    with sessions.begin() as s:
        lb = {name: Label(name=name, entity_type=kind) for name, kind in LABELS.items()}
        ada = Customer(name="Ada", labels=[lb["VIP"]])
        ben = Customer(name="Ben", labels=[lb["VIP"], lb["Trial"]])
        cy = Customer(name="Cy", labels=[lb["Trial"]])  # no order
        dee = Customer(name="Dee")  # no label, one order
        alice = Agent(name="Alice", labels=[lb["Senior"]])
        bob = Agent(name="Bob")
        vase = Item(name="Vase", unit_price=Decimal("60.00"), labels=[lb["Fragile"]])
        box = Item(name="Box", unit_price=Decimal("0.10"), labels=[lb["Fragile"], lb["Bulky"]])

        def line(item=None, **kw):
            return OrderItem(item=item, **kw)

        orders = [
            Order(  # lines (one with its own label), labels, wedding, stored subtotal wrong
                customer=ada,
                agent=alice,
                subtotal=Decimal("999.00"),
                created_at=at(1),
                status="pending",
                labels=[lb["Rush"], lb["Gift"]],
                wedding_date=date(2027, 6, 12),
                items=[
                    line(vase, quantity=2),
                    line(
                        description="Card",
                        unit_price=Decimal("0.10"),
                        quantity=3,
                        labels=[lb["Bulky"]],
                    ),
                    line(box, quantity=7),
                ],
            ),
            Order(
                customer=ada,
                subtotal=Decimal("50.00"),
                created_at=at(2),
                currency="USD",
                coupon_codes=["spring10", "Welcome"],
                shipping_amount=Decimal("4.95"),
            ),
            Order(  # the same instant as the one before: placed after it (larger id)
                customer=ada,
                agent=bob,
                created_at=at(2),
                status="paid",
                items=[line(description="Tea", unit_price=Decimal("4.35"))],
            ),
            Order(customer=ben, subtotal=Decimal("0.00"), created_at=at(-5)),
            Order(
                customer=ada,
                subtotal=Decimal("1999"),
                created_at=at(-1),
                currency="JPY",
                shipping_amount=Decimal("500"),
            ),
            Order(  # no customer
                agent=alice,
                created_at=at(3),
                labels=[lb["Rush"]],
                wedding_date=date(2026, 1, 1),
                items=[line(vase)],
            ),
            Order(subtotal=Decimal("12.34"), created_at=at(4), status="cancelled"),  # nobody
            Order(customer=dee, agent=bob, subtotal=Decimal("3.00"), created_at=at(0)),
            *(  # nobody's, lines whose totals are finer than the minor unit before rounding
                Order(
                    created_at=at(5 + n),
                    currency=currency,
                    items=[
                        line(description="A", unit_price=Decimal(price), quantity=quantity)
                        for quantity, price in sold
                    ],
                )
                for n, (currency, sold) in enumerate(SUB_UNIT_LINES.items())
            ),
        ]
        prices = [
            Price(name="Plain", amount=Decimal("100.00")),
            Price(name="Season", amount=Decimal("200.50"), year=2027, labels=[lb["Season"]]),
        ]
        s.add_all([*orders, cy, *prices])
    return {
        "orders": [o.id for o in orders],
        "customers": [c.id for c in (ada, ben, cy, dee)],
        "prices": [p.id for p in prices],
    }


def member(facts: Any) -> dict[str, Any]:
    return dict(facts)


def normal(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts compared as values (item.all as a list of plain dicts)."""
    out = dict(facts)
    if "item.all" in out:
        out["item.all"] = [member(m) for m in out["item.all"]]
    return out


def by_sql(s, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Every order fact of the orders ``ids`` from its SQL expression alone."""
    b = REFERENCE
    orders = b.orders
    ref = OrderRef.of(orders)
    names = sorted({*LABELS, *STRAYS})
    columns = [ORDER_FACTS[k].sql(b, ref) for k in SCALARS]
    for key in LABEL_KEYS:
        names_of = ORDER_FACTS[key].sql(b, ref)
        columns += [literal(name).in_(names_of) for name in names]
    conn = s.connection()
    found: dict[int, dict[str, Any]] = {}
    for row in conn.execute(select(orders.c.id, *columns).where(orders.c.id.in_(ids))):
        values = list(row[1:])
        facts = {k: ORDER_FACTS[k].decode(values.pop(0)) for k in SCALARS}
        for key in LABEL_KEYS:
            held = [values.pop(0) for _ in names]
            facts[key] = frozenset(n for n, has in zip(names, held, strict=True) if has)
        found[row[0]] = facts
    lines = b.lines
    member_keys = [k for k in ITEM_FACTS if k != "item.labels"]
    currency = line_currency(b, lines)
    line_labels = ITEM_FACTS["item.labels"].sql(b, lines, currency)
    for oid in ids:
        # item.all: the member lines its SQL expression selects, each with the item facts
        members = conn.execute(ORDER_FACTS["item.all"].sql(b, ref).where(orders.c.id == oid)).all()
        rows = conn.execute(
            select(
                *(ITEM_FACTS[k].sql(b, lines, currency) for k in member_keys),
                *(literal(name).in_(line_labels) for name in names),
            )
            .where(lines.c.id.in_([m.id for m in members]))
            .order_by(lines.c.id)
        ).all()
        found[oid]["item.all"] = [
            {
                **{k: ITEM_FACTS[k].decode(v) for k, v in zip(member_keys, r, strict=False)},
                "item.labels": frozenset(
                    n for n, has in zip(names, r[len(member_keys) :], strict=True) if has
                ),
            }
            for r in rows
        ]
    return found


def by_batches(s, size: int) -> dict[int, dict[str, Any]]:
    entities = ("order", "customer", "agent")
    batches = OrderBatches(ORDER_FACTS, entities)
    conn, last, found = s.connection(), 0, {}
    while True:
        page = batches.read(conn, last, size)
        if not page.ids:
            return found
        for row in page.rows:
            found[row.id] = normal(page.facts(row, entities))
        last = page.ids[-1]


def by_rows(sessions, ids: list[int], loaded: bool) -> dict[int, dict[str, Any]]:
    """The one-order reader, on orders loaded alone or with everything around them."""
    found = {}
    with sessions() as s:
        for oid in ids:
            query = select(Order).where(Order.id == oid)
            if loaded:
                query = query.options(
                    selectinload(Order.labels),
                    selectinload(Order.customer).selectinload(Customer.labels),
                    selectinload(Order.agent).selectinload(Agent.labels),
                    selectinload(Order.items).selectinload(OrderItem.labels),
                    selectinload(Order.items)
                    .selectinload(OrderItem.item)
                    .selectinload(Item.labels),
                )
            order = s.execute(query).scalar_one()
            found[oid] = normal(load_facts(s, order, ORDER_FACTS))
    return found


class TestThreeAccesses:
    def test_every_order_fact_agrees_on_every_order(self, sessions, shop):
        ids = shop["orders"]
        with sessions() as s:
            sql = by_sql(s, ids)
            assert set(sql[ids[0]]) == set(ORDER_FACTS)
            for size in (1, 3, 100):
                assert by_batches(s, size) == sql, size
        assert by_rows(sessions, ids, loaded=False) == sql
        assert by_rows(sessions, ids, loaded=True) == sql

    def test_the_data_set_is_varied(self, sessions, shop):
        with sessions() as s:
            facts = by_sql(s, shop["orders"])

        def seen(key: str) -> set[str]:
            return {repr(f[key]) for f in facts.values()}

        assert seen("customer.order_count") >= {"None", "0", "1", "2", "3"}
        assert seen("customer.absent") == seen("agent.absent") == {"True", "False"}
        assert {len(f["item.all"]) for f in facts.values()} >= {0, 1, 3}
        assert {n for f in facts.values() for n in f["order.labels"]} == {"Rush", "Gift"}
        assert seen("order.coupons") == {"frozenset()", "frozenset({'SPRING10', 'WELCOME'})"} or (
            seen("order.coupons") == {"frozenset()", "frozenset({'WELCOME', 'SPRING10'})"}
        )
        assert len(seen("order.status")) == 4 and len(seen("order.wedding_year")) == 3
        assert {f["order.shipping"] for f in facts.values()} == {
            Decimal(0),
            Decimal("4.95"),
            Decimal(500),
        }
        first = facts[shop["orders"][0]]  # its stored subtotal says 999.00
        assert first["order.subtotal"] == Decimal("120.00") + Decimal("0.30") + Decimal("0.70")
        assert [m["item.labels"] for m in first["item.all"]] == [
            {"Fragile"},
            {"Bulky"},
            {"Fragile", "Bulky"},
        ]

    def test_a_listing_reads_the_order_facts_the_same(self, sessions, shop):
        rules = rulec.load_text(  # reads every order fact a listing gives
            "label Rush for order\n"
            "on price_listed when order subtotal > 0 or order currency is EUR"
            " or order created >= 2020-01-01 or order status is new or order item count > 0"
            " or order line count > 0 or order wedding date >= 2020-01-01"
            " or order wedding year = 2027 or order placed by customer is true"
            " or order created by agent is true or customer order count = 0"
            " or order has label Rush or order has coupon SPRING10 or order shipping > 0"
            " then hide price\n",
            "l.rules",
        )
        keys = [k for k in ORDER_FACTS if k.startswith("order.") and k != "item.all"]
        keys.append("customer.order_count")
        with sessions() as s:
            expected = by_sql(s, shop["orders"])
            for oid in shop["orders"]:
                order = s.get(Order, oid)
                shared, _ = listing_facts(
                    s, rules, "price_listed", [], viewer={}, customer=order.customer, order=order
                )
                want = {k: v for k, v in expected[oid].items() if k in keys}
                if order.customer is None:
                    del want["customer.order_count"]  # the listing has no customer
                assert {k: shared[k] for k in want} == want

    def test_customer_facts_agree(self, sessions, shop):
        keys = ["customer.labels", "customer.order_count"]
        b = REFERENCE
        customers = b.customers
        ref = HolderRef.of("customer", customers)
        with sessions() as s:
            conn = s.connection()
            sql = {}
            names = sorted(LABELS)
            for row in conn.execute(
                select(
                    customers.c.id,
                    holder_sql(b, "customer.order_count", ref),
                    *(literal(n).in_(holder_sql(b, "customer.labels", ref)) for n in names),
                )
            ):
                has = row[2:]
                sql[row[0]] = {
                    "customer.order_count": int(row[1]),
                    "customer.labels": frozenset(n for n, h in zip(names, has, strict=True) if h),
                }
            assert [sql[c]["customer.order_count"] for c in shop["customers"]] == [4, 1, 0, 1]
            for size in (1, 3):
                batches, last, found = CustomerBatches(keys, ("customer",)), 0, {}
                while page := batches.read(conn, last, size):
                    if not page.ids:
                        break
                    found.update({r.id: dict(page.facts(r, ("customer",))) for r in page.rows})
                    last = page.ids[-1]
                assert found == sql
        with sessions() as s:
            rows = {
                c: dict(load_holder_facts(s, "customer", s.get(Customer, c), keys)) for c in sql
            }
        assert rows == sql

    def test_holder_fields_and_labels_agree(self, sessions, shop):
        keys = ["price.amount", "price.year", "price.name", "price.currency", "price.labels"]
        rules = rulec.load_text(
            "label Season for price\n"
            "on price_listed when price has label Season and price amount > 0"
            ' and price year = 2027 and price name is "x" and price currency is EUR'
            " then hide price\n",
            "p.rules",
        )
        b = REFERENCE
        prices = b.table(Price)
        ref = HolderRef.of("price", prices)
        with sessions() as s:
            columns = [holder_sql(b, k, ref) for k in keys[:-1]]
            has = literal("Season").in_(holder_sql(b, "price.labels", ref))
            sql = {
                r[0]: {
                    **dict(zip(keys[:-1], r[1:-1], strict=True)),
                    "price.labels": frozenset({"Season"} if r[-1] else ()),
                }
                for r in s.connection().execute(select(prices.c.id, *columns, has))
            }
            candidates = [s.get(Price, p) for p in shop["prices"]]
            _, own = listing_facts(s, rules, "price_listed", candidates, viewer={})
            batch = {p.id: {k: f[k] for k in keys} for p, f in zip(candidates, own, strict=True)}
        with sessions() as s:
            row = {p: dict(load_holder_facts(s, "price", s.get(Price, p), keys)) for p in sql}
        assert batch == row == sql


# ---------------------------------------------------------------- meanings --


COUNT_RULES = "".join(
    f'rule "count {n}" on order_created when customer order count = {n} '
    f'then discount {n + 1}% "count {n}" end\n'
    for n in range(5)
)


class TestOneMeaning:
    def test_customer_order_count_is_the_orders_placed_before_this_one_on_every_path(
        self, sessions
    ):
        """The orders the customer placed before this one (earlier creation instant;
        at the same instant, a smaller id); for a customer alone, all their orders."""
        with sessions.begin() as s:
            ada = Customer(name="Ada")
            orders = [
                Order(customer=ada, subtotal=Decimal(10), created_at=at(h)) for h in (5, 1, 3)
            ]
            s.add_all(orders)
        placed = {orders[1].id: 0, orders[2].id: 1, orders[0].id: 2}  # by creation instant

        engine = Engine(rulec.load_text(COUNT_RULES, "c.rules"))
        with sessions() as s:  # one order, as Engine.fire reads it (stored: order_updated)
            got = {
                oid: engine.evaluate("order_updated", s.get(Order, oid), s).discount_description
                for oid in placed
            }
        assert got == {oid: f"count {n}" for oid, n in placed.items()}

        counts = ", ".join(f"Count{n}" for n in range(4))
        has = ", ".join(f"Has{n}" for n in range(4))
        daily = rulec.load_text(
            f"label {counts} for order\nlabel {has} for customer\n"
            + "".join(
                f"on daily for order when customer order count = {n} then add label Count{n}"
                f" to order\non daily for customer when customer order count = {n}"
                f" then add label Has{n} to customer\n"
                for n in range(4)
            ),
            "d.rules",
        )
        run_scheduled(sessions, daily, "daily", period="2026-11-26", batch_size=2)
        with sessions() as s:
            assert {o.id: [x.name for x in o.labels] for o in s.scalars(select(Order))} == {
                oid: [f"Count{n}"] for oid, n in placed.items()
            }
            assert [x.name for x in s.get(Customer, ada.id).labels] == ["Has3"]  # all 3

        listing = rulec.load_text(
            "".join(
                f'rule "count {n}" on price_listed when customer order count = {n}'
                " then hide price end\n"
                for n in range(4)
            ),
            "l.rules",
        )
        with sessions() as s:
            customer = s.get(Customer, ada.id)
            plain = [Price(name="Plain", amount=Decimal(1))]

            def rule(order: Order | None) -> str | None:
                [(_, verdict)] = explain_listing(
                    s, listing, "price_listed", plain, viewer={}, customer=customer, order=order
                )
                return verdict.rule

            assert {oid: rule(s.get(Order, oid)) for oid in placed} == {
                oid: f"count {n}" for oid, n in placed.items()
            }
            assert rule(None) == "count 3"  # no order: all their orders

    def test_orders_of_one_flush_count_those_decided_before_them(self, sessions):
        engine = Engine(rulec.load_text(COUNT_RULES, "c.rules"))
        engine.attach(sessions)
        with sessions.begin() as s:
            ada = Customer(name="Ada")
            s.add(Order(customer=ada, subtotal=Decimal("10.00")))
        with sessions.begin() as s:
            ada = s.get(Customer, ada.id)
            s.add_all([Order(customer=ada, subtotal=Decimal("10.00")) for _ in range(2)])
        with sessions() as s:
            decided = [o.discount_description for o in s.scalars(select(Order).order_by(Order.id))]
        assert decided == ["count 0", "count 1", "count 2"]
        engine.detach(sessions)
        # and a stored order decided again counts the same orders as when it was placed
        with sessions.begin() as s:
            first = s.scalars(select(Order).order_by(Order.id)).first()
            assert engine.evaluate("order_updated", first, s).discount_description == "count 0"

    def test_a_line_costs_its_quantity_times_its_price_rounded_half_up_on_every_path(
        self, sessions, shop
    ):
        """Issue 13, bug 4: a line's total is paid, so it is in the currency's minor
        unit (its unit price may be finer); the order's subtotal adds those up."""
        ids = shop["orders"][-len(SUB_UNIT_LINES) :]
        with sessions() as s:
            paths = [by_sql(s, ids), {k: v for k, v in by_batches(s, 2).items() if k in ids}]
        paths += [by_rows(sessions, ids, loaded=False), by_rows(sessions, ids, loaded=True)]
        for facts in paths:
            for oid, currency in zip(ids, SUB_UNIT_LINES, strict=True):
                totals = [m["item.line_total"] for m in facts[oid]["item.all"]]
                want = [Decimal(t) for t in SUB_UNIT_TOTALS[currency]]
                assert totals == want
                assert facts[oid]["order.subtotal"] == sum(want)

    def test_an_order_made_of_lines_costs_what_its_lines_cost_on_every_path(self, sessions):
        """Whatever subtotal is stored on it (a backend wrote it without the engine);
        an order without lines costs its stored subtotal."""
        with sessions.begin() as s:  # no engine attached: the stored subtotals stay
            lines = Order(
                subtotal=Decimal("999.00"),
                items=[OrderItem(description="Tea", unit_price=Decimal("4.35"), quantity=2)],
            )
            plain = Order(subtotal=Decimal("999.00"))
            s.add_all([lines, plain])
        want = {lines.id: Decimal("8.70"), plain.id: Decimal("999.00")}

        engine = Engine(rulec.load_text('on order_created then discount 10% "Ten"\n', "t.rules"))
        with sessions() as s:
            got = {o: engine.evaluate("order_updated", s.get(Order, o), s).subtotal for o in want}
        assert got == want

        daily = rulec.load_text(
            "label Big for order\n"
            "on daily for order when order subtotal > 500.00 then add label Big to order\n",
            "d.rules",
        )
        run_scheduled(sessions, daily, "daily", period="2026-11-26")
        with sessions() as s:
            big = {o.id for o in s.scalars(select(Order)) if o.labels}
        assert big == {plain.id}

        listing = rulec.load_text(
            'rule "small" on price_listed when order subtotal < 500.00 then hide price end\n',
            "l.rules",
        )
        with sessions() as s:
            shown = {
                o: explain_listing(
                    s,
                    listing,
                    "price_listed",
                    [Price(name="P", amount=Decimal(1))],
                    viewer={},
                    order=s.get(Order, o),
                )[0][1].shown
                for o in want
            }
        assert shown == {lines.id: False, plain.id: True}

    def test_an_orders_creation_instant_is_its_own_or_now_when_new_on_every_path(self, sessions):
        """A stored order's is its created_at; a new order without one is created now."""
        rules = rulec.load_text(
            'rule "recent" on price_listed when order created >= 2021-01-01 then hide price end\n'
            'rule "recent order" on order_created when order created >= 2021-01-01'
            ' then discount 5% "recent" end\n',
            "n.rules",
        )
        with sessions.begin() as s:
            old = Order(subtotal=Decimal("1.00"), created_at=datetime(2020, 5, 1, tzinfo=UTC))
            s.add(old)
        engine = Engine(rules)
        with sessions() as s:
            stored = s.get(Order, old.id)
            new = Order(subtotal=Decimal("1.00"))  # not stored, no creation instant yet
            s.add(new)
            for order, recent in ((new, True), (stored, False)):
                [(_, verdict)] = explain_listing(
                    s,
                    rules,
                    "price_listed",
                    [Price(name="P", amount=Decimal(1))],
                    viewer={},
                    order=order,
                )
                assert (verdict.rule == "recent") is recent
                decision = engine.evaluate("order_created", order, s)
                assert (decision.discount_description == "recent") is recent
            assert new.id is None  # nothing was flushed


# ------------------------------------------------------------ label types --


#: The entity type of the labels each holder carries (an order line: its item's).
CARRIES = {holder: "item" if holder == "order_item" else holder for holder in LABEL_LINKS}


def link_strays(sessions) -> int:
    """Link every label of :data:`STRAYS` to every holder row that carries labels of
    another type, with Core (as an import or a backend's own SQL could; the ORM
    refuses): returns how many links were written."""
    with sessions.begin() as s:
        strays = {name: Label(name=name, entity_type=kind) for name, kind in STRAYS.items()}
        s.add_all(strays.values())
        s.flush()
        written = 0
        for holder, link in LABEL_LINKS.items():
            holders = REFERENCE.table(REFERENCE.holders[holder])
            ids = s.execute(select(holders.c.id)).scalars().all()
            assert ids, f"no {holder}: the test proves nothing for it"
            rows = [
                {f"{holder}_id": i, "label_id": label.id}
                for label in strays.values()
                if label.entity_type != CARRIES[holder]
                for i in ids
            ]
            s.execute(link.insert(), rows)
            written += len(rows)
        return written


LISTING = rulec.load_text(
    "label Season for price\nlabel VIP for customer\nlabel Senior for agent\n"
    "label Rush for order\n"
    "on price_listed when price has label Season or customer has label VIP"
    " or agent has label Senior or order has label Rush then hide price\n",
    "l.rules",
)


def every_label_fact(sessions, shop) -> dict[str, Any]:
    """The label facts of the shop on every path: each order's (SQL, batches, one
    order queried and loaded), each holder's alone (SQL, one row queried and loaded,
    a batch of customers, ``labels_of_many``), and a listing's (queried and loaded)."""
    ids = shop["orders"]
    got: dict[str, Any] = {}
    with sessions() as s:
        got["sql"] = by_sql(s, ids)
        for size in (1, 100):
            got[f"batches of {size}"] = by_batches(s, size)
    got["row"] = by_rows(sessions, ids, loaded=False)
    got["row, loaded"] = by_rows(sessions, ids, loaded=True)
    names = sorted({*LABELS, *STRAYS})
    for loaded in (False, True):
        with sessions() as s:
            holders: dict[str, Any] = {}
            for holder, cls in REFERENCE.holders.items():
                query = select(cls).order_by(cls.id)
                if loaded:
                    query = query.options(selectinload(cls.labels))
                key = f"{holder}.labels"
                for row in s.scalars(query):
                    holders[f"{holder} {row.id}"] = load_holder_facts(s, holder, row, [key])[key]
            got[f"holders{', loaded' if loaded else ''}"] = holders
            prices = s.scalars(select(Price).order_by(Price.id)).all()
            listings = {}
            for oid in ids:
                order = s.get(Order, oid)
                shared, own = listing_facts(
                    s,
                    LISTING,
                    "price_listed",
                    prices,
                    viewer={},
                    customer=order.customer,
                    agent=order.agent,
                    order=order,
                )
                listings[oid] = (
                    {k: v for k, v in shared.items() if k.endswith(".labels")},
                    [f["price.labels"] for f in own],
                )
            got[f"listings{', loaded' if loaded else ''}"] = listings
    with sessions() as s:
        conn = s.connection()
        by_holder_sql: dict[str, Any] = {}
        wanted = []
        for holder, cls in REFERENCE.holders.items():
            table = REFERENCE.table(cls)
            ref = HolderRef.of(holder, table)
            has = [literal(n).in_(label_names_sql(holder, ref)) for n in names]
            for row in conn.execute(select(table.c.id, *has).order_by(table.c.id)):
                by_holder_sql[f"{holder} {row[0]}"] = frozenset(
                    n for n, h in zip(names, row[1:], strict=True) if h
                )
            wanted.append((holder, list(conn.execute(select(table.c.id)).scalars())))
        got["holders, sql"] = by_holder_sql
        many = labels_of_many(conn, wanted, chunk=3)
        got["labels_of_many"] = {
            f"{holder} {i}": frozenset(found.get(i, ()))
            for (holder, ids_), found in zip(wanted, many, strict=True)
            for i in ids_
        }
        customers, last = CustomerBatches(["customer.labels"], ("customer",)), 0
        batch: dict[int, Any] = {}
        while (page := customers.read(conn, last, 2)).ids:
            batch.update({r.id: page.facts(r, ("customer",))["customer.labels"] for r in page.rows})
            last = page.ids[-1]
        got["customer batches"] = batch
    return got


def strays_in(facts: Any, where: str = "") -> list[str]:
    """Where a stray label shows up in ``facts`` (nested dicts, lists and sets)."""
    if isinstance(facts, dict):
        return [x for k, v in facts.items() for x in strays_in(v, f"{where}/{k}")]
    if isinstance(facts, (list, tuple)):
        return [x for n, v in enumerate(facts) for x in strays_in(v, f"{where}[{n}]")]
    if isinstance(facts, frozenset | set):
        return [f"{where}: {n}" for n in sorted(facts & set(STRAYS))]
    return []


def label_names_sql(holder: str, ref: HolderRef) -> Any:
    if holder == "order_item":  # not a holder alone in the catalog: its own labels
        from rulec.engine.db.facts.sql import label_names

        return label_names(REFERENCE, holder, ref.row.c.id)
    return holder_sql(REFERENCE, f"{holder}.labels", ref)


class TestLabelTypes:
    """Issue 13, bug 1: a label counts only for the entities of its type, on every path,
    even when a link to another kind of holder was written without the ORM."""

    def test_links_to_holders_of_another_type_change_no_fact_on_any_path(self, sessions, shop):
        with sessions.begin() as s:  # the holders link_strays adds, without labels
            s.add_all([Professional(name="Studio"), Service(name="Photography")])
        before = every_label_fact(sessions, shop)
        seen = {n for f in before["holders"].values() for n in f}
        assert seen == set(LABELS)  # every label of the shop, and no stray yet
        held = {key.split()[0] for key in before["holders"]}
        assert held == set(LABEL_LINKS)  # a row of every kind of holder
        assert before["holders, loaded"] == before["labels_of_many"] == before["holders"]
        assert before["holders, sql"] == before["holders"]

        written = link_strays(sessions)
        with sessions() as s:
            link_rows = sum(
                s.scalar(select(func.count()).select_from(link)) for link in LABEL_LINKS.values()
            )
        assert written >= 6 * len(LABEL_LINKS) and link_rows > written

        after = every_label_fact(sessions, shop)
        assert after.keys() == before.keys()
        for path, facts in after.items():
            assert strays_in(facts) == [], path
            assert facts == before[path], path
