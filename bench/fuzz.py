"""Fuzzing the front end at length: every kind of input, and ``rulec check`` on a sample.

The generators and the contract are the test suite's own
(``tests/dsl/test_fuzz.py``: ``inputs`` and ``check_input``), so this
script and the suite's bounded run cannot drift apart. Each input is one of
``valid`` (generated from the grammar), ``mutated`` (tokens deleted,
duplicated, swapped, junk inserted, truncated), ``soup`` (random tokens),
``bytes`` (random bytes), ``bad-utf8`` (a valid file with undecodable bytes),
``huge`` (10 kB to 1.2 MB) and ``nested`` (up to 5,000 levels). For each, in
process: parse, check and compile raise nothing but ``rulec.RulesError``,
every diagnostic's span is inside the file, every output format renders, a
valid file loads. Every ``--cli-every``-th input also goes through the real
``rulec check`` command (click's runner, all four formats in turn): exit 0, 1
or 2, no traceback, output that parses.

It prints the inputs tried per kind, the failures found (the first few in
full) and inputs per second, and exits 1 if any input failed.

    .venv/bin/python bench/fuzz.py                       # 100,000 inputs
    .venv/bin/python bench/fuzz.py --count 2000 --seed 7  # a quick look
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("text", "json", "github", "sarif")


def load_fuzz_module() -> ModuleType:
    """``tests/dsl/test_fuzz.py`` (the tests are not a package)."""
    path = ROOT / "tests" / "dsl" / "test_fuzz.py"
    spec = importlib.util.spec_from_file_location("rulec_fuzz_strategies", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


JUNK_BYTES = (b"\x80", b"\xff", b"\xc3", b"\xe2\x80", b"\xed\xa0\x80", b"\xc0\xaf", b"\x00")


def mutate(rng: random.Random, text: str, pieces: list[str]) -> str:
    """What ``damaged`` in the suite does, with ``rng``: token edits, junk, truncation."""
    for _ in range(rng.randint(1, 4)):
        tokens = text.split(" ")
        how = rng.choice(["delete", "duplicate", "swap", "insert", "truncate"])
        i, j = rng.randrange(len(tokens)), rng.randrange(len(tokens))
        if how == "delete" and len(tokens) > 1:
            del tokens[i]
        elif how == "duplicate":
            tokens.insert(i, tokens[i])
        elif how == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif how == "insert":
            junk = rng.choice(pieces) if rng.random() < 0.7 else chr(rng.randrange(0x3000))
            pos = rng.randint(0, len(tokens[i]))
            tokens[i] = tokens[i][:pos] + junk + tokens[i][pos:]
        text = " ".join(tokens)
        if how == "truncate":
            text = text[: rng.randint(0, len(text))]
    return text


def variant(rng: random.Random, kind: str, text: str, fuzz: ModuleType) -> str | bytes:
    """One input of ``kind`` made from the generated valid file ``text``."""
    if kind == "mutated":
        return mutate(rng, text, fuzz.PIECES)
    if kind == "soup":
        return " ".join(rng.choice(fuzz.SOUP) for _ in range(rng.randint(0, 60)))
    if kind == "bytes":
        return rng.randbytes(rng.randint(0, 400))
    if kind == "bad-utf8":
        raw = text.encode("utf-8")
        for _ in range(rng.randint(1, 3)):
            pos = rng.randint(0, len(raw))
            junk = rng.choice(JUNK_BYTES) if rng.random() < 0.7 else rng.randbytes(3)
            raw = raw[:pos] + junk + raw[pos:]
        return raw
    if kind == "nested":
        depth = rng.choice([rng.randint(0, 40), rng.randint(0, 5000)])
        opener = rng.choice(["(", "not ", "not (", "((", "not not "])
        tail = ")" * opener.count("(") * depth
        tail = rng.choice([tail, tail, tail[: len(tail) // 2], tail + ")"])
        cond = opener * depth + "customer has label X" + tail
        return f'label X for customer\non order_created when {cond} then discount 1% "x"\n'
    assert kind == "huge"
    size = rng.randint(10_000, 1_200_000)
    if rng.random() < 0.3:
        return text * max(1, size // (len(text) * 4))
    filler = rng.choice(["x", "é", "顧", "(", " ", "\t", "$", '"']) * size
    return rng.choice(
        [
            f'on order_created then discount 10% "x" {filler}\n',
            f'on order_created then discount 10% "{filler}"\n',
            f"label A{filler} for customer\n",
            f"# {filler}\n",
            filler,
        ]
    )


#: How often each kind is made from one generated file; huge inputs are slow.
WEIGHTS = {"mutated": 40, "soup": 10, "bytes": 10, "bad-utf8": 25, "nested": 10, "huge": 0.15}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--count", type=int, default=100_000, help="inputs to try")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same run)")
    parser.add_argument(
        "--variants",
        type=int,
        default=9,
        help="damaged inputs made from each generated valid file",
    )
    parser.add_argument(
        "--cli-every", type=int, default=50, help="run `rulec check` on every Nth input"
    )
    parser.add_argument("--show", type=int, default=3, help="failures to print in full")
    args = parser.parse_args(argv)

    fuzz = load_fuzz_module()
    tried: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    failures: list[tuple[str, str | bytes, str]] = []
    cli_runs = 0
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="rulec-fuzz-"))
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    rng = random.Random(args.seed)

    def attempt(kind: str, data: str | bytes) -> None:
        nonlocal cli_runs
        n = sum(tried.values())
        if n >= args.count:
            return
        tried[kind] += 1
        record(kind, data, lambda: fuzz.check_input(kind, data))
        if args.cli_every and n % args.cli_every == 0:
            fmt = FORMATS[cli_runs % len(FORMATS)]
            cli_runs += 1
            record(f"{kind} (rulec check)", data, lambda: fuzz.check_cli(data, fmt, folder))
        if n and n % 10_000 == 0:
            rate = n / (time.perf_counter() - started)
            print(f"  … {n:,} inputs, {sum(failed.values())} failures, {rate:,.0f}/s", flush=True)

    def record(kind: str, data: str | bytes, check: Any) -> None:
        try:
            check()
        except Exception:
            failed[kind] += 1
            if len(failures) < args.show:
                failures.append((kind, data, traceback.format_exc(limit=-4)))

    per_file = 1 + args.variants

    @seed(args.seed)
    @settings(
        max_examples=-(-args.count // per_file),
        phases=[Phase.generate],  # no shrinking, no replay: every input is new
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(fuzz.rules_files())
    def run(text: str) -> None:
        attempt("valid", text)
        for kind in rng.choices(kinds, weights, k=args.variants):
            attempt(kind, variant(rng, kind, text, fuzz))

    run()
    elapsed = time.perf_counter() - started
    total = sum(tried.values())

    print(f"rulec front-end fuzz: seed {args.seed}, {total:,} inputs in {elapsed:,.1f} s")
    print(f"{'kind':<12} {'inputs':>9} {'failures':>9}")
    for kind in fuzz.KINDS:
        print(f"{kind:<12} {tried[kind]:>9,} {failed[kind]:>9,}")
    cli_failed = sum(v for k, v in failed.items() if k.endswith("(rulec check)"))
    print(f"{'rulec check':<12} {cli_runs:>9,} {cli_failed:>9,}   (a sample, all four formats)")
    print(f"failures: {sum(failed.values())}")
    print(f"inputs/s: {total / elapsed:,.0f}")
    for kind, data, tb in failures:
        shown = data[:300] if len(data) > 300 else data
        print(f"\n--- {kind}: {shown!r} ({len(data):,} long)\n{tb}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
