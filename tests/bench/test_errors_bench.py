"""bench/errors.py runs and prints its table (a smoke test: no timing assertions)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from .scripts import run_bench

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "errors.py"
NUMBER = r"\d+\.\d+"


def load_script() -> Any:
    sys.path.insert(0, str(SCRIPT.parent))  # it imports bench/compile.py, as a script does
    try:
        spec = importlib.util.spec_from_file_location("bench_errors", SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return module


class TestErrorsBench:
    def test_smoke_run_prints_every_case(self) -> None:
        got = run_bench("errors.py", "--sizes", "60,120", "--cut-mib", "0.05", "--repeat", "1")
        assert got.returncode == 0, got.stderr
        lines = got.stdout.splitlines()
        assert lines[0].startswith("rulec ") and "CPUs" in lines[0]
        # file, rules, clean, broken, ratio, target, met, the codes reported
        row = re.compile(
            r"^(?P<name>.+?)\s+(?P<rules>[\d,]+)"
            + rf"\s+{NUMBER}" * 3
            + r"\s+<= 2\s+(yes|NO)\s+(?P<codes>R\d{3}.*)$"
        )
        rows = [m for m in map(row.match, lines) if m]
        assert [m["name"] for m in rows] == [
            "60 rules, one error at the end",
            "120 rules, one error at the end",
            "0.0 MiB, cut mid-rule",
        ]
        assert [m["rules"] for m in rows[:2]] == ["60", "120"]
        assert all(m["codes"].startswith("R1") for m in rows)

    def test_the_target_is_a_ratio_of_two(self, capsys: pytest.CaptureFixture[str]) -> None:
        bench = load_script()
        fine = bench.Case("fine", Path("a"), Path("b"))
        fine.rules, fine.codes, fine.seconds = 10, ["R103"], {"clean": 1.0, "broken": 1.9}
        slow = bench.Case("slow", Path("a"), Path("b"))
        slow.rules, slow.codes, slow.seconds = 10, ["R100"], {"clean": 1.0, "broken": 4.5}
        assert bench.report([fine, slow], 1) == 1
        out = capsys.readouterr().out
        assert re.search(r"^fine\s+10\s+1\.000\s+1\.900\s+1\.90\s+<= 2\s+yes\s+R103$", out, re.M)
        assert re.search(r"^slow\s+10\s+1\.000\s+4\.500\s+4\.50\s+<= 2\s+NO\s+R100$", out, re.M)

    def test_bad_arguments_are_a_usage_error(self) -> None:
        assert run_bench("errors.py", "--sizes", "0").returncode == 2
        assert run_bench("errors.py", "--sizes", "many").returncode == 2
        assert run_bench("errors.py", "--sizes", "", "--cut-mib", "0").returncode == 2
