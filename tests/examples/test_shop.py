"""examples/shop over HTTP (issue 22): a backend's own models, its own Alembic
environment with rulec's branch, rulec bound to it; on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"
PG_ADMIN_URL = os.environ.get(
    "RULEC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
#: The shop's own database beside the suite's (its tables and rulec's branch).
PG_DB = os.environ.get("RULEC_TEST_PG_DB", "rulec_test") + "_shop"

RULEC_TABLES = {
    "rulec_applied_discounts",
    "rulec_status_changes",
    "rulec_rule_errors",
    "rulec_scheduled_runs",
}
SHOP_TABLES = {"tags", "customers", "purchases", "purchase_lines"}


def _shop(name: str) -> ModuleType:
    if str(EXAMPLE) not in sys.path:
        sys.path.insert(0, str(EXAMPLE))
    return importlib.import_module(f"shop.{name}")


def _postgres_url() -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": PG_DB}
            ).scalar()
            if not found:
                conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_DB


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: Any, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, migrated by the shop's own Alembic."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
    else:
        try:
            url = _postgres_url()
        except Exception as e:  # the server is down
            if os.environ.get("CI"):
                raise
            pytest.skip(f"PostgreSQL is not reachable: {type(e).__name__}")
        wipe = create_engine(url)
        with wipe.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        wipe.dispose()
    engine = create_engine(url)
    _shop("db").upgrade(engine)
    engine.dispose()
    yield url


@pytest.fixture
def client(url: str) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    app = _shop("app").create_app(url)
    with TestClient(app) as client:
        yield client
    app.state.db.dispose()


def _order(client: Any, customer: str | None) -> dict[str, Any]:
    r = client.post(
        "/orders",
        json={
            "customer": customer,
            "lines": [
                {"title": "Cake", "qty": 2, "price": "30.00"},
                {"title": "Flowers", "qty": 1, "price": "60.00"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


class TestShop:
    def test_a_vip_order_gets_its_discount_and_its_audit_row_at_once(self, client):
        ada = client.post("/customers", json={"name": "Ada", "tags": ["Customer_VIP"]}).json()
        body = _order(client, ada["id"])
        b = body["basket"]
        assert (b["subtotal"], b["discount"], b["total"]) == ("120.00", "12.00", "108.00")
        assert b["discount_description"] == "VIP discount"
        assert [(x["title"], x["discount"]) for x in b["lines"]] == [
            ("Cake", "6.00"),
            ("Flowers", "6.00"),
        ]
        # the audit row, read in the transaction that created the order
        assert body["audit"] == [{"rule": "vip.rules:5", "amount": "12.00", "text": "VIP discount"}]
        again = client.get(f"/orders/{b['order']}/basket").json()
        assert again == b
        assert again["applied"] == [
            {"description": "VIP discount", "amount": "12.00", "percent": "10%"}
        ]

    def test_a_customer_without_the_tag_pays_the_full_price(self, client):
        ben = client.post("/customers", json={"name": "Ben"}).json()
        body = _order(client, ben["id"])
        assert (body["basket"]["discount"], body["basket"]["total"]) == ("0.00", "120.00")
        assert body["audit"] == []

    def test_a_failed_request_leaves_nothing(self, client, url):
        r = client.post(
            "/orders",
            json={
                "customer": "00000000-0000-0000-0000-000000000000",
                "lines": [{"title": "Cake", "price": "1.00"}],
            },
        )
        assert r.status_code == 404
        engine = create_engine(url)
        with engine.connect() as conn:
            for table in ("purchases", "purchase_lines", "rulec_applied_discounts"):
                assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
        engine.dispose()


class TestShopMigrations:
    def test_the_shops_alembic_creates_its_tables_and_rulecs(self, url):
        engine = create_engine(url)
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= SHOP_TABLES | RULEC_TABLES
        engine.dispose()

    def test_rulecs_branch_goes_down_alone_and_up_again(self, url):
        db = _shop("db")
        engine = create_engine(url)
        db.downgrade(engine, "rulec@base")  # the shop's view that reads it first
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            views = set(inspect(conn).get_view_names())
        assert tables >= SHOP_TABLES
        assert not RULEC_TABLES & tables
        assert "purchase_discounts" not in views
        db.upgrade(engine)
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= RULEC_TABLES
            assert "purchase_discounts" in set(inspect(conn).get_view_names())
        engine.dispose()
