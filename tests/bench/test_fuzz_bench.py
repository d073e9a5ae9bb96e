"""bench/fuzz.py runs, counts every kind of input and reports no failure (a smoke test)."""

from __future__ import annotations

import re

from .scripts import run_bench


def test_a_small_run_finds_nothing_and_says_so() -> None:
    p = run_bench("fuzz.py", "--count", "60", "--seed", "3", "--cli-every", "20")
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "Traceback" not in p.stderr
    assert re.search(r"seed 3, 60 inputs in [\d.,]+ s", p.stdout)
    for kind in ("valid", "mutated", "soup", "bytes", "bad-utf8", "huge", "nested"):
        assert re.search(rf"^{kind} +\d+ +0$", p.stdout, re.MULTILINE), kind
    assert re.search(r"^rulec check +3 +0", p.stdout, re.MULTILINE)
    assert "failures: 0" in p.stdout
    assert re.search(r"inputs/s: [\d,]+", p.stdout)
