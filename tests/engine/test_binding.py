"""The engine on a backend's own models (issue 22): every behaviour here runs on
the reference models and on a foreign schema (tests/engine/conftest.py: other
table and column names, a UUID key, labels as a tags table), on SQLite and
PostgreSQL."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from sqlalchemy import func, select

import rulec
from rulec.engine.db.attach import Engine
from rulec.engine.db.basket import basket
from rulec.engine.db.facts.binding import REFERENCE, BindingError
from rulec.engine.db.facts.catalog import ORDER_FACTS
from rulec.engine.db.facts.row import load_facts
from rulec.engine.db.facts.sql import OrderRef
from rulec.engine.db.listing import list_visible
from rulec.engine.db.runs import RunStatus
from rulec.engine.db.scheduled import run_scheduled
from rulec.storage.owned import RuleAudit

RULES = """\
label Customer_VIP, Welcomed for customer
label Rush for order

on order_created when customer has label Customer_VIP then discount 10% "VIP"
on order_updated when customer has label Customer_VIP then discount 10% "VIP"
on order_created when order has label Rush then set order status to confirmed
on customer_labeled when label is Customer_VIP then add label Welcomed to customer
"""


@pytest.fixture
def engine(shop):
    e = Engine(rulec.load_text(RULES, "rules/shop.rules"), binding=shop.binding)
    e.attach(shop.sessions)
    yield e
    e.detach(shop.sessions)


def _vip_order(shop, lines=(("Cake", 2, "30.00"), ("Flowers", 1, "60.00"))):
    with shop.sessions.begin() as s:
        ada = shop.customer(s, "Ada", ["Customer_VIP"])
        o = shop.order(s, ada, lines)
    return shop.key(o)


class TestAttachOnFlush:
    def test_a_new_order_is_decided_in_its_flush(self, shop, engine):
        key = _vip_order(shop)
        with shop.sessions() as s:
            o = shop.get(s, key)
            assert shop.subtotal(o) == Decimal("120.00")
            assert shop.figures(o) == (
                Decimal("10"),
                Decimal("12.00"),
                "VIP",
                Decimal("108.00"),
            )
            assert o.rule_set_version == engine.rules.version
            assert sorted(shop.share(line) for line in shop.lines(o)) == [
                Decimal("6.00"),
                Decimal("6.00"),
            ]

    def test_the_audit_rows_are_written_with_the_order(self, shop, engine):
        key = _vip_order(shop)
        with shop.sessions() as s:
            [row] = shop.audit(s, shop.get(s, key))
        assert (row["rule_name"], row["rule_file"], row["rule_line"]) == (
            "shop.rules:4",
            "rules/shop.rules",
            4,
        )
        assert (row["kind"], row["percentage"], row["amount"], row["description"]) == (
            "percentage",
            Decimal("10"),
            Decimal("12.00"),
            "VIP",
        )

    def test_no_customer_no_discount_no_audit_row(self, shop, engine):
        with shop.sessions.begin() as s:
            o = shop.order(s, None, (), subtotal="50.00")
        with shop.sessions() as s:
            o = shop.get(s, shop.key(o))
            assert shop.figures(o) == (None, Decimal("0.00"), None, Decimal("50.00"))
            assert shop.audit(s, o) == []

    def test_a_rolled_back_order_leaves_nothing(self, shop, engine):
        with shop.sessions() as s:
            ada = shop.customer(s, "Ada", ["Customer_VIP"])
            shop.order(s, ada, (("Cake", 1, "10.00"),))
            s.flush()
            s.rollback()
        with shop.sessions() as s:
            assert s.scalar(select(func.count()).select_from(shop.binding.order)) == 0
            if shop.name == "foreign":
                assert s.scalar(select(func.count()).select_from(RuleAudit)) == 0

    def test_the_order_and_its_audit_row_are_in_the_callers_transaction(self, shop, engine):
        with shop.sessions() as s:
            ada = shop.customer(s, "Ada", ["Customer_VIP"])
            o = shop.order(s, ada, (("Cake", 1, "10.00"),))
            s.flush()  # the engine has written; nothing is committed
            assert [r["amount"] for r in shop.audit(s, o)] == [Decimal("1.00")]
            s.commit()
        with shop.sessions() as s:
            assert [r["amount"] for r in shop.audit(s, shop.get(s, shop.key(o)))] == [
                Decimal("1.00")
            ]


class TestRecompute:
    def test_deciding_again_the_same_way_changes_no_row(self, shop, engine):
        key = _vip_order(shop)
        with shop.sessions.begin() as s:
            before = shop.audit_ids(s, shop.get(s, key))
            o = shop.get(s, key)
            engine.fire("order_updated", o, s)
        with shop.sessions() as s:
            assert shop.audit_ids(s, shop.get(s, key)) == before
            assert len(before) == 1

    def test_a_changed_line_decides_the_order_again(self, shop, engine):
        key = _vip_order(shop)
        with shop.sessions.begin() as s:
            o = shop.get(s, key)
            cake = next(line for line in shop.lines(o) if shop.share(line) is not None)
            shop.set_quantity(cake, 4)  # 4 x 30.00 + 60.00
        with shop.sessions() as s:
            o = shop.get(s, key)
            assert shop.subtotal(o) == Decimal("180.00")
            assert shop.figures(o)[1:] == (Decimal("18.00"), "VIP", Decimal("162.00"))
            assert [r["amount"] for r in shop.audit(s, o)] == [Decimal("18.00")]

    def test_a_flush_without_changes_decides_nothing(self, shop, engine):
        key = _vip_order(shop)
        seen = []
        engine.add_listener(lambda order, facts, decision: seen.append(decision.event))
        with shop.sessions.begin() as s:
            o = shop.get(s, key)
            shop.lines(o)
            s.flush()
        assert seen == []


class TestEffects:
    def test_a_rule_sets_the_status_with_its_history(self, shop, engine):
        with shop.sessions.begin() as s:
            o = shop.order(s, None, (), subtotal="10.00")
            shop.tag(s, o, "Rush", "order")
        with shop.sessions() as s:
            o = shop.get(s, shop.key(o))
            assert shop.status(o) == "confirmed"
            assert shop.status_history(s, o) == [("new", "confirmed")]

    def test_a_label_event_runs_its_rules_on_the_holder(self, shop, engine):
        with shop.sessions.begin() as s:
            ben = shop.customer(s, "Ben")
        with shop.sessions.begin() as s:
            ben = s.merge(ben)
            shop.tag(s, ben, "Customer_VIP", "customer")
        with shop.sessions() as s:
            ben = s.merge(ben)
            assert shop.labels(s, ben) == {"Customer_VIP", "Welcomed"}

    def test_a_label_the_rule_added_is_read_by_the_next_order(self, shop, engine):
        with shop.sessions.begin() as s:
            ben = shop.customer(s, "Ben")
        with shop.sessions.begin() as s:
            ben = s.merge(ben)
            shop.tag(s, ben, "Customer_VIP", "customer")
        with shop.sessions.begin() as s:
            o = shop.order(s, s.merge(ben), (("Cake", 1, "50.00"),))
        with shop.sessions() as s:
            assert shop.figures(shop.get(s, shop.key(o)))[1] == Decimal("5.00")


class TestRuleErrors:
    def test_a_failing_rule_is_recorded_against_the_order(self, shop):
        rs = rulec.load_text(
            'rule "boom" on order_created then discount 50% "boom" end\n', "rules/bad.rules"
        )

        def explode(_facts):
            raise ZeroDivisionError("division by zero")

        rules = [attrs.evolve(r, test=explode) for r in rs.rules]
        e = Engine(
            rulec.RuleSet.build(rules, rs.version, rs.modules, rulec.DEFAULT_VOCABULARY),
            binding=shop.binding,
        )
        e.attach(shop.sessions)
        try:
            with shop.sessions.begin() as s:
                o = shop.order(s, None, (), subtotal="10.00")
            with shop.sessions() as s:
                o = shop.get(s, shop.key(o))
                assert shop.errors(s, o) == ["boom"]
                assert shop.figures(o)[1] == Decimal("0.00")  # kept, undiscounted
            with shop.sessions.begin() as s:  # a stored order keeps its errors' history
                shop.set_field(shop.get(s, shop.key(o)), "subtotal", Decimal("20.00"))
        finally:
            e.detach(shop.sessions)
        with shop.sessions() as s:
            assert shop.errors(s, shop.get(s, shop.key(o))) == ["boom", "boom"]


class TestCheckAtStartUp:
    def test_a_field_the_rules_read_and_the_binding_lacks_is_named(self, shop):
        rules = rulec.load_text(
            'on order_created when order wedding year is 2027 then discount 5% "Wed"\n', "w.rules"
        )
        if shop.name == "reference":
            Engine(rules, binding=shop.binding)  # the reference models have it
            return
        with pytest.raises(BindingError, match=r"order.wedding_year: Purchase has no attribute"):
            Engine(rules, binding=shop.binding)

    def test_an_entity_the_binding_lacks_is_named(self, shop):
        rules = rulec.load_text(
            'on order_created when agent name is "Zoe" then discount 5% "Zoe"\n', "a.rules"
        )
        if shop.name == "reference":
            Engine(rules, binding=shop.binding)
            return
        with pytest.raises(
            BindingError, match=r"agent.name: .*maps no class to the entity 'agent'"
        ):
            Engine(rules, binding=shop.binding)

    def test_a_reload_that_reads_an_unmapped_field_keeps_the_old_rules(self, shop, tmp_path):
        path = tmp_path / "r.rules"
        path.write_text('on order_created when order subtotal > 0 then discount 5% "Five"\n')
        e = Engine.from_paths([path], binding=shop.binding)
        old = e.rules
        path.write_text('on order_created when order wedding year is 2027 then discount 5% "Wed"\n')
        assert e.reload() is (shop.name == "reference")
        assert (e.rules is old) is (shop.name == "foreign")


class TestProjectVocabulary:
    def test_a_field_of_the_projects_vocabulary_is_read_from_its_attribute(
        self, shop, tmp_path: Path
    ):
        (tmp_path / "rulec.toml").write_text(
            'extends = "default"\n\n[entities.order.fields.channel]\ntype = "string"\n'
        )
        rules = tmp_path / "rules"
        rules.mkdir()
        (rules / "web.rules").write_text(
            'on order_created when order channel is "web" then discount 5% "Web"\n'
        )
        if shop.name == "reference":  # the reference models have no channel
            with pytest.raises(BindingError, match=r"order.channel: Order has no attribute"):
                Engine.from_paths([rules], binding=shop.binding)
            return
        e = Engine.from_paths([rules], binding=shop.binding)
        e.attach(shop.sessions)
        try:
            with shop.sessions.begin() as s:
                web = shop.order(s, None, (), subtotal="20.00", channel="web")
                store = shop.order(s, None, (), subtotal="20.00", channel="shop")
        finally:
            e.detach(shop.sessions)
        with shop.sessions() as s:
            assert shop.figures(shop.get(s, shop.key(web)))[1] == Decimal("1.00")
            assert shop.figures(shop.get(s, shop.key(store)))[1] == Decimal("0.00")


def test_rulecs_rows_are_keyed_by_the_orders_own_key(shop, engine):
    key = _vip_order(shop)
    with shop.sessions() as s:
        if shop.name == "foreign":
            assert isinstance(key, uuid.UUID)
            assert s.scalars(select(RuleAudit.order_key)).all() == [str(key)]
        else:
            assert isinstance(key, int)
            assert s.scalar(select(func.count()).select_from(RuleAudit)) == 0


class TestBasket:
    def test_the_basket_shows_the_stored_decision_and_its_audit_rows(self, shop, engine):
        key = _vip_order(shop)
        with shop.sessions() as s:
            b = basket(shop.get(s, key), binding=shop.binding)
        assert (b.order_id, b.source, b.pending) == (key, "stored", False)
        assert (b.subtotal, b.discount_amount, b.total_amount) == (
            Decimal("120.00"),
            Decimal("12.00"),
            Decimal("108.00"),
        )
        assert [(d.description, d.amount, d.percentage_text) for d in b.applied] == [
            ("VIP", Decimal("12.00"), "10%")
        ]
        assert sorted((line.description, line.discount_amount) for line in b.lines) == [
            ("Cake", Decimal("6.00")),
            ("Flowers", Decimal("6.00")),
        ]
        assert b.lines_discount_total == b.discount_amount

    def test_a_changed_order_shows_a_fresh_decision_with_the_engine(self, shop, engine):
        key = _vip_order(shop)
        with shop.sessions() as s:
            o = shop.get(s, key)
            [cake] = [line for line in shop.lines(o) if shop.unit_price(line) == Decimal("30")]
            shop.set_quantity(cake, 4)  # 4 x 30.00 + 60.00
            stored = basket(o, binding=shop.binding)
            fresh = basket(o, engine)
            s.rollback()
        assert (stored.source, stored.pending, stored.total_amount) == (
            "stored",
            True,
            Decimal("108.00"),
        )
        assert (fresh.source, fresh.subtotal, fresh.total_amount) == (
            "fresh",
            Decimal("180.00"),
            Decimal("162.00"),
        )


LISTING = """\
label Season_2026 for price

