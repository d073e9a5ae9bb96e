"""Scheduled events: the ``daily`` and ``monthly`` rules, run over every customer or order.

``run_scheduled(session_factory, rules, "daily")`` runs, for each subject
that has rules for the event (``daily:customer``, ``daily:order``), those
rules over every row of the subject, in id order, in batches::

    with factory() as session, session.begin():          # one transaction per batch
        lock the run row, check last_id                   # resumable, never doubled
        SELECT id … WHERE id > :last ORDER BY id LIMIT n  # keyset pagination
        one query per kind of fact the rules read          # never one per row
        evaluate each row; apply what changes something   # rulec.engine.db.write
        UPDATE scheduled_runs SET last_id, processed …   # same transaction

**Periods.** A run is for one period: the day (``2026-11-26``) of a
``daily`` run, the month (``2026-11``) of a ``monthly`` one, in UTC unless
given. Each (event, subject, period) has one :class:`ScheduledRun` row.
A finished one is skipped ("already done"); an unfinished one (a run that
crashed) is resumed after its ``last_id``. Its ``last_id`` and
``processed`` move in the transaction of the batch they count, so a crash
loses nothing and doubles nothing.

**Concurrency.** Every batch starts by reading the run row (on PostgreSQL
``SELECT … FOR UPDATE NOWAIT``) and ends with a compare-and-set ``UPDATE
… WHERE last_id = :last AND finished_at IS NULL`` in the same
transaction. Two runs of one period can therefore never both commit a
batch over the same rows: the one that finds the row locked, moved on or
finished (or whose compare-and-set matches nothing) rolls its batch back
and stops with :attr:`RunStatus.HELD`; the other carries on. Two runs
creating the row at once collide on its unique constraint; the loser reads
the winner's row.

**Facts.** Each batch reads its facts through the fact catalog's batch
readers (:mod:`rulec.engine.db.facts.batch`): the same facts, with the same
meaning, as an order event's, with a fixed number of queries whatever the
batch's size (a range ``BETWEEN first AND last id`` of the batch, or a
sub-select of it), and only the facts the event's rules read
(``RuleSet.keys_for``). Rows are decided one
by one in id order, and the labels a rule adds or removes are updated in
memory as it goes, so a later row of the same batch (another order of the
same customer) sees them as it would in a batch of its own: the outcome
does not depend on the batch size.

**Effects.** A decision whose label changes and field settings would change
nothing (adding a label the row already has) costs no statement and does
not count as a change. The others are applied with
:func:`rulec.engine.db.write.apply_effects`, after the rows they touch have
been loaded with one query per kind of row.

**Rule errors.** A rule that raises is skipped (the decision's ``errors``),
logged on the ``rulec.engine`` logger with the subject's id, and counted;
the row's other rules and the batch go on.

**Metrics.** Each committed batch is recorded through the OpenTelemetry
API (:mod:`rulec.engine.metrics`) under the event's key
(``daily:customer``): one decision per row, the rules applied, lost and
failed, and one duration, the batch's. The rows are counted in memory and
recorded once per batch: a row costs a few dict updates, not an
instrument call. A batch rolled back (another run holds the period) is
not recorded.

**Validity windows.** For a customer, a rule's ``from … until …`` window is
compared with the start of the period (the ``order.created_at`` fact,
which customer rules cannot read otherwise); for an order it is compared
with the order's ``created_at``, as for order events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from attrs import frozen
from sqlalchemy import Connection, func, inspect, select
from sqlalchemy.orm import Session, selectinload

from rulec.engine.core.decision import Decision
from rulec.engine.core.facts import Facts
from rulec.engine.core.rules import LabelChange_, SetField_
from rulec.engine.core.ruleset import RuleSet
from rulec.engine.db.facts.batch import BatchRow as _Row
from rulec.engine.db.facts.batch import CustomerBatches, OrderBatches, Page
from rulec.engine.db.facts.binding import REFERENCE, Binding
from rulec.engine.db.facts.catalog import ORDER_FACTS
from rulec.engine.db.runs import (
    EVENTS,
    BatchInfo,
    Held,
    Progress,
    RunReport,
    RunStatus,
    RunTable,
    SubjectReport,
    advance,
    check_event,
    check_period,
    claim,
    current_period,
    lock,
    owned_runs,
    period_start,
    unfinished,
)
from rulec.engine.db.runs import REFERENCE_RUNS as _REFERENCE_RUNS
from rulec.engine.db.write import apply_effects
from rulec.engine.metrics import Metrics, Tally, metrics_for
from rulec.engine.vocabulary import SCHEDULED_SUBJECTS
from rulec.storage.models import Order

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

__all__ = [
    "EVENTS",
    "BatchInfo",
    "Progress",
    "RunReport",
    "RunStatus",
    "SubjectReport",
    "check_period",
    "current_period",
    "period_start",
    "run_scheduled",
]

logger = logging.getLogger("rulec.engine")

#: Ids per ``IN (…)`` when the rows a batch changes are loaded.
_IN_CHUNK = 1000

# ------------------------------------------------------------------- facts --

#: The scheduled subjects' batch readers (rulec.engine.db.facts.batch), and the
#: facts each one reads; others read as None (or no labels).
_BATCHES = {"customer": CustomerBatches, "order": OrderBatches}
_SUPPORTED = {
    "customer": frozenset({"customer.labels", "customer.order_count"}),
    "order": frozenset(ORDER_FACTS),
}
_SCOPES = {"customer": ("customer",), "order": ("order", "customer", "agent", "item")}


@frozen
class _Plan:
    """What one subject's run reads and writes, worked out once."""

    subject: str
    key: str
    keys: frozenset[str]
    #: Entities whose labels are loaded: read by the rules, or changed by them.
    label_entities: tuple[str, ...]
    #: Entities whose labels go into the facts.
    fact_labels: tuple[str, ...]
    #: Whether a rule sets a field (an order's status: its history is loaded with it).
    sets_fields: bool
    #: Reads the pages of the subject's rows with the facts the rules read.
    batches: OrderBatches | CustomerBatches


