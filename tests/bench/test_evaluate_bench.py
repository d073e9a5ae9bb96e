"""bench/evaluate.py runs and prints its table (a smoke test: no timing assertions)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .scripts import run_bench

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "evaluate.py"

#: A table row: the case, then rulec µs, baseline µs, ratio, target and yes/no.
ROW = re.compile(
    r"^(?P<case>.+?)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+<= (?P<target>\d\.0)\s+(yes|no)$"
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_bench("evaluate.py", *args)


class TestEvaluateBench:
    def test_smoke_run_prints_a_row_for_every_case(self):
        got = run("--sizes", "1,20", "--repeat", "1", "--block-ms", "2")
        assert got.returncode == 0, got.stderr
        lines = got.stdout.splitlines()
        assert lines[0].startswith("rulec ")
        assert "Python" in lines[0] or "CPython" in lines[0]
        assert "CPUs" in lines[0]
        rows = {m["case"]: m for m in map(ROW.match, lines) if m}
        figures = {
            "vip rule, VIP customer",
            "vip rule, non-VIP customer",
            "1 rules + VIP, 2 match",
            "1 rules + VIP, none match",
            "20 rules + VIP, 2 match",
            "20 rules + VIP, none match",
        }
        public = {
            "public, vip rule, VIP",
            "public, vip rule, non-VIP",
            "public, 1 rules + VIP, 2 match",
            "public, 20 rules + VIP, 2 match",
        }
        assert set(rows) == figures | public
        assert {rows[c]["target"] for c in figures} == {"2.0"}
        assert {rows[c]["target"] for c in public} == {"3.0"}
        assert all(float(m[2]) > 0 and float(m[3]) > 0 for m in rows.values())
        scale = re.search(r"Decision alone.* (\d+\.\d\d) µs = (\d+\.\d)x", got.stdout)
        assert scale and float(scale[1]) > 0 and float(scale[2]) > 0
        nested = re.search(r"nested facts cost (-?\d+\.\d\d) µs more than flat", got.stdout)
        assert nested
        metered = re.findall(r"metrics with no SDK, (.+?): ([+-]\d+\.\d\d) µs", got.stdout)
        assert [name for name, _ in metered] == [
            "the cheapest recording (a counter, a histogram)",
            "Metrics.evaluate, the opt-in",
        ]
        assert re.search(r"^\d+ of 10 targets met$", got.stdout, re.M)

    def test_bad_sizes_are_a_usage_error(self):
        got = run("--sizes", "0")
        assert got.returncode == 2
        assert "sizes" in got.stderr