on price_listed when price has label Season_2026 and viewer wedding year != 2026 then hide price
"""


class TestListing:
    def test_a_listing_reads_the_candidates_labels_through_the_binding(self, shop):
        rules = rulec.load_text(LISTING, "listings.rules")
        with shop.sessions.begin() as s:
            shop.price(s, "Always")
            shop.price(s, "Season", ["Season_2026"])
        with shop.sessions() as s:
            prices = list(s.scalars(select(shop.binding.holders["price"])))
            for year, shown in ((2026, {"Always", "Season"}), (2027, {"Always"})):
                visible = list_visible(
                    s,
                    rules,
                    "price_listed",
                    prices,
                    viewer={"is_agent": False, "wedding_year": year},
                    binding=shop.binding,
                )
                assert {shop.price_name(p) for p in visible} == shown

    def test_the_order_and_customer_of_a_listing_are_read_through_the_binding(self, shop, engine):
        rules = rulec.load_text(
            "label Season_2026 for price\nlabel Customer_VIP for customer\n"
            "on price_listed when price has label Season_2026 "
            "and not customer has label Customer_VIP and order subtotal < 100 then hide price\n",
            "listings.rules",
        )
        key = _vip_order(shop)  # Ada, a VIP, 120.00
        with shop.sessions.begin() as s:
            shop.price(s, "Season", ["Season_2026"])
            ben = shop.customer(s, "Ben")
            small = shop.order(s, ben, (("Cake", 1, "10.00"),))
        with shop.sessions() as s:
            prices = list(s.scalars(select(shop.binding.holders["price"])))
            seen = {}
            for name, order_key in (("ada", key), ("ben", shop.key(small))):
                o = shop.get(s, order_key)
                customer = shop.binding.o.get(o, "customer")
                seen[name] = list_visible(
                    s,
                    rules,
                    "price_listed",
                    prices,
                    viewer={"is_agent": False, "wedding_year": 2026},
                    customer=customer,
                    order=o,
                    binding=shop.binding,
                )
        assert [shop.price_name(p) for p in seen["ada"]] == ["Season"]
        assert seen["ben"] == []


#: The facts a backend without agents, wedding dates or catalog items can read.
SHOP_FACTS = (
    "order.subtotal",
    "order.currency",
    "order.created_at",
    "order.status",
    "order.placed_by_customer",
    "customer.absent",
    "order.line_count",
    "order.item_count",
    "customer.order_count",
    "order.labels",
    "customer.labels",
)


def test_the_sql_expressions_give_what_the_one_order_reader_gives(shop, engine):
    """The catalog's SQL over the binding's tables (other names, UUID keys, tags)
    equals the one-order reader, fact by fact, for every order."""
    _vip_order(shop)
    with shop.sessions.begin() as s:
        ben = shop.customer(s, "Ben", ["Other"])
        shop.order(s, ben, (("Tea", 3, "1.479"),), status="paid")
        shop.tag(s, shop.order(s, None, (), subtotal="7.50"), "Rush", "order")
    b = shop.binding
    orders = b.orders
    ref = OrderRef.of(orders)
    scalar = [k for k in SHOP_FACTS if not k.endswith(".labels")]
    query = select(orders.c.id, *(ORDER_FACTS[k].sql(b, ref) for k in scalar))
    with shop.sessions() as s:
        rows = s.execute(query).all()
        assert len(rows) == 3
        for key, *values in rows:
            expected = load_facts(s, shop.get(s, key), SHOP_FACTS, binding=b)
            got = {k: ORDER_FACTS[k].decode(v) for k, v in zip(scalar, values, strict=True)}
            for label_key in ("order.labels", "customer.labels"):  # correlated to the order
                names = ORDER_FACTS[label_key].sql(b, ref).where(orders.c.id == key)
                got[label_key] = frozenset(s.scalars(names))
            assert got == {k: expected[k] for k in SHOP_FACTS}, key


def test_the_shipped_rules_read_nothing_the_reference_models_lack():
    Engine.from_paths([rulec.shipped_rules()])  # raises BindingError otherwise
    assert REFERENCE.missing(["order.absent", "price.labels", "viewer.is_agent"]) == []
    assert REFERENCE.missing(["order.channel"]) == [("order.channel", "order", "channel")]


SCHEDULED = """\
label Trial, Loyal for customer
label Abandoned for order

