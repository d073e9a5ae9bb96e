"""bench/database.py runs on both databases and counts statements (no timing assertions)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .scripts import own_postgres, run_bench

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "database.py"
KINDS = ("SELECT", "INSERT", "UPDATE", "other")

#: A run row: the run, orders/s, then statements per order by kind and round trips.
RUN = re.compile(
    r"^(?P<run>unattached, in hand|attached, in hand|unattached|attached|by hand"
    r"|  VIP orders|  non-VIP orders)\s+[\d,]+"
    r"\s+(?P<counts>(?:\d+\.\d\d\s*){4})(?P<trips>\d+\.\d\d)"
)
#: An extra row: the kind of order, audit rows per order, extra statements by kind, met.
EXTRA = re.compile(
    r"^  (?P<cls>VIP|non-VIP) order\s+(?P<discounts>\d+\.\d\d)"
    r"\s+(?P<extra>(?:[+-]\d+\.\d\d\s*){4})\s+\(\*\)\s+(?P<met>yes|NO)$"
)


def _tables(stdout: str) -> dict[str, list[str]]:
    """The lines of each database's table, by database name."""
    tables: dict[str, list[str]] = {}
    current: list[str] = []
    for line in stdout.splitlines():
        head = re.match(r"^(SQLite|PostgreSQL) \d", line)
        if head:
            current = tables.setdefault(head[1], [])
        current.append(line)
    return tables


def _numbers(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split())


@pytest.fixture
def pg_url():
    """A PostgreSQL database of this test's own, dropped afterwards."""
    with own_postgres("rulec_bench_smoke") as url:
        yield url


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_bench("database.py", *args)


class TestDatabaseBench:
    def test_smoke_run_counts_statements_on_both_databases(self, pg_url):
        got = run(
            "--orders", "8", "--repeat", "1", "--db", "both", "--pg-url", pg_url, "--by-hand",
            "--in-hand",
        )  # fmt: skip
        assert got.returncode == 0, got.stderr
        header = got.stdout.splitlines()[0]
        for word in ("Python", "SQLAlchemy", "PostgreSQL", "SQLite", "CPUs"):
            assert word in header
        tables = _tables(got.stdout)
        assert set(tables) == {"SQLite", "PostgreSQL"}
        for name, lines in tables.items():
            runs = [
                (m["run"].strip(), _numbers(m["counts"]), float(m["trips"]))
                for m in map(RUN.match, lines)
                if m
            ]
            # per order: SELECT, INSERT, UPDATE, other, then round trips (those
            # and BEGIN, COMMIT); 2 of the 8 orders are VIP; coded by hand, the
            # discount takes the very statements the engine issues
            assert runs == [
                ("unattached", (0.0, 1.0, 0.0, 0.0), 3.0),
                ("VIP orders", (0.0, 1.0, 0.0, 0.0), 3.0),
                ("non-VIP orders", (0.0, 1.0, 0.0, 0.0), 3.0),
                ("attached", (1.0, 1.25, 0.0, 0.0), 4.25),
                ("VIP orders", (1.0, 2.0, 0.0, 0.0), 5.0),
                ("non-VIP orders", (1.0, 1.0, 0.0, 0.0), 4.0),
                ("by hand", (1.0, 1.25, 0.0, 0.0), 4.25),
                ("VIP orders", (1.0, 2.0, 0.0, 0.0), 5.0),
                ("non-VIP orders", (1.0, 1.0, 0.0, 0.0), 4.0),
                # the customer in hand: loaded with its labels in one query,
                # they cost the engine no statement of its own
                ("unattached, in hand", (1.0, 1.0, 0.0, 0.0), 4.0),
                ("VIP orders", (1.0, 1.0, 0.0, 0.0), 4.0),
                ("non-VIP orders", (1.0, 1.0, 0.0, 0.0), 4.0),
                ("attached, in hand", (1.0, 1.25, 0.0, 0.0), 4.25),
                ("VIP orders", (1.0, 2.0, 0.0, 0.0), 5.0),
                ("non-VIP orders", (1.0, 1.0, 0.0, 0.0), 4.0),
            ], name
            # the ratio round trips alone would allow: 3 / 4.25
            assert any(
                "3.00 / 4.25 = 0.706 of the unattached one, under the 0.75 target" in line
                for line in lines
            ), name
            extras = {
                m["cls"]: (float(m["discounts"]), _numbers(m["extra"]), m["met"])
                for m in map(EXTRA.match, lines)
                if m
            }
            assert extras == {
                "VIP": (1.0, (1.0, 1.0, 0.0, 0.0), "yes"),
                "non-VIP": (0.0, (1.0, 0.0, 0.0, 0.0), "yes"),
            }, name
            assert any(re.search(r"\d\.\d{3}\s+>= 0\.75\s+(yes|NO)$", line) for line in lines)

    def test_bad_sizes_are_a_usage_error(self):
        got = run("--orders", "0", "--db", "sqlite")
        assert got.returncode == 2
        assert "--orders" in got.stderr
