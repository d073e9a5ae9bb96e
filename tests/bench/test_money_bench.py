"""bench/money.py: random orders against the reference, nothing wrong (a smoke test)."""

from __future__ import annotations

import re

from .scripts import run_bench


def test_a_small_run_finds_nothing_wrong_and_says_so() -> None:
    p = run_bench("money.py", "--orders", "300", "--seed", "3")
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "Traceback" not in p.stderr
    assert re.search(r"^seed 3, 300 orders in [\d,]+ s$", p.stdout, re.MULTILINE)
    decided = int(re.search(r"^decided +([\d,]+)", p.stdout, re.MULTILINE)[1])
    refused = int(re.search(r"^refused +([\d,]+)", p.stdout, re.MULTILINE)[1])
    assert decided + refused == 300 and decided > 0 and refused > 0
    assert re.search(r"^wrong +0$", p.stdout, re.MULTILINE)
