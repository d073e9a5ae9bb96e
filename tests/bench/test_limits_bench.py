"""bench/limits.py --throughput runs and counts statements (no timing assertions)."""

from __future__ import annotations

import re

from .scripts import run_bench

ROW = re.compile(r"^  (no rules|rule with limits|rule)\s+\d+\s+\d+\.\d\d\s+(\d+\.\d\d)$")


def test_the_throughput_run_prints_each_run_and_what_a_limit_costs() -> None:
    got = run_bench("limits.py", "--throughput", "--db", "sqlite", "--orders", "50")
    assert got.returncode == 0, got.stderr
    rows = {m[1]: float(m[2]) for line in got.stdout.splitlines() if (m := ROW.match(line))}
    assert set(rows) == {"no rules", "rule", "rule with limits"}, got.stdout
    # the order, its customer and the code; the audit row; the claim, the two counters
    assert rows["no rules"] == 3.0 and rows["rule"] == 4.0
    assert 7.0 <= rows["rule with limits"] <= 7.1  # the counter rows made once
