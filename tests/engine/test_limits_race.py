"""Orders racing for a limited code (bench/limits.py at a small size): on PostgreSQL
4 processes, on SQLite 4 threads, some transactions rolled back on purpose.

Exactly the limit is used, never more; no customer beyond its limit, no code of
a family beyond its one use; the
budget's money equals the committed discounts, never above the budget; every
committed order is stored with its figures, no rolled-back one is.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    """bench/limits.py, imported once (a script, not a package)."""
    name = "rulec_bench_limits"
    if name not in sys.modules:
        bench = str(ROOT / "bench")
        if bench not in sys.path:  # the script imports bench/benchlib.py, as when run
            sys.path.append(bench)
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "limits.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


def _run(db, kind: str):
    bench = _bench()
    url = db.url.render_as_string(hide_password=False)
    if db.dialect.name == "postgresql":
        return bench.run_processes(url, kind, 4, 100, 150, 7)
    return bench.run_threads(url, kind, 4, 50, 150, 7)


def test_a_limit_of_100_uses_and_1_per_customer_holds_under_racing_orders(db):
    bench = _bench()
    report = _run(db, "uses")
    assert report.problems == []
    assert report.rolled_back > 0 and report.committed > bench.USES
    assert report.uses == report.claims == report.applied == bench.USES
    assert report.most_per_customer == 1


def test_a_budget_holds_under_racing_orders(db):
    bench = _bench()
    report = _run(db, "budget")
    assert report.problems == []
    assert report.rolled_back > 0
    assert report.spent == report.discounts <= bench.BUDGET
    # more takers than money: what is left is less than the largest discount refused
    assert bench.BUDGET - report.spent < 20


def test_each_code_of_a_family_is_used_once_under_racing_orders(db):
    bench = _bench()
    report = _run(db, "codes")
    assert report.problems == []
    assert report.rolled_back > 0 and report.committed > bench.CODES
    # more takers than codes: every code used, each once
    assert report.codes_used == report.claims == report.applied == bench.CODES
    assert report.most_per_code == 1


def test_the_check_finds_a_limit_exceeded_and_a_lost_order(db):
    bench = _bench()
    report = bench.Report("t", "uses")
    made = [bench.WorkerResult(committed=[[10**6, "10.00", "1.00"]])]
    bench.prepare(db.url.render_as_string(hide_password=False), 1)
    bench.check(db.url.render_as_string(hide_password=False), "uses", made, report)
    assert any("1 committed orders missing" in p for p in report.problems)
