"""bench/scheduled.py runs on both databases at a tiny size (no timing assertions)."""

from __future__ import annotations

import re

import pytest

from .scripts import own_postgres, run_bench

#: A run row: name, rows, seconds, rows/s, changed, batches, quiet, +/chg, RSS, heap.
ROW = re.compile(
    r"^(?P<run>first day|same day again|next day)\s+(?P<rows>[\d,]+)\s+[\d.]+\s+\S+"
    r"\s+(?P<changed>[\d,]+)\s+(?P<batches>[\d,]+)\s+(?P<quiet>\S+)\s+(?P<per>\S+)"
    r"\s+[+-][\d.]+\s+(?P<heap>\S+)$"
)


@pytest.fixture
def pg_url():
    """A PostgreSQL database of this test's own, dropped afterwards."""
    with own_postgres("rulec_bench_sched_smoke") as url:
        yield url


def rows(stdout: str) -> dict[str, dict[str, str]]:
    return {m["run"]: m.groupdict() for m in map(ROW.match, stdout.splitlines()) if m}


class TestScheduledBench:
    @pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
    def test_smoke_run_on_both_databases(self, kind, request):
        db = "sqlite" if kind == "sqlite" else request.getfixturevalue("pg_url")
        got = run_bench(
            "scheduled.py", "--count", "400", "--batch-size", "50", "--db", db, "--tracemalloc",
            "--check",
        )  # fmt: skip
        assert got.returncode == 0, got.stdout + got.stderr
        header = got.stdout.splitlines()[0]
        for word in ("Python", "SQLAlchemy", "CPUs", "400 customers", "batches of 50"):
            assert word in header
        assert ("PostgreSQL" if kind == "postgresql" else "SQLite") in header
        assert "seeded 400 customers, 46 labels on them, 60 orders" in got.stdout
        table = rows(got.stdout)
        assert set(table) == {"first day", "same day again", "next day"}
        first, again, nxt = table["first day"], table["same day again"], table["next day"]
        assert (first["rows"], first["changed"], first["batches"]) == ("400", "20", "8")
        assert (again["rows"], again["changed"], again["batches"]) == ("0", "0", "0")
        assert (nxt["rows"], nxt["changed"], nxt["batches"], nxt["quiet"]) == ("400", "0", "8", "5")
        assert float(first["per"]) > 0 and float(first["heap"]) > 0
        assert "same day again: daily: 0 customers" in got.stdout
        assert "already done for 2026-11-26" in got.stdout
        assert "targets met" in got.stdout

    def test_bad_sizes_are_a_usage_error(self):
        got = run_bench("scheduled.py", "--count", "0", "--db", "sqlite")
        assert got.returncode == 2
        assert "--count" in got.stderr
