"""The engine's metrics, through the OpenTelemetry API: the one module that speaks it.

The OpenTelemetry API is a no-op until the application installs an SDK
(``opentelemetry-sdk``) and sets a meter provider, so an engine that nobody
watches pays a few attribute lookups per decision. What is measured, and the
alerts to set on it, is in ``docs/operations.md``:

===========================  =========  ==============  ====================================
name                         kind       unit            attributes
===========================  =========  ==============  ====================================
``rulec.decisions``          counter    ``{decision}``  event, version
``rulec.rules.applied``      counter    ``{rule}``      event, rule, version
``rulec.rules.lost``         counter    ``{rule}``      event, rule, version
``rulec.discount.amount``    counter    ``{currency}``  event, rule, version, currency
``rulec.rule.errors``        counter    ``{error}``     event, rule or error.type, version
``rulec.decision.duration``  histogram  ``s``           event, version
===========================  =========  ==============  ====================================

(``event`` is ``rulec.event``, ``rule`` ``rulec.rule``, ``version``
``rulec.ruleset.version``.) Label names, order ids and other row values are
never attributes: a rule's name, an event's key, a currency code and a rule
set's version are the only values, so the number of series is bounded by
the rule set, not by the data.

**Where.** The database shell records: :meth:`Engine.fire
<rulec.engine.db.attach.Engine.fire>` and label events (one decision at a
time), scheduled runs (a batch at a time), listings (a listing at a
time). The pure core (``RuleSet.evaluate``, ``decide``) records nothing,
because even with no SDK the cheapest recording (a counter and a
histogram) costs a decision there 3-6 %, and the per-rule counts about
half again (``docs/performance.md``, section 7); a caller of the pure path who wants its
decisions counted opts in with :meth:`Metrics.evaluate`.

**Approximations.** Amounts are Decimal in the engine and floats in
OpenTelemetry; a decision is counted when it is made, also when the
caller's transaction then rolls back. The audit rows are the truth.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from opentelemetry.metrics import MeterProvider, get_meter

from rulec.engine.core.decision import Decision, RuleFailure, Verdict

if TYPE_CHECKING:
    from rulec.engine.core.ruleset import RuleSet

__all__ = [
    "APPLIED",
    "DECISIONS",
    "DISCOUNT",
    "DURATION",
    "DURATION_BUCKETS",
    "ERRORS",
    "LOST",
    "METER_NAME",
    "Metrics",
    "Tally",
    "metrics_for",
]

#: The meter's name: the package's.
METER_NAME = "rulec"

DECISIONS = "rulec.decisions"
APPLIED = "rulec.rules.applied"
LOST = "rulec.rules.lost"
DISCOUNT = "rulec.discount.amount"
ERRORS = "rulec.rule.errors"
DURATION = "rulec.decision.duration"

EVENT = "rulec.event"
RULE = "rulec.rule"
VERSION = "rulec.ruleset.version"
CURRENCY = "currency"
ERROR_TYPE = "error.type"

#: Seconds: from 50 µs (a decision from facts in memory) to 2.5 s (a large listing).
DURATION_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)

_ZERO = Decimal(0)

#: ``error.type`` of a decision that failed as a whole (an order in an unknown currency).
UNDECIDED = "undecided"


def _version() -> str:
    try:
        return version("rulec")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return ""


class Tally:
    """What decisions of one event and rule set add to the metrics, counted in
    memory and recorded at once by :meth:`Metrics.record`: a scheduled batch's
    rows, a listing's candidates, or one decision.

    Discounts are added up as Decimal, and made floats once, when recorded.
    """

    __slots__ = (
        "applied",
        "decisions",
        "discounts",
        "event",
        "failed",
        "lost",
        "raised",
        "version",
    )

    def __init__(self, event: str, version: str) -> None:
        self.event = event
        self.version = version
        self.decisions = 0
        #: rule -> times it applied, lost, failed.
        self.applied: dict[str, int] = {}
        self.lost: dict[str, int] = {}
        self.failed: dict[str, int] = {}
        #: error type -> evaluations that decided nothing.
        self.raised: dict[str, int] = {}
        #: (rule, currency) -> discount granted.
        self.discounts: dict[tuple[str, str], Decimal] = {}

    def add(self, decision: Decision) -> None:
        """Count one decision: its rules applied, lost and failed, its discounts."""
        self.decisions += 1
        matched = decision.matched
        if matched:
            applied = self.applied
            if decision.lost:
                lost = self.lost
                for r in decision.lost:
                    lost[r.rule] = lost.get(r.rule, 0) + 1
                losers = {r.rule for r in decision.lost}
                matched = tuple(name for name in matched if name not in losers)
            for name in matched:
                applied[name] = applied.get(name, 0) + 1
        if decision.applied:
            discounts, currency = self.discounts, decision.currency
            for a in decision.applied:
                key = (a.rule, currency)
                discounts[key] = discounts.get(key, _ZERO) + a.amount
        if decision.errors:
            self.failures(decision.errors)

    def add_verdict(self, verdict: Verdict) -> None:
        """Count one listed candidate: the rule that decided it, the rules that failed."""
        self.decisions += 1
        rule = verdict.rule
        if verdict.errors:
            self.failures(verdict.errors)
            if any(e.rule == rule for e in verdict.errors):
                return
        if rule is not None:
            self.applied[rule] = self.applied.get(rule, 0) + 1

    def failures(self, errors: Iterable[RuleFailure]) -> None:
        """Count rules that raised (a decision's or a verdict's ``errors``); a failure
        without a rule is an event that could not be decided."""
        for err in errors:
            if err.rule:
                self.failed[err.rule] = self.failed.get(err.rule, 0) + 1
            else:
                self.raised[UNDECIDED] = self.raised.get(UNDECIDED, 0) + 1

    def error(self, error: BaseException) -> None:
        """Count an evaluation that raised instead of deciding: a rule's error
        (``raise_errors``: it names the rule), or a value no rule could run on."""
        rule = getattr(error, "rule", None)
        if isinstance(rule, str) and rule:
            self.failed[rule] = self.failed.get(rule, 0) + 1
        else:
            kind = type(error).__name__
            self.raised[kind] = self.raised.get(kind, 0) + 1


class Metrics:
    """The engine's instruments, made once from one meter.

    ``Metrics()`` uses the global meter provider (OpenTelemetry's proxy until
    the application sets one, then the application's); ``Metrics(provider)``
    a given one, as tests and applications with several providers do.
    """

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        meter = get_meter(METER_NAME, _version(), meter_provider=meter_provider)
        self.decisions = meter.create_counter(
            DECISIONS, unit="{decision}", description="Events decided, one per order or row"
        )
        self.applied = meter.create_counter(
            APPLIED, unit="{rule}", description="Rules whose conditions held and that took effect"
        )
        self.lost = meter.create_counter(
            LOST, unit="{rule}", description="Rules whose conditions held but that lost"
        )
        self.discount = meter.create_counter(
            DISCOUNT,
            unit="{currency}",
            description="Discount granted, in the major unit of the currency attribute",
        )
        self.errors = meter.create_counter(
            ERRORS, unit="{error}", description="Rules that raised, and events not decided"
        )
        self.duration = meter.create_histogram(
            DURATION,
            unit="s",
            description="Time to decide one event (a listing, a scheduled batch: all of it)",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )

    # --------------------------------------------------------- recording --

    def record(self, tally: Tally, seconds: float | None = None) -> None:
        """Add ``tally`` to the instruments; ``seconds``, when given, is one duration."""
        event, ruleset = tally.event, tally.version
        base = {EVENT: event, VERSION: ruleset}
        if tally.decisions:
            self.decisions.add(tally.decisions, base)
        if seconds is not None:
            self.duration.record(seconds, base)
        for instrument, counts in (
            (self.applied, tally.applied),
            (self.lost, tally.lost),
            (self.errors, tally.failed),
        ):
            for rule, n in counts.items():
                instrument.add(n, {EVENT: event, RULE: rule, VERSION: ruleset})
        for kind, n in tally.raised.items():
            self.errors.add(n, {EVENT: event, VERSION: ruleset, ERROR_TYPE: kind})
        for (rule, currency), amount in tally.discounts.items():
            if amount:  # a Decimal: a float only for OpenTelemetry
                attrs = {EVENT: event, RULE: rule, VERSION: ruleset, CURRENCY: currency}
                self.discount.add(float(amount), attrs)

    def decided(self, decision: Decision, seconds: float | None = None) -> None:
        """Record one decision, and how long it took."""
        tally = Tally(decision.event, decision.version)
        tally.add(decision)
        self.record(tally, seconds)

    def raised(self, event: str, ruleset: str, error: BaseException) -> None:
        """Record an evaluation of ``event`` that raised instead of deciding."""
        tally = Tally(event, ruleset)
        tally.error(error)
        self.record(tally)

    # ------------------------------------------------ the pure path, opted in --

    def evaluate(
        self,
        rules: RuleSet,
        event: str,
        facts: Mapping[str, Any],
        *,
        raise_errors: bool = False,
    ) -> Decision:
        """``rules.evaluate(event, facts)``, recorded and timed.

        The pure path records nothing by itself (see the module's doc); a
        caller who decides without the database shell and wants the
        decisions in the metrics calls this instead.
        """
        start = time.perf_counter()
        try:
            decision = rules.evaluate(event, facts, raise_errors=raise_errors)
        except Exception as e:
            self.raised(event, rules.version, e)
            raise
        self.decided(decision, time.perf_counter() - start)
        return decision


_default: Metrics | None = None
_made: weakref.WeakKeyDictionary[MeterProvider, Metrics] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def metrics_for(meter_provider: MeterProvider | None = None) -> Metrics:
    """The instruments of ``meter_provider`` (None: the global provider), made once each."""
    global _default
    if meter_provider is None:
        if _default is None:
            with _lock:
                if _default is None:
                    _default = Metrics()
        return _default
    with _lock:
        found = _made.get(meter_provider)
        if found is None:
            found = _made[meter_provider] = Metrics(meter_provider)
    return found