def _plan(
    rules: RuleSet, subject: str, key: str, as_of: datetime, binding: Binding = REFERENCE
) -> _Plan:
    keys = rules.keys_for(key)
    scope = _SCOPES[subject]
    unknown = sorted(
        k for k in keys if k.split(".", 1)[0] in scope and k not in _SUPPORTED[subject]
    )
    if unknown:
        logger.warning(
            "%s: scheduled runs do not load %s; rules reading them see no value",
            key,
            ", ".join(unknown),
        )
    changed: set[str] = set()
    sets_fields = False
    for r in rules.rules:
        if r.event != key or not r.enabled:
            continue
        for a in r.actions:
            if isinstance(a, LabelChange_):
                changed.add(a.entity)
            elif isinstance(a, SetField_):
                sets_fields = True
    holders = ("customer",) if subject == "customer" else ("order", "customer", "agent")
    fact_labels = tuple(e for e in holders if f"{e}.labels" in keys)
    label_entities = tuple(e for e in holders if e in changed or e in fact_labels)
    #: Every fact key, with its value when the reader sets none.
    base = Facts({k: frozenset() if k.endswith(".labels") else None for k in rules.fact_keys})
    if subject == "customer":
        base["order.created_at"] = as_of  # the validity windows' clock, see the module doc
    batches = _BATCHES[subject](keys, label_entities, base, binding)
    return _Plan(subject, key, keys, label_entities, fact_labels, sets_fields, batches)


def _read(conn: Connection, plan: _Plan, last: Any, limit: int) -> Page:
    return plan.batches.read(conn, last, limit)


#: Reads one batch of a subject's rows (a seam for the tests).
_READERS: dict[str, Callable[[Connection, _Plan, Any, int], Page]] = {
    "customer": _read,
    "order": _read,
}
_read_orders = _read
_read_customers = _read
#: The entities a scheduled run's rules may change.
_CHANGED = ("customer", "order", "agent")


def runs_for(binding: Binding, subject: str) -> RunTable:
    """Where ``binding``'s runs of ``subject`` are recorded: the reference models'
    ``scheduled_runs``, or rulec's own table for a backend's models."""
    if binding.records == "relations":
        return _REFERENCE_RUNS
    kind = binding.view(subject).c.id.type.python_type
    return owned_runs(kind)


# ----------------------------------------------------------------- effects --


def _track(
    decision: Decision, subject: str, row: _Row, labels: dict[str, dict[Any, set[str]]]
) -> tuple[bool, set[str]]:
    """Whether ``decision`` changes anything for ``row``, and the entities it touches.

    The labels in memory (and the row's fields) are updated as the decision
    would change them, so that the rows after it see the changes.
    """
    touched: set[str] = set()
    changed = False
    before: dict[tuple[str, Any], frozenset[str]] = {}
    for change in decision.label_changes:
        entity = change.entity
        eid = row.entities.get(entity)
        if eid is None:
            continue
        touched.add(entity)
        held = labels.get(entity)
        if held is None:  # labels not tracked: assume a change
            changed = True
            continue
        current = held.setdefault(eid, set())
        before.setdefault((entity, eid), frozenset(current))
        if change.add:
            current.add(change.label)
        else:
            current.discard(change.label)
    for (entity, eid), was in before.items():
        changed = changed or labels[entity][eid] != was
    for setting in decision.field_changes:
        eid = row.entities.get(setting.entity)
        if eid is None:
            continue
        touched.add(setting.entity)
        if setting.entity != subject or setting.field not in row.fields:
            changed = True
        elif row.fields[setting.field] != setting.value:
            row.fields[setting.field] = setting.value
            changed = True
    return changed, touched


