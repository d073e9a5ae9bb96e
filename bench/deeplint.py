"""What deep lint costs ``rulec check``: the check with it against the check without.

Issue 14: on 10,000 rules, ``rulec check`` with deep lint (R320 to R326)
must take at most twice the time of the check before it. The rules are
those of ``bench/compile.py`` (varied, valid; a quarter of them exclusive
block rules with validity windows in the months of 2026, a third of all of
them read no label, so the index cannot narrow their pairs). Each size is
checked in the same process, in turn:

* before: what ``rulec check`` did without deep lint: read, parse, check,
  render the text report (``analyze_paths`` and ``render``);
* after: the same, with deep lint (``with_deep_lint``): the rule set is
  compiled and loaded, pairs are searched and proved, example orders are
  decided by the engine;

and twice for the windows: as of 2026-01-01 (every window is open or still
to open: the full pair search runs) and as of 2027-01-01 (every window has
closed: 2,500 R322 warnings, and the closed rules are not paired). Medians
of the runs, taken in turn (before, after, after) so that the drifting load
of a shared machine hits all three alike; the findings of each code are
counted.

    .venv/bin/python bench/deeplint.py                          # 1,000 and 10,000 rules
    .venv/bin/python bench/deeplint.py --sizes 200 --repeat 1   # smoke run
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from compile import generate

import rulec
from rulec.dsl.report import Format, render
from rulec.tools.deeplint import with_deep_lint

#: Deep lint may make ``rulec check`` this many times slower at the most.
TARGET_RATIO = 2.0
DAYS = (date(2026, 1, 1), date(2027, 1, 1))


def interleaved(fns: list[Callable[[], Any]], repeat: int) -> list[float]:
    """The median time of each of ``fns``, run in turn ``repeat`` times: the load of a
    shared machine drifts, and it then hits every figure alike."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for n, fn in enumerate(fns):
            gc.collect()
            t0 = time.perf_counter()
            fn()
            times[n].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def before(path: Path) -> str:
    analysis = rulec.analyze_paths([path])
    return render(Format.TEXT, analysis.diagnostics, analysis.texts())


def after(path: Path, day: date) -> tuple[str, Counter[str]]:
    analysis = rulec.analyze_paths([path])
    found = with_deep_lint(analysis, rulec.DEFAULT_VOCABULARY, as_of=day)
    codes = Counter(d.code for d in found if d.code >= "R320")
    return render(Format.TEXT, found, analysis.texts()), codes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000", help="rule counts, comma-separated")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per figure (3)")
    ap.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = ap.parse_args(argv)
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error("--sizes takes whole numbers separated by commas")
    if not sizes or min(sizes) < 1 or args.repeat < 1:
        ap.error("sizes and --repeat must be at least 1")
    print(
        f"rulec {rulec.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, median of {args.repeat}"
    )
    print(f"{'rules':>8} {'as of':>10} {'before s':>9} {'after s':>9} {'ratio':>6}  found")
    missed = False
    with tempfile.TemporaryDirectory(prefix="rulec-bench-") as tmp:
        for size in sizes:
            path = Path(tmp) / f"rules-{size}.rules"
            path.write_text(generate(size), encoding="utf-8")
            after(path, DAYS[0])  # warm up: the parser, the lazy imports
            runs: list[Callable[[], Any]] = [lambda p=path: before(p)]
            runs += [lambda p=path, d=day: after(p, d) for day in DAYS]
            base, *afters = interleaved(runs, args.repeat)
            for day, took in zip(DAYS, afters, strict=True):
                codes = after(path, day)[1]
                ratio = took / base
                missed |= ratio > TARGET_RATIO
                found = ", ".join(f"{c} {n:,}" for c, n in sorted(codes.items())) or "none"
                print(
                    f"{size:>8,} {day.isoformat():>10} {base:>9.2f} {took:>9.2f} "
                    f"{ratio:>6.2f}  {found}"
                )
    print(f"target: ratio <= {TARGET_RATIO} ({'met' if not missed else 'MISSED'})")
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
