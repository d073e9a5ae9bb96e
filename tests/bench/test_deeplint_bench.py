"""bench/deeplint.py runs and prints its table (a smoke test: no timing assertions)."""

from __future__ import annotations

import re

from .scripts import run_bench

NUMBER = r"\d+\.\d+"


class TestDeepLintBench:
    def test_smoke_run_prints_every_row(self) -> None:
        got = run_bench("deeplint.py", "--sizes", "120", "--repeat", "1")
        assert got.returncode == 0, got.stderr
        lines = got.stdout.splitlines()
        assert lines[0].startswith("rulec ") and "CPUs" in lines[0]
        row = re.compile(
            rf"^\s+120 (?P<day>\d{{4}}-\d\d-\d\d)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}  (?P<found>.+)$"
        )
        rows = [m for m in map(row.match, lines) if m]
        assert [m["day"] for m in rows] == ["2026-01-01", "2027-01-01"]
        # every window has closed by 2027: one R322 per block rule (a quarter of them)
        assert "R322 30" in rows[1]["found"]
        assert "R322" not in rows[0]["found"]
        assert lines[-1].startswith("target: ratio <= 2.0 (")

    def test_bad_arguments_are_refused(self) -> None:
        got = run_bench("deeplint.py", "--sizes", "x")
        assert got.returncode == 2
