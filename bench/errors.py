"""What one syntax error costs ``rulec check``: a broken file against the same file clean.

Issue 13, bug 8. The parser reads clean text with its fast driver and hands
only the region around a syntax error to the Lark parser (which says what is
wrong and where); before, one error sent the whole file to Lark, twice, and
checking took 4 to 7 times as long. For each case a generated file of
valid, varied rules (those of ``bench/compile.py``) is checked clean and
broken, in turn, in the same process:

* 20,000 and 60,000 rules with one broken rule at the end (a missing
  ``then``), against the same rules without it;
* a file of just under 16 MiB (the largest file ``rulec check`` reads) cut
  in the middle of its last rule, against the same file cut before that
  rule.

The figure is what ``rulec check`` does once its modules are imported: read
the file, parse, check, and render the text report (``analyze_paths`` and
``render``), median of the runs. Target: the broken file costs at most twice
the clean one.

    .venv/bin/python bench/errors.py                                   # about 2 minutes
    .venv/bin/python bench/errors.py --sizes 200 --cut-mib 0.1 --repeat 1  # smoke run
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
from collections.abc import Callable
from pathlib import Path

from compile import EXPECTED, generate

import rulec
from rulec.dsl.nodes import Rule
from rulec.dsl.parser import MAX_FILE_BYTES
from rulec.dsl.report import Format, render

#: A broken file may cost at most this many times the clean one.
TARGET_RATIO = 2.0
#: The rule that breaks a file: 'then' is missing (R103).
BROKEN_RULE = 'on order_created when customer has label Segment_01 discount 10% "broken"\n'


class Case:
    """A clean file and the same file broken, and what checking each took."""

    def __init__(self, name: str, clean: Path, broken: Path) -> None:
        self.name = name
        self.rules = 0
        self.clean = clean
        self.broken = broken
        self.seconds: dict[str, float] = {}
        self.codes: list[str] = []

    @property
    def ratio(self) -> float:
        return self.seconds["broken"] / self.seconds["clean"]


def check(path: Path) -> rulec.Analysis:
    """What ``rulec check PATH`` does after its imports."""
    analysis = rulec.analyze_paths([path])
    render(Format.TEXT, analysis.diagnostics, analysis.texts())
    return analysis


def one_error(folder: Path, rules: int) -> Case:
    text = generate(rules)
    clean = folder / f"clean-{rules}.rules"
    broken = folder / f"broken-{rules}.rules"
    clean.write_text(text, encoding="utf-8")
    broken.write_text(text + BROKEN_RULE, encoding="utf-8")
    return Case(f"{rules:,} rules, one error at the end", clean, broken)


def cut(folder: Path, mib: float) -> Case:
    """A file of about ``mib`` MiB (at most the size limit) cut in its last rule."""
    size = min(int(mib * 1024 * 1024), MAX_FILE_BYTES)
    rules = 1000
    text = generate(rules)
    while len(text.encode("utf-8")) <= size:
        rules = rules * 2
        text = generate(rules)
    # ASCII text: characters are bytes
    head = text[:size]
    last = head.rfind("\non ")  # the last one-line rule that starts in the size
    assert last > 0, "the file is too small to cut"
    # in the middle of its 'then' ("... is EUR th")
    cut_at = text.index(" then ", last) + 3
    clean_text, broken_text = text[: last + 1], text[:cut_at]
    clean = folder / "cut-clean.rules"
    broken = folder / "cut-broken.rules"
    clean.write_text(clean_text, encoding="utf-8")
    broken.write_text(broken_text, encoding="utf-8")
    return Case(f"{len(broken_text) / 2**20:.1f} MiB, cut mid-rule", clean, broken)


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(case: Case, repeat: int) -> None:
    analysis = check(case.clean)
    if any(d.code not in EXPECTED for d in analysis.diagnostics):
        raise SystemExit(f"{case.clean.name}: the clean file has diagnostics")
    case.rules = sum(isinstance(i, Rule) for i in analysis.items[str(case.clean)])
    del analysis
    case.codes = [d.code for d in check(case.broken).diagnostics if d.code not in EXPECTED]
    if not case.codes:
        raise SystemExit(f"{case.broken.name}: the broken file has no diagnostic")
    clean, broken = [], []
    for _ in range(repeat):  # in turn, so that drift hits both alike
        clean.append(timed(lambda: check(case.clean)))
        broken.append(timed(lambda: check(case.broken)))
    case.seconds = {"clean": statistics.median(clean), "broken": statistics.median(broken)}


def report(cases: list[Case], repeat: int) -> int:
    """Print the table; return the number of targets missed."""
    print(
        f"rulec {rulec.__version__}, Python {platform.python_version()} on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; "
        f"median of {repeat} run{'s' if repeat != 1 else ''}; seconds"
    )
    print()
    print(
        f"{'file':<36}{'rules':>8}{'clean':>9}{'broken':>9}{'ratio':>7}{'target':>9}"
        f"{'met':>5}  reported"
    )
    missed = 0
    for c in cases:
        ok = c.ratio <= TARGET_RATIO
        missed += not ok
        codes = ", ".join(dict.fromkeys(c.codes))
        print(
            f"{c.name:<36}{c.rules:>8,}{c.seconds['clean']:>9.3f}{c.seconds['broken']:>9.3f}"
            f"{c.ratio:>7.2f}{'<= ' + format(TARGET_RATIO, 'g'):>9}{'yes' if ok else 'NO':>5}"
            f"  {codes}"
        )
    return missed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="20000,60000", help="rule counts, comma-separated")
    ap.add_argument(
        "--cut-mib", type=float, default=16.0, help="size of the cut file in MiB (0: none)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per figure (3)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error("--sizes takes whole numbers separated by commas")
    if (sizes and min(sizes) < 1) or args.repeat < 1 or args.cut_mib < 0:
        ap.error("sizes and --repeat must be at least 1, --cut-mib at least 0")
    if not sizes and not args.cut_mib:
        ap.error("nothing to measure")
    with tempfile.TemporaryDirectory(prefix="rulec-bench-") as tmp:
        folder = Path(tmp)
        cases = [one_error(folder, n) for n in sizes]
        if args.cut_mib:
            cases.append(cut(folder, args.cut_mib))
        for case in cases:
            measure(case, args.repeat)
    missed = report(cases, args.repeat)
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
