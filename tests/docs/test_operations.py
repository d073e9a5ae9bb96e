"""docs/operations.md says what the engine's instruments are, and its alerts query them.

- Its metrics table lists exactly the instruments ``rulec.engine.metrics``
  makes, each with its kind and unit.
- Every ``rulec_…`` name in its alert rules is a series the Prometheus
  exporter makes of those instruments (dots to underscores, ``_total`` on a
  counter, ``_seconds`` for the unit ``s``, a histogram's ``_bucket``,
  ``_count`` and ``_sum``) or an attribute the instruments carry.
"""

from __future__ import annotations

import re
from pathlib import Path

from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider

from rulec.engine import metrics as engine_metrics
from rulec.engine.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "docs" / "operations.md"
#: Every attribute key the instruments use.
ATTRIBUTES = ("rulec.event", "rulec.rule", "rulec.ruleset.version", "currency", "error.type")


def instruments() -> dict[str, tuple[str, str]]:
    """name -> (kind, unit) of every instrument Metrics makes."""
    provider = MeterProvider()
    try:
        made = Metrics(provider)
        found = {}
        for value in vars(made).values():
            assert isinstance(value, Counter | Histogram)
            kind = "counter" if isinstance(value, Counter) else "histogram"
            found[value.name] = (kind, value.unit)
        return found
    finally:
        provider.shutdown()


def documented() -> dict[str, tuple[str, str]]:
    rows = re.findall(
        r"^\| `(rulec\.[\w.]+)` \| (\w+) \| `([^`]+)` \|", OPERATIONS.read_text(), re.M
    )
    return {name: (kind, unit) for name, kind, unit in rows}


def series(name: str, kind: str, unit: str) -> set[str]:
    base = name.replace(".", "_") + ("_seconds" if unit == "s" else "")
    if kind == "counter":
        return {base + "_total"}
    return {base + suffix for suffix in ("_bucket", "_count", "_sum")}


class TestOperationsDoc:
    def test_the_table_lists_every_instrument(self):
        made = instruments()
        assert len(made) == 6
        assert documented() == made
        assert set(made) == {
            getattr(engine_metrics, n)
            for n in ("DECISIONS", "APPLIED", "LOST", "DISCOUNT", "ERRORS", "DURATION")
        }

    def test_the_alerts_query_only_what_is_exported(self):
        text = OPERATIONS.read_text()
        [rules] = re.findall(r"```yaml\n(.*?)```", text, re.S)
        known = {
            s for name, (kind, unit) in instruments().items() for s in series(name, kind, unit)
        }
        labels = {a.replace(".", "_") for a in ATTRIBUTES}
        used = set(re.findall(r"\brulec_\w+", rules))
        assert used - known - labels == set()
        # each of the old system's alerts is there
        for name in (
            "rulec_rule_errors_total",
            "rulec_discount_amount_total",
            "rulec_decisions_total",
            "rulec_decision_duration_seconds_bucket",
        ):
            assert name in used
        assert len(re.findall(r"^\s+- alert: ", rules, re.M)) == 5