def _load(
    session: Session, entity: str, ids: Iterable[Any], sets_fields: bool, b: Binding
) -> dict[Any, Any]:
    """The ``entity`` rows with ``ids``, one query per ``_IN_CHUNK`` of them."""
    model = b.entity(entity).cls
    pk = inspect(model).primary_key[0]
    wanted = sorted(set(ids))
    options = (
        [selectinload(Order.status_changes)]
        if model is Order and b.records == "relations" and sets_fields
        else []
    )
    found: dict[Any, Any] = {}
    for n in range(0, len(wanted), _IN_CHUNK):
        query = select(model).where(pk.in_(wanted[n : n + _IN_CHUNK])).options(*options)
        for obj in session.scalars(query):
            found[inspect(obj).identity[0]] = obj
    return found


def _apply(
    session: Session,
    plan: _Plan,
    pending: Sequence[tuple[_Row, Decision, set[str]]],
    b: Binding = REFERENCE,
) -> None:
    """Apply the pending decisions, their rows loaded with one query per kind of row."""
    wanted: dict[str, set[Any]] = {}
    for row, _, touched in pending:
        for entity in touched:
            eid = row.entities.get(entity)
            if eid is not None and entity in _CHANGED and entity in b.entities:
                wanted.setdefault(entity, set()).add(eid)
    loaded = {e: _load(session, e, ids, plan.sets_fields, b) for e, ids in wanted.items()}
    labels: dict[tuple[str, str], Any] = {}  # looked up once per batch: (type, name)
    for row, decision, _ in pending:
        targets = {
            entity: (loaded.get(entity, {}).get(eid) if eid is not None else None)
            for entity, eid in row.entities.items()
        }
        apply_effects(session, decision, targets, labels, binding=b)


# --------------------------------------------------------------------- run --


def _log_failures(key: str, subject: str, row_id: Any, decision: Decision) -> None:
    for err in decision.errors:
        if not err.rule:  # the row itself could not be decided (an unknown currency)
            logger.error("%s failed on %s %s: %s", key, subject, row_id, err.message)
            continue
        logger.error(
            "rule %r (%s:%d) failed on %s %s (%s): %s",
            err.rule,
            err.file,
            err.line,
            subject,
            row_id,
            key,
            err.message,
        )


