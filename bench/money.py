"""The money rules on many random orders, against an independent reference (issue 13).

Random orders in EUR, USD, GBP, JPY and KWD (half of them made of lines whose
unit prices have 0 to 4 places, half a subtotal, finer than the minor unit
or negative at times) with 1 to 4 random percentage, capped and fixed rules
(in the order's currency or another, exclusive or combinable) go through
``RuleSet.evaluate`` and ``allocate``; the reference of
``tests/engine/test_money.py`` (integer minor units, exact fractions, no code
shared with ``engine/core/money.py``) says what each must give: the lines'
totals, a refusal exactly for the subtotals that are not paid amounts, the
applied amounts, the total in the currency's places, and the shares. The
property tests run the same reference on a few hundred orders per suite run.

    .venv/bin/python bench/money.py --orders 1000000 --seed 7

Exit status 1 when an order is wrong (the first few are printed).
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import rulec
from rulec.engine.core.money import MoneyError, allocate
from rulec.engine.db.facts.catalog import line_cost

ROOT = Path(__file__).resolve().parent.parent


def reference() -> ModuleType:
    """``tests/engine/test_money.py`` (the tests are not a package)."""
    path = ROOT / "tests" / "engine" / "test_money.py"
    spec = importlib.util.spec_from_file_location("rulec_money_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # attrs needs the module to resolve RefRule
    spec.loader.exec_module(module)
    return module


REF = reference()
load = lru_cache(maxsize=4096)(lambda text: rulec.load_text(text, "r.rules"))


def amount(rng: random.Random, top: int, places: int | None = None) -> Decimal:
    """From 0 to ``top``, with ``places`` places (0 to 4 at random when None)."""
    k = rng.randint(0, 4) if places is None else places
    return Decimal(rng.randint(0, top * 10**k)).scaleb(-k)


def rule(rng: random.Random, currency: str) -> Any:
    other = rng.choice([currency, currency, *REF.CURRENCIES])
    priority, flag = rng.randint(0, 2), rng.choice(["", "", "", "exclusive", "combinable"])
    if rng.random() < 0.5:
        fixed = amount(rng, 500, REF.PLACES[other]) or Decimal(1)
        return REF.RefRule(priority, flag, None, fixed, other)
    cap = (amount(rng, 300, REF.PLACES[other]) or Decimal(1)) if rng.random() < 0.3 else None
    percent = Decimal(rng.randint(1, 10_000)).scaleb(-2)
    return REF.RefRule(priority, flag, percent, cap, other if cap is not None else None)


def one(rng: random.Random) -> tuple[str, bool]:
    """One random order: ('decided' | 'refused', whether rulec agrees with the reference)."""
    currency = rng.choice(REF.CURRENCIES)
    rules = [rule(rng, currency) for _ in range(rng.randint(1, 4))]
    rule_set = load("".join(r.text(n) for n, r in enumerate(rules)))
    units = REF.units
    sold, lines, ok = None, [], True
    if rng.random() < 0.5:
        sold = [(rng.randint(1, 12), amount(rng, rng.choice([20, 2000]))) for _ in range(8)]
        sold = sold[: rng.randint(1, 8)]
        lines = [line_cost(SimpleNamespace(quantity=q, unit_price=p), currency) for q, p in sold]
        ok = [units(x, currency) for x in lines] == [
            REF.half_up(q * units(p, currency)) for q, p in sold
        ]
        subtotal = sum(lines, Decimal(0))
    elif rng.random() < 0.9:
        subtotal = amount(rng, rng.choice([50, 100_000]))
    else:
        subtotal = -(amount(rng, 5) or Decimal(1))
    exact = units(subtotal, currency)
    payable = exact >= 0 and exact.denominator == 1
    try:
        d = rule_set.evaluate(
            "order_created", {"order": {"subtotal": subtotal, "currency": currency}}
        )
    except MoneyError:
        return "refused", ok and not payable
    want = REF.reference_discounts(rules, int(exact), currency)
    ok = (
        ok
        and payable
        and [units(a.amount, currency) for a in d.applied] == want
        and units(d.total_amount, currency) == int(exact) - sum(want)
        and 0 <= d.total_amount <= d.subtotal
        and d.total_amount.as_tuple().exponent == -REF.PLACES[currency]
    )
    if ok and sold is not None:
        shares = allocate(d.discount_amount, lines, currency)
        ok = [units(x, currency) for x in shares] == REF.reference_shares(
            sum(want), [int(units(x, currency)) for x in lines]
        ) and all(s <= line for s, line in zip(shares, lines, strict=True))
    if not ok:
        print(f"WRONG: {currency} {rules} lines={sold} subtotal={subtotal} -> {d}")
    return "decided", ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    counts = {"decided": 0, "refused": 0}
    wrong = 0
    start = time.perf_counter()
    for _ in range(args.orders):
        kind, ok = one(rng)
        counts[kind] += 1
        wrong += not ok
        if wrong >= 10:
            break
    took = time.perf_counter() - start
    print(f"seed {args.seed}, {args.orders:,} orders in {took:,.0f} s")
    print(f"decided {counts['decided']:>10,}")
    print(f"refused {counts['refused']:>10,}   (subtotals finer than the minor unit, or negative)")
    print(f"wrong   {wrong:>10,}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