on daily for customer when customer has label Trial and customer order count >= 3
  then remove label Trial from customer, add label Loyal to customer
on monthly for order when order status is new and order has label Abandoned
  then set order status to cancelled
"""


class TestScheduledRuns:
    def test_daily_and_monthly_runs_change_the_backends_rows(self, shop, engine):
        rules = rulec.load_text(SCHEDULED, "scheduled.rules")
        with shop.sessions.begin() as s:
            ada = shop.customer(s, "Ada", ["Trial"])
            ben = shop.customer(s, "Ben", ["Trial"])
            for n in range(3):
                shop.order(s, ada, (("Cake", 1, f"{n + 1}.00"),))
            shop.order(s, ben, (("Cake", 1, "9.00"),))
            gone = shop.order(s, None, (), subtotal="5.00")
            shop.tag(s, gone, "Abandoned", "order")
            paid = shop.order(s, None, (), subtotal="5.00", status="paid")
            shop.tag(s, paid, "Abandoned", "order")
        daily = run_scheduled(
            shop.sessions, rules, "daily", period="2026-12-07", batch_size=1, binding=shop.binding
        )
        monthly = run_scheduled(
            shop.sessions, rules, "monthly", period="2026-12", batch_size=2, binding=shop.binding
        )
        assert [(r.subject, r.processed, r.changed) for r in daily.subjects] == [("customer", 2, 1)]
        assert [(r.subject, r.processed, r.changed) for r in monthly.subjects] == [("order", 6, 1)]
        with shop.sessions() as s:
            assert shop.labels(s, s.merge(ada)) == {"Loyal"}
            assert shop.labels(s, s.merge(ben)) == {"Trial"}
            gone, paid = shop.get(s, shop.key(gone)), shop.get(s, shop.key(paid))
            assert (shop.status(gone), shop.status(paid)) == ("cancelled", "paid")
            assert shop.status_history(s, gone) == [("new", "cancelled")]

    def test_a_finished_run_is_not_run_again(self, shop, engine):
        rules = rulec.load_text(SCHEDULED, "scheduled.rules")
        with shop.sessions.begin() as s:
            shop.customer(s, "Ada", ["Trial"])
        first = run_scheduled(
            shop.sessions, rules, "daily", period="2026-12-07", binding=shop.binding
        )
        again = run_scheduled(
            shop.sessions, rules, "daily", period="2026-12-07", binding=shop.binding
        )
        assert [r.status for r in first.subjects] == [RunStatus.DONE]
        assert [(r.status, r.total) for r in again.subjects] == [(RunStatus.ALREADY_DONE, 1)]
