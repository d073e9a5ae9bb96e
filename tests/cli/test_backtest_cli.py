"""``rulec simulate`` and ``rulec diff`` on a small shop, on SQLite and PostgreSQL (issue 16).

Also: both leave the orders' database exactly as it was (every row of every
table, and on SQLite the file's bytes), and their connection refuses writes.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from rulec import cli
from rulec.engine.db.backtest import read_only
from rulec.storage.models import Base, Customer, Label, Order

OLD = """\
label VIP for customer
rule "VIP"
  on order_created when customer has label VIP then discount 10% "VIP"
end
"""
NEW = """\
label VIP for customer
rule "VIP"
  on order_created when customer has label VIP then discount 15% "VIP"
end
rule "Big"
  on order_created when order subtotal >= 250.00 then discount 5% "Big"
end
"""


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


@pytest.fixture
def url(db) -> str:
    return db.url.render_as_string(hide_password=False)


@pytest.fixture
def rules(tmp_path) -> tuple[str, str]:
    old, new = tmp_path / "old.rules", tmp_path / "new.rules"
    old.write_text(OLD, encoding="utf-8")
    new.write_text(NEW, encoding="utf-8")
    return str(old), str(new)


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 10, 0, tzinfo=UTC)


@pytest.fixture
def shop(sessions) -> list[int]:
    """Five orders; the discounts the old rules gave are stored on them."""
    with sessions.begin() as s:
        vip = Label(name="VIP", entity_type="customer")
        ada, ben = Customer(name="Ada", labels=[vip]), Customer(name="Ben")
        orders = [
            Order(customer=ada, subtotal=Decimal("120.00"), created_at=at(3, 1),
                  discount_amount=Decimal("12.00")),
            Order(customer=ben, subtotal=Decimal("80.00"), created_at=at(3, 2)),
            Order(customer=ada, subtotal=Decimal("200.00"), created_at=at(4, 1),
                  discount_amount=Decimal("20.00")),
            Order(subtotal=Decimal("50.00"), currency="USD", created_at=at(4, 2)),
            Order(customer=ben, subtotal=Decimal("300.00"), created_at=at(5, 1)),
        ]  # fmt: skip
        s.add_all(orders)
    return [o.id for o in orders]


def test_simulate_per_rule_and_against_what_is_stored(url, rules, shop) -> None:
    got = invoke("simulate", rules[0], "--db", url, "--format", "json")
    assert got.exit_code == 0, got.output
    report = json.loads(got.stdout)
    assert report["orders"] == 5 and report["decided"] == 2
    (vip,) = report["rules"]
    assert (vip["rule"], vip["matched"], vip["applied"]) == ("VIP", 2, 2)
    assert vip["discount"] == {"EUR": "32.00"} and vip["sample"] == [shop[0], shop[2]]
    assert report["totals"]["EUR"] == {
        "orders": 4,
        "discounted": 2,
        "discount": "32.00",
        "stored_discount": "32.00",
        "change": "0.00",
    }
    assert report["totals"]["USD"]["discount"] == "0"


def test_simulate_a_period_as_text_and_markdown(url, rules, shop) -> None:
    text = invoke("simulate", rules[1], "--db", url, "--since", "2026-04-01")
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0].startswith("simulate order_created over orders created from 2026-04-01")
    assert lines[0].endswith(": 3 order(s), 2 decided by the engine")
    assert any(line.split() == ["VIP", "1", "1", "30.00", "EUR"] for line in lines)
    assert any(line.split() == ["Big", "1", "1", "15.00", "EUR"] for line in lines)
    md = invoke("simulate", rules[1], "--db", url, "--until", "2026-04-01", "--format", "markdown")
    assert md.exit_code == 0, md.output
    assert "| VIP | 1 | 1 | 18.00 EUR |" in md.stdout
    assert "| EUR | 2 | 1 | 18.00 | 12.00 | +6.00 |" in md.stdout


def test_diff_groups_the_changes_and_the_money(url, rules, shop) -> None:
    got = invoke("diff", *rules, "--db", url, "--format", "json")
    assert got.exit_code == 0, got.output
    report = json.loads(got.stdout)
    assert report["changed"] == 3
    assert report["by_kind"] == {
        "newly discounted": 1,
        "no longer discounted": 0,
        "amount changed": 2,
        "different rule won": 0,
        "other effects changed": 0,
    }
    assert report["money_delta"] == {"EUR": "31.00"}
    assert report["rules"] == [
        {"rule": "Big", "currency": "EUR", "before": "0", "after": "15.00", "delta": "15.00"},
        {"rule": "VIP", "currency": "EUR", "before": "32.00", "after": "48.00", "delta": "16.00"},
    ]
    first = report["sample"][0]
    assert (first["order"], first["kind"], first["before"], first["after"]) == (
        shop[0], "amount changed", "12.00", "18.00",
    )  # fmt: skip
    assert (
        first["explain_before"][0]
        == "order_created: VIP, 12.00 EUR off 120.00 EUR: total 108.00 EUR"
    )
    assert any(line.startswith("VIP (") and "applied" in line for line in first["explain_after"])


def test_diff_markdown_is_a_pull_request_comment(url, rules, shop) -> None:
    got = invoke("diff", *rules, "--db", url, "--format", "markdown")
    assert got.exit_code == 0, got.output
    assert got.stdout.startswith(f"### rulec diff: `{rules[0]}` → `{rules[1]}`")
    assert "**3** change(s); discount **+31.00 EUR**." in got.stdout
    assert "| newly discounted | 1 |" in got.stdout
    assert "| EUR | 32.00 | 63.00 | +31.00 |" in got.stdout
    assert "| Big | EUR | 0 | 15.00 | +15.00 |" in got.stdout
    assert "<details><summary>3 changed order(s)</summary>" in got.stdout


def test_fail_over_gates_ci_on_the_money_delta(url, rules, shop) -> None:
    over = invoke("diff", *rules, "--db", url, "--fail-over", "30")
    assert over.exit_code == 1
    assert "the money delta (31.00 EUR) is more than 30" in over.stderr
    assert invoke("diff", *rules, "--db", url, "--fail-over", "31").exit_code == 0
    bad = invoke("diff", *rules, "--db", url, "--fail-over", "lots")
    assert bad.exit_code == 2 and "not an amount" in bad.stderr


def test_diff_two_git_revisions(url, tmp_path, shop) -> None:
    repo = tmp_path / "repo"
    (repo / "rules").mkdir(parents=True)

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=repo, check=True, capture_output=True,
        )  # fmt: skip

    git("init", "-q")
    (repo / "rules" / "shop.rules").write_text(OLD, encoding="utf-8")
    git("add", ".")
    git("commit", "-qm", "old")
    (repo / "rules" / "shop.rules").write_text(NEW, encoding="utf-8")
    git("commit", "-qam", "new")
    rules = str(repo / "rules")
    got = invoke("diff", "--git", "HEAD~1..HEAD", rules, "--db", url, "--format", "json")
    assert got.exit_code == 0, got.output
    report = json.loads(got.stdout)
    assert (report["old"], report["new"]) == (f"HEAD~1:{rules}", f"HEAD:{rules}")
    assert report["money_delta"] == {"EUR": "31.00"}
    # the explanations name the files as they are in the repository
    sample = report["sample"][0]
    assert "VIP (rules/shop.rules:2): applied" in sample["explain_before"][1]
    assert "VIP (rules/shop.rules:2): applied" in sample["explain_after"][1]
    # OLD alone: against HEAD; an unknown revision is a usage error
    assert json.loads(invoke("diff", "--git", "HEAD~1", rules, "--db", url, "--format",
                             "json").stdout)["changed"] == 3  # fmt: skip
    bad = invoke("diff", "--git", "nope..HEAD", rules, "--db", url)
    assert bad.exit_code == 2 and "unknown git revision 'nope'" in bad.stderr


def test_usage_errors(url, rules, shop, tmp_path) -> None:
    assert invoke("diff", rules[0], "--db", url).exit_code == 2
    bad = tmp_path / "bad.rules"
    bad.write_text('on order_created when customer has label then discount 5% "x"\n')
    broken = invoke("simulate", str(bad), "--db", url)
    assert broken.exit_code == 1 and "bad.rules:1:" in broken.stdout
    listing = invoke("simulate", rules[0], "--db", url, "--event", "price_listed")
    assert listing.exit_code == 2 and "not an event about an order" in listing.stderr
    order = invoke("simulate", rules[0], "--db", url, "--since", "2026-05-01", "--until",
                   "2026-04-01")  # fmt: skip
    assert order.exit_code == 2 and "--until must be after --since" in order.stderr
    nowhere = invoke("simulate", rules[0], "--db", "postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert nowhere.exit_code == 2 and "cannot open database" in nowhere.stderr


# -------------------------------------------------------------- read-only --


def snapshot(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    with db.connect() as conn:
        return {
            t.name: sorted(map(tuple, conn.execute(select(t))), key=repr)
            for t in Base.metadata.sorted_tables
        }


def test_simulate_and_diff_leave_the_database_as_it_was(db, url, rules, shop) -> None:
    before = snapshot(db)
    path = Path(db.url.database) if db.dialect.name == "sqlite" else None
    data = path.read_bytes() if path else None
    assert invoke("simulate", rules[1], "--db", url).exit_code == 0
    assert invoke("diff", *rules, "--db", url, "--format", "markdown").exit_code == 0
    assert snapshot(db) == before
    if path is not None:
        assert path.read_bytes() == data


def test_the_back_test_connection_refuses_writes(db, shop) -> None:
    with pytest.raises(DBAPIError), read_only(db) as conn:
        conn.execute(update(Order.__table__).values(discount_amount=Decimal("1.00")))
    with db.begin() as conn:  # the pooled connection writes again afterwards
        conn.execute(update(Order.__table__).where(Order.id == shop[0]).values(status="paid"))
    with db.connect() as conn:
        assert conn.scalar(select(Order.status).where(Order.id == shop[0])) == "paid"
        assert conn.scalar(select(Order.discount_amount).where(Order.id == shop[1])) == 0


def test_a_condition_sql_cannot_say_is_decided_by_the_engine(url, shop, tmp_path) -> None:
    (tmp_path / "rulec.toml").write_text(
        'extends = "default"\n\n[entities.order.fields.channel]\ntype = "string"\n'
    )
    path = tmp_path / "web.rules"
    path.write_text(
        'label VIP for customer\nrule "Web VIP"\n  on order_created when customer has label VIP '
        'and order channel is "web" then discount 5% "Web VIP"\nend\n'
    )
    got = invoke("simulate", str(path), "--db", url, "--format", "json")
    assert got.exit_code == 0, got.output
    report = json.loads(got.stdout)
    # SQL selects the VIP's two orders (the channel widened to true), the engine decides them
    assert report["inexact_rules"] == ["Web VIP"]
    assert report["decided_in_python_for_inexact_rules"] == 2 and report["decided"] == 2
    # the reference models have no channel: it reads as no value, and the report says so
    assert report["unloaded_facts"] == ["order.channel"]
    assert report["rules"][0]["matched"] == 0
    text = invoke("simulate", str(path), "--db", url).stdout
    assert "2 order(s) decided in Python because SQL cannot express all of: Web VIP" in text