class _SubjectRun:
    """One subject's run for one period."""

    def __init__(
        self,
        factory: Callable[[], Session],
        rules: RuleSet,
        event: str,
        subject: str,
        period: str,
        as_of: datetime,
        batch_size: int,
        progress: Progress | None,
        metrics: Metrics,
        binding: Binding = REFERENCE,
    ) -> None:
        self.factory = factory
        self.binding = binding
        self.runs = runs_for(binding, subject)
        self.rules = rules
        self.event = event
        self.subject = subject
        self.period = period
        self.batch_size = batch_size
        self.progress = progress
        self.metrics = metrics
        self.plan = _plan(rules, subject, f"{event}:{subject}", as_of, binding)
        self.read = _READERS[subject]

    def report(self, status: RunStatus, **kw: Any) -> SubjectReport:
        got = SubjectReport(self.event, self.subject, self.period, status, **kw)
        if self.progress is not None:
            self.progress.finish(got)
        return got

    def run(self) -> SubjectReport:
        start = time.perf_counter()
        run = claim(self.factory, self.event, self.subject, self.period, self.runs)
        if run.finished:
            logger.info("%s %ss for %s: already done", self.event, self.subject, self.period)
            return self.report(RunStatus.ALREADY_DONE, total=run.processed)
        if run.last_id:
            logger.info(
                "%s %ss for %s: resuming after id %s (%d done)",
                self.event,
                self.subject,
                self.period,
                run.last_id,
                run.processed,
            )
        if self.progress is not None:
            table = self.binding.view(self.subject)
            count_rows = select(func.count()).select_from(table)
            if run.last_id is not None:
                count_rows = count_rows.where(table.c.id > run.last_id)
            with self.factory() as session, session.begin():
                remaining = session.connection().execute(count_rows)
                count = int(remaining.scalar_one())
            self.progress.start(self.event, self.subject, self.period, count, run.last_id)
        last, processed, changed, errors, batches = run.last_id, 0, 0, 0, 0
        status = RunStatus.DONE
        while True:
            try:
                rows, n_changed, n_errors, new_last, done = self.batch(run.id, last)
            except Held:
                logger.warning(
                    "%s %ss for %s: another run holds this period; stopped after id %s",
                    self.event,
                    self.subject,
                    self.period,
                    last,
                )
                status = RunStatus.HELD
                break
            if rows:
                batches += 1
                processed += rows
                changed += n_changed
                errors += n_errors
                last = new_last
                if self.progress is not None:
                    self.progress.batch(
                        BatchInfo(
                            self.event,
                            self.subject,
                            self.period,
                            batches,
                            rows,
                            last,
                            processed,
                            n_changed,
                            n_errors,
                            time.perf_counter() - start,
                        )
                    )
            if done:
                break
        return self.report(
            status,
            processed=processed,
            changed=changed,
            errors=errors,
            batches=batches,
            seconds=time.perf_counter() - start,
            resumed_after=run.last_id,
            total=run.processed + processed,
        )

    def batch(self, run_id: int, last: Any) -> tuple[int, int, int, Any, bool]:
        """One batch after id ``last``: (rows, changed, errors, new last id, period done)."""
        plan, key, subject = self.plan, self.plan.key, self.subject
        evaluate = self.rules.evaluate
        tally = Tally(key, self.rules.version)
        start = time.perf_counter()
        with self.factory() as session, session.begin():
            conn = session.connection()
            lock(conn, run_id, last, self.runs)
            page = self.read(conn, plan, last, self.batch_size)
            ids, rows, labels = page.ids, page.rows, page.labels
            if not ids:
                advance(conn, run_id, last, last, 0, True, self.runs)
                return 0, 0, 0, last, True
            errors = 0
            pending: list[tuple[_Row, Decision, set[str]]] = []
            for row in rows:
                # the labels as the rows before this one left them
                facts = page.facts(row, plan.fact_labels)
                try:
                    decision = evaluate(key, facts)
                except Exception as e:  # a bad stored value (an unknown currency, …)
                    errors += 1
                    tally.error(e)
                    logger.error(
                        "%s failed on %s %s: %s: %s", key, subject, row.id, type(e).__name__, e
                    )
                    continue
                tally.add(decision)
                if decision.errors:
                    errors += len(decision.errors)
                    _log_failures(key, subject, row.id, decision)
                if decision.label_changes or decision.field_changes:
                    effective, touched = _track(decision, subject, row, labels)
                    if effective:
                        pending.append((row, decision, touched))
            if pending:
                _apply(session, plan, pending, self.binding)
                session.flush()
            done = len(ids) < self.batch_size
            advance(conn, run_id, last, ids[-1], len(ids), done, self.runs)
        self.metrics.record(tally, time.perf_counter() - start)  # committed
        return len(ids), len(pending), errors, ids[-1], done


def run_scheduled(
    session_factory: Callable[[], Session],
    rules: RuleSet,
    event: str,
    *,
    period: str | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
    now: datetime | None = None,
    meter_provider: MeterProvider | None = None,
    binding: Binding = REFERENCE,
) -> RunReport:
    """Run ``rules``' ``event`` (``"daily"`` or ``"monthly"``) rules for ``period``.

    ``session_factory`` makes the sessions (a ``sessionmaker``): one per
    batch, each committed on its own. ``period`` defaults to the current
    one (``now``, default the clock, in UTC). Subjects without rules for the
    event are left alone. Raises ValueError for an unknown event, a bad
    period or batch size; database errors propagate (what was committed
    stays, and the next run of the period resumes after it). Decisions are
    recorded with ``meter_provider`` (default: the global one). ``binding``: the
    backend's models the rows come from (the reference models by default);
    a backend's runs are recorded in rulec's ``rulec_scheduled_runs``.
    """
    check_event(event)
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, not {batch_size}")
    period = check_period(event, period) if period is not None else current_period(event, now)
    as_of = period_start(event, period)
    started = time.perf_counter()
    metrics = metrics_for(meter_provider)
    events = rules.events
    reports = []
    for subject in SCHEDULED_SUBJECTS:
        if f"{event}:{subject}" not in events:
            continue
        job = _SubjectRun(
            session_factory,
            rules,
            event,
            subject,
            period,
            as_of,
            batch_size,
            progress,
            metrics,
            binding,
        )
        reports.append(job.run())
    runs = _REFERENCE_RUNS if binding.records == "relations" else owned_runs(str)
    earlier_runs = unfinished(session_factory, event, period, runs) if reports else ()
    for subject, earlier in earlier_runs:
        logger.warning(
            "%s %ss for %s never finished: run %s for period %s again to finish it",
            event,
            subject,
            earlier,
            event,
            earlier,
        )
    return RunReport(event, period, tuple(reports), time.perf_counter() - started, earlier_runs)
