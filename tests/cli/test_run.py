"""``rulec run daily|monthly``: the scheduled rules from cron, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from rulec import cli
from rulec.cli import run_cmd
from rulec.engine.db import scheduled as scheduler
from rulec.storage.models import Customer, Label, Order, ScheduledRun

RULES = """\
label Trial, Loyal for customer
on daily for customer when customer has label Trial and customer order count >= 3 \
then remove label Trial from customer, add label Loyal to customer
on monthly for order when order status is pending then set order status to cancelled
"""
SUMMARY = re.compile(
    r"^(?P<event>daily|monthly): (?P<counts>.+) in [\d.,]+ s, (?P<changed>[\d,]+) changed"
    r"(?:, (?P<errors>[\d,]+) rule errors?)?(?: \((?P<notes>.+)\))?$"
)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


def summary(result: Result) -> re.Match[str]:
    last = result.stderr.splitlines()[-1]
    m = SUMMARY.match(last)
    assert m is not None, result.stderr
    return m


@pytest.fixture
def url(db) -> str:
    return db.url.render_as_string(hide_password=False)


@pytest.fixture
def rules(tmp_path) -> Path:
    path = tmp_path / "rules" / "scheduled.rules"
    path.parent.mkdir()
    path.write_text(RULES, encoding="utf-8")
    return path


@pytest.fixture
def shop(sessions) -> dict[str, int]:
    """Ten customers, half Trial; customer i has i % 5 orders, the first one pending."""
    with sessions.begin() as s:
        trial = Label(name="Trial", entity_type="customer")
        for i in range(10):
            c = Customer(name=f"c{i}", labels=[trial] if i % 2 == 0 else [])
            c.orders = [
                Order(subtotal=Decimal(k), status="pending" if k == 0 else "new")
                for k in range(i % 5)
            ]
            s.add(c)
    with sessions() as s:
        return dict(s.execute(select(Customer.name, Customer.id)).all())


def labels_of(sessions) -> dict[str, list[str]]:
    with sessions() as s:
        return {c.name: sorted(lb.name for lb in c.labels) for c in s.scalars(select(Customer))}


class TestRun:
    def test_daily_changes_the_right_customers_and_prints_a_summary(
        self, url, rules, shop, sessions
    ):
        result = invoke(
            "run", "daily", "--db", url, "--rules", str(rules), "--period", "2026-11-26"
        )
        assert result.exit_code == 0, result.output
        assert result.stdout == ""
        m = summary(result)
        assert (m["event"], m["counts"], m["changed"], m["notes"]) == (
            "daily",
            "10 customers",
            "2",
            None,
        )
        assert "daily customers for 2026-11-26: 10 to do" in result.stderr
        got = labels_of(sessions)
        # Trial customers (even) with 3 or 4 orders: c4 (4 orders) and c8 (3 orders)
        assert got["c4"] == got["c8"] == ["Loyal"]
        assert got["c0"] == got["c2"] == got["c6"] == ["Trial"]

    def test_the_second_run_of_a_period_changes_nothing_and_says_so(
        self, url, rules, shop, sessions
    ):
        args = ("run", "daily", "--db", url, "--rules", str(rules), "--period", "2026-11-26")
        assert invoke(*args).exit_code == 0
        before = labels_of(sessions)
        again = invoke(*args)
        assert again.exit_code == 0, again.output
        m = summary(again)
        assert (m["counts"], m["changed"], m["notes"]) == (
            "0 customers",
            "0",
            "customers already done for 2026-11-26",
        )
        assert labels_of(sessions) == before

    def test_monthly_runs_for_the_month_and_sets_the_status(self, url, rules, shop, sessions):
        result = invoke(
            "run", "monthly", "--db", url, "--rules", str(rules), "--period", "2026-11",
            "--batch-size", "3",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        m = summary(result)
        pending = sum(1 for i in range(10) if i % 5)  # every customer with orders
        assert (m["event"], m["counts"], m["changed"]) == ("monthly", "20 orders", str(pending))
        with sessions() as s:
            runs = [(r.event, r.subject, r.period) for r in s.scalars(select(ScheduledRun))]
            statuses = sorted(s.scalars(select(Order.status)))
        assert runs == [("monthly", "order", "2026-11")]
        assert statuses.count("cancelled") == pending

    def test_the_default_period_is_today_in_utc(self, url, rules, shop, sessions):
        result = invoke("run", "daily", "--db", url, "--rules", str(rules))
        assert result.exit_code == 0, result.output
        with sessions() as s:
            [period] = s.scalars(select(ScheduledRun.period))
        assert period == scheduler.current_period("daily")

    def test_a_crashed_run_resumes(self, url, rules, shop, sessions, monkeypatch):
        real = scheduler._SubjectRun.batch
        calls = []

        def crashing(self, run_id, last):
            calls.append(last)
            if len(calls) == 3:
                raise RuntimeError("killed")
            return real(self, run_id, last)

        monkeypatch.setattr(scheduler._SubjectRun, "batch", crashing)
        args = ("run", "daily", "--db", url, "--rules", str(rules), "--period", "2026-11-26")
        crashed = invoke(*args, "--batch-size", "3")
        assert crashed.exit_code == 123
        assert "internal error: RuntimeError: killed" in crashed.stderr
        monkeypatch.setattr(scheduler._SubjectRun, "batch", real)
        resumed = invoke(*args, "--batch-size", "3")
        assert resumed.exit_code == 0, resumed.output
        assert "4 to do, resuming after id" in resumed.stderr
        assert summary(resumed)["counts"] == "4 customers"
        assert labels_of(sessions)["c8"] == ["Loyal"]

    def test_a_failing_rule_exits_1_and_is_logged(self, url, tmp_path, shop, sessions):
        # an unknown currency stored on an order: the order cannot be evaluated
        with sessions.begin() as s:
            s.add(Order(subtotal=Decimal(1), currency="ZZZ", status="pending"))
        path = tmp_path / "r.rules"
        path.write_text(RULES, encoding="utf-8")
        result = invoke("run", "monthly", "--db", url, "--rules", str(path), "--period", "2026-11")
        assert result.exit_code == 1, result.output
        m = summary(result)
        assert (m["changed"], m["errors"]) == ("8", "1")
        assert "monthly:order failed on order" in result.stderr

    def test_progress_lines_without_a_terminal(self, url, rules, shop, monkeypatch):
        monkeypatch.setattr(run_cmd, "_RUN_LINE_ROWS", 4)  # a line every 2 batches of 2
        result = invoke(
            "run", "daily", "--db", url, "--rules", str(rules), "--period", "2026-11-26",
            "--batch-size", "2",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        lines = [ln for ln in result.stderr.splitlines() if re.match(r"daily customers: ", ln)]
        assert [ln.split(",")[0] for ln in lines] == [
            "daily customers: 4 of 10 (40%)",
            "daily customers: 8 of 10 (80%)",
        ]

    def test_a_progress_bar_on_a_terminal(self, url, rules, shop, monkeypatch):
        real = run_cmd._run_progress
        monkeypatch.setattr(run_cmd, "_run_progress", lambda _tty, size: real(True, size))
        result = invoke(
            "run", "daily", "--db", url, "--rules", str(rules), "--period", "2026-11-26"
        )
        assert result.exit_code == 0, result.output
        assert summary(result)["counts"] == "10 customers"


class TestRunErrors:
    def test_a_bad_period_is_a_usage_error(self, rules):
        result = invoke("run", "monthly", "--rules", str(rules), "--period", "2026-11-26")
        assert result.exit_code == 2
        assert "invalid monthly period '2026-11-26': expected YYYY-MM" in result.stderr

    def test_an_unknown_event_is_a_usage_error(self, rules):
        result = invoke("run", "hourly", "--rules", str(rules))
        assert result.exit_code == 2

    def test_a_missing_rules_path_exits_2(self, tmp_path):
        result = invoke("run", "daily", "--rules", str(tmp_path / "nope"))
        assert result.exit_code == 2
        assert "no such file or folder" in result.stderr

    def test_rules_with_errors_exit_1_with_their_diagnostics(self, tmp_path):
        path = tmp_path / "bad.rules"
        path.write_text("on daily when customer has label X then add label X to customer\n")
        result = invoke("run", "daily", "--rules", str(path), "--db", "sqlite:///unused.db")
        assert result.exit_code == 1
        assert "R217" in result.stdout
        assert "nothing was run" in result.stderr

    def test_an_unreachable_database_exits_2_with_the_password_masked(self, rules):
        url = "postgresql+psycopg://root:s3cret-pw@127.0.0.1:1/shop"
        result = invoke("run", "daily", "--rules", str(rules), "--db", url)
        assert result.exit_code == 2
        assert "s3cret-pw" not in result.output
        assert result.stderr.startswith("rulec: postgresql+psycopg://root:***@127.0.0.1:1/shop: ")

    def test_a_database_without_the_schema_exits_2(self, rules, tmp_path):
        url = f"sqlite:///{tmp_path / 'empty.db'}"
        result = invoke("run", "daily", "--rules", str(rules), "--db", url)
        assert result.exit_code == 2
        assert "run 'rulec db upgrade' first" in result.stderr

    def test_a_database_error_during_the_run_exits_2_masked(self, url, rules, shop, monkeypatch):
        from sqlalchemy.exc import OperationalError

        def broken(*_args, **_kw):
            raise OperationalError("SELECT 1", {}, Exception(f"server closed the connection {url}"))

        monkeypatch.setattr(scheduler, "claim", broken)
        result = invoke(
            "run", "daily", "--db", url, "--rules", str(rules), "--period", "2026-11-26"
        )
        assert result.exit_code == 2
        assert "run stopped: server closed the connection" in result.stderr

    def test_an_internal_error_exits_123(self, url, rules, shop, monkeypatch):
        def broken(*_args, **_kw):
            raise KeyError("bug")

        monkeypatch.setattr(scheduler, "run_scheduled", broken)
        result = invoke("run", "daily", "--db", url, "--rules", str(rules))
        assert result.exit_code == 123
        assert "internal error: KeyError" in result.stderr
