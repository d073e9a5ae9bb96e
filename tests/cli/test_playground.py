"""`rulec playground`: the command, and the stored orders it reads (and never writes)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

import rulec
from rulec import Engine
from rulec.cli import main
from rulec.cli.playground_cmd import every_key, read_only_engine, stored_orders
from rulec.dsl.sources import read_sources
from rulec.engine.core.facts import flatten_facts
from rulec.engine.db.facts.row import load_facts
from rulec.engine.vocabulary import DEFAULT_VOCABULARY
from rulec.storage.base import Base
from rulec.storage.models import Customer, Label, Order, OrderItem
from rulec.web import Playground
from rulec.web.order import order_facts

SHIPPED = rulec.shipped_rules()


@pytest.fixture
def reader():
    """stored_orders, closed after the test."""
    opened = []

    def open_(url):
        opened.append(stored_orders(url, DEFAULT_VOCABULARY))
        return opened[-1]

    yield open_
    for s in opened:
        s.close()


def counts(db) -> dict[str, int]:
    with db.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in Base.metadata.sorted_tables
        }


@pytest.fixture
def orders(sessions, db):
    """Two stored orders: a VIP's with lines, decided by the shipped rules, and an
    agent's without a customer, stored before any rule set decided it."""
    with sessions.begin() as s:
        s.add(Order(subtotal=Decimal("80.00"), status="pending"))
    Engine.from_paths([SHIPPED]).attach(sessions)
    with sessions.begin() as s:
        vip = Label(name="Customer_VIP", entity_type="customer")
        order = Order(
            customer=Customer(name="Ben", labels=[vip]),
            items=[
                OrderItem(description="Photo book", unit_price=Decimal("60.00"), quantity=2),
                OrderItem(description="Pens", unit_price=Decimal("1.479"), quantity=3),
            ],
        )
        s.add(order)
    return db.url.render_as_string(hide_password=False), order.id


class TestStoredOrders:
    def test_read_and_never_written(self, orders, db, reader):
        url, order_id = orders
        before = counts(db)
        stored = reader(url)
        recent = stored.recent(10)
        assert recent[0] == (str(order_id), recent[0][1])
        assert recent[0][1].startswith(f"#{order_id} Ben, 124.44 EUR, new, ")
        assert len(recent) == 2
        facts, basket = stored.load(str(order_id), "order_created")
        assert facts["order.subtotal"] == Decimal("124.44")
        assert (basket["subtotal"], basket["discount_amount"], basket["total"]) == (
            "124.44",
            "12.44",
            "112.00",
        )
        assert [d["description"] for d in basket["discounts"]] == ["VIP New Order Discount"]
        assert stored.load("999999", "order_created") is None
        assert stored.load("x", "order_created") is None
        assert counts(db) == before

    def test_its_connections_refuse_to_write(self, orders):
        url, _ = orders
        engine = read_only_engine(url)
        try:
            with engine.connect() as conn, pytest.raises(DBAPIError):
                conn.execute(text("DELETE FROM orders"))
        finally:
            engine.dispose()

    def test_a_stored_order_decided_again_by_todays_rules(self, orders, db, reader):
        url, order_id = orders
        before = counts(db)
        playground = Playground(read_sources([SHIPPED]), DEFAULT_VOCABULARY, reader(url))
        picked = playground.stored_order(str(order_id), "order_created")
        assert "Customer_VIP" in picked["order"]["customer"]["labels"]
        assert [m["unit_price"] for m in picked["order"]["item"]] == ["60.00", "1.479"]
        # what the page derives from the lines is left to it, so an added line counts
        assert not {"subtotal", "line_count", "item_count"} & picked["order"]["order"].keys()
        assert all("line_total" not in m for m in picked["order"]["item"])
        vip = next(s for s in playground.sources if s.name == "vip.rules")
        today = playground.decide(vip.path, vip.text or "", "order_created", picked["order"])
        assert today["basket"]["total"] == picked["stored"]["total"] == "112.00"
        assert [x["discount"] for x in today["basket"]["lines"]] == [
            x["discount"] for x in picked["stored"]["lines"]
        ]
        fewer = (vip.text or "").replace("discount 10%", "discount 5%")
        assert playground.decide(vip.path, fewer, "order_created", picked["order"])["basket"][
            "total"
        ] == ("118.22")
        agents = playground.stored_order(str(order_id - 1), "order_created")
        assert agents["order"]["customer"] == {"absent": True}
        assert agents["order"]["order"]["subtotal"] == "80.00"  # no lines: its own
        assert agents["stored"]["total"] == "80.00"
        assert counts(db) == before


class TestOrderFacts:
    def test_the_pages_facts_are_the_catalogs_for_the_same_order(self, orders, sessions):
        """What the page derives from lines (subtotal, line totals, counts, presence)
        is what the fact catalog reads for the stored order."""
        _, order_id = orders
        event = DEFAULT_VOCABULARY.event("order_created")
        keys = every_key(DEFAULT_VOCABULARY, "order_created")
        page = {
            "customer": {"labels": ["Customer_VIP"], "order_count": 0},
            "order": {"currency": "EUR"},
            "item": [
                {"name": "Photo book", "unit_price": "60.00", "quantity": 2},
                {"name": "Pens", "unit_price": "1.479", "quantity": 3},
            ],
        }
        mine = flatten_facts(order_facts(page, DEFAULT_VOCABULARY, event), keys)
        with sessions() as s:
            stored = load_facts(s, s.get(Order, order_id), keys)
            s.rollback()
        derived = (
            "order.subtotal",
            "order.line_count",
            "order.item_count",
            "order.placed_by_customer",
            "order.created_by_agent",
        )
        assert {k: mine[k] for k in derived} == {k: stored[k] for k in derived}
        assert [m["item.line_total"] for m in mine["item.all"]] == [
            m["item.line_total"] for m in stored["item.all"]
        ]


class TestCommand:
    def test_help(self):
        got = CliRunner().invoke(main, ["playground", "--help"])
        assert got.exit_code == 0
        for option in ("--rules", "--db", "--host", "--port"):
            assert option in got.output
        assert "[default: 127.0.0.1]" in got.output

    def test_a_missing_rules_path_is_a_usage_error(self, tmp_path):
        got = CliRunner().invoke(main, ["playground", "--rules", str(tmp_path / "none.rules")])
        assert got.exit_code == 2
        assert "does not exist" in got.output

    def test_an_unreachable_database_exits_2(self, tmp_path):
        url = f"sqlite:///{tmp_path}/missing/folder/db.sqlite"
        got = CliRunner().invoke(main, ["playground", "--rules", str(SHIPPED), "--db", url])
        assert got.exit_code == 2
        assert "cannot open database" in got.output

    def test_it_serves_on_127_0_0_1_by_default(self, monkeypatch):
        import uvicorn

        served = {}
        monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(kw, app=app))
        got = CliRunner().invoke(main, ["playground", "--rules", str(SHIPPED), "--port", "8123"])
        assert got.exit_code == 0, got.output
        assert (served["host"], served["port"]) == ("127.0.0.1", 8123)
        assert "rulec playground: http://127.0.0.1:8123/" in got.stderr
