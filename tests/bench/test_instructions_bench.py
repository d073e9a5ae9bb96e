"""bench/instructions.py: each case it counts runs (the count itself needs valgrind and
minutes, so it is run by hand: docs/performance.md gives its figures)."""

from __future__ import annotations

from .scripts import run_bench


def test_each_counted_case_runs() -> None:
    cases = "public,public-base,flat,flat-base"
    got = run_bench("instructions.py", "--inner", cases, "--calls", "3", "--warm", "1")
    assert got.returncode == 0, got.stderr


def test_an_unknown_case_is_refused() -> None:
    got = run_bench("instructions.py", "--inner", "nope", "--calls", "1")
    assert got.returncode != 0 and "unknown case 'nope'" in got.stderr
