"""bench/backtest.py runs on both databases at a tiny size (no timing assertions)."""

from __future__ import annotations

import re

import pytest

from .scripts import own_postgres, run_bench


@pytest.fixture
def pg_url():
    """A PostgreSQL database of this test's own, dropped afterwards."""
    with own_postgres("rulec_bench_backtest_smoke") as url:
        yield url


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_smoke_run_on_both_databases(kind, request) -> None:
    db = "sqlite" if kind == "sqlite" else request.getfixturevalue("pg_url")
    got = run_bench("backtest.py", "--count", "400", "--python", "100", "--db", db)
    assert got.returncode == 0, got.stdout + got.stderr
    header = got.stdout.splitlines()[0]
    for word in ("Python", "SQLAlchemy", "400 orders", "100 rules"):
        assert word in header
    assert ("PostgreSQL" if kind == "postgresql" else "SQLite") in header
    assert re.search(r"^seeded 400 orders, [\d,]+ lines, 100 customers", got.stdout, re.M)
    assert "100 rules on order_created" in got.stdout
    sim = re.search(
        r"^simulate: 400 orders, ([\d,]+) selected by SQL and decided", got.stdout, re.M
    )
    assert sim is not None and 0 < int(sim[1].replace(",", "")) < 400
    for path in ("simulate (SQL selects, engine)", "row by row (Engine.evaluate)",
                 "batched, every order"):  # fmt: skip
        assert re.search(rf"^{re.escape(path)}\s+[\d,]+\s+[\d.]+\s+[\d,]+", got.stdout, re.M)
    assert re.search(r"faster than row by row \(target >= 20x\)", got.stdout)
    assert re.search(r"^  all of them\s+400\s+[\d,]+\s+[\d.]+$", got.stdout, re.M)
    # the back-test and the engine row by row decided the first orders alike
    assert ": back-test" not in got.stderr and "two simulations" not in got.stderr


def test_bad_sizes_are_a_usage_error() -> None:
    got = run_bench("backtest.py", "--count", "0", "--db", "sqlite")
    assert got.returncode == 2
    assert "--count" in got.stderr
