"""bench/compile.py runs and prints its tables (a smoke test: no timing assertions)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .scripts import run_bench

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "compile.py"
NUMBER = r"\d+\.\d+"


def load_script() -> Any:
    spec = importlib.util.spec_from_file_location("bench_compile", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_bench("compile.py", *args)


class TestCompileBench:
    def test_smoke_run_prints_every_figure(self) -> None:
        got = run("--sizes", "50,100", "--repeat", "1")
        assert got.returncode == 0, got.stderr
        lines = got.stdout.splitlines()
        assert lines[0].startswith("rulec ") and "CPUs" in lines[0]
        # rules, check, cold, python source, ratio, peak MB, warm, .pyc, ratio
        row = re.compile(r"^\s+([\d,]+)" + rf"\s+{NUMBER}" * 8 + r"$")
        sizes = [m[1] for m in map(row.match, lines) if m]
        assert sizes == ["50", "100"]
        growth = re.compile(r"^\s+([\d,]+)" + rf"\s+{NUMBER}" * 3 + r"$")
        assert [m[1] for m in map(growth.match, lines) if m] == ["50", "100"]
        # the targets are judged at 10,000 rules only
        assert "did not measure" in got.stdout

    def test_targets_are_judged_at_ten_thousand_rules(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bench = load_script()
        rows = []
        for size, cold in ((1_000, 0.1), (10_000, 2.5)):
            row = bench.Row(size)
            row.figures = dict(check=0.1, cold=cold, py_source=1, warm=0.1, py_pyc=0.1, peak=50)
            rows.append(row)
        assert bench.report(rows, 1) == 1  # the cold load misses its target
        out = capsys.readouterr().out
        assert re.search(r"cold load\s+2\.500 s\s+target <= 2 s .* met NO", out)
        assert re.search(r"warm start\s+0\.100 s\s+target <= 0\.2 s .* met yes", out)
        assert re.search(r"peak memory\s+50\.000 MB\s+target <= 100 MB .* met yes", out)
        assert re.search(r"^\s+10,000\s+2\.50\s+0\.10\s+0\.10$", out, re.M)  # growth

    def test_bad_sizes_are_a_usage_error(self) -> None:
        assert run("--sizes", "0").returncode == 2
        assert run("--sizes", "many").returncode == 2
