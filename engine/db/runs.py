"""What a scheduled run is: its periods, its reports, and the run row that holds it.

See :mod:`rulec.engine.db.scheduled` for how a run goes. A run is for one
period of its event (the day ``2026-11-26`` of a ``daily`` run, the month
``2026-11`` of a ``monthly`` one, in UTC); each (event, subject, period) has
one :class:`~rulec.storage.models.ScheduledRun` row, claimed here, locked at
the start of every batch and moved on (compare-and-set) at its end, so two
runs of one period never both commit a batch over the same rows.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from attrs import frozen
from sqlalchemy import Column, ColumnElement, Connection, Table, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from rulec.storage.models import ScheduledRun
from rulec.storage.owned import RuleRun

__all__ = [
    "EVENTS",
    "REFERENCE_RUNS",
    "BatchInfo",
    "Held",
    "Progress",
    "RunReport",
    "RunRow",
    "RunStatus",
    "RunTable",
    "SubjectReport",
    "advance",
    "check_event",
    "check_period",
    "claim",
    "current_period",
    "lock",
    "owned_runs",
    "period_start",
    "unfinished",
]

logger = logging.getLogger("rulec.engine")

#: The scheduled events, and the format of their periods.
EVENTS = ("daily", "monthly")
_PERIOD_FORMATS = {"daily": "%Y-%m-%d", "monthly": "%Y-%m"}
_PERIOD_SHAPES = {"daily": "YYYY-MM-DD", "monthly": "YYYY-MM"}
_PERIOD_EXAMPLES = {"daily": "2026-11-26", "monthly": "2026-11"}


@frozen
class RunTable:
    """Where runs are recorded, and how the last subject done is kept there."""

    table: Table
    #: The column of the last subject done: ``last_id`` (an integer), ``last_key`` (text).
    last: str
    #: The last key before every subject (0 for integer ids; None: nothing done yet).
    start: Any
    #: A stored last key as the subjects' key (``uuid.UUID``, ``int``).
    decode: Callable[[Any], Any]

    @property
    def last_col(self) -> Column[Any]:
        return self.table.c[self.last]

    def encode(self, key: Any) -> Any:
        """A subject's key as the column stores it."""
        if key is None or self.last == "last_id":
            return key
        return str(key)

    def at(self, key: Any) -> ColumnElement[bool]:
        """The run row is at ``key`` (nothing done yet, when None)."""
        stored = self.encode(key)
        return self.last_col.is_(None) if stored is None else self.last_col == stored


#: The reference models' runs: ``scheduled_runs``, by integer id.
REFERENCE_RUNS = RunTable(ScheduledRun.__table__, "last_id", 0, int)  # type: ignore[arg-type]


def owned_runs(decode: Callable[[Any], Any]) -> RunTable:
    """A backend's runs: rulec's ``rulec_scheduled_runs``, the last key as text."""
    return RunTable(RuleRun.__table__, "last_key", None, decode)  # type: ignore[arg-type]


# ------------------------------------------------------------------ periods --


def check_event(event: str) -> None:
    if event not in _PERIOD_FORMATS:
        raise ValueError(f"unknown scheduled event {event!r}: expected one of {', '.join(EVENTS)}")


def current_period(event: str, now: datetime | None = None) -> str:
    """The period a run of ``event`` started ``now`` (default: the clock) is for, in UTC."""
    check_event(event)
    now = now or datetime.now(UTC)
    if now.tzinfo is not None:
        now = now.astimezone(UTC)
    return now.strftime(_PERIOD_FORMATS[event])


def period_start(event: str, period: str) -> datetime:
    """The instant ``period`` starts (midnight UTC); ValueError if it is not ``event``'s."""
    check_event(event)
    fmt = _PERIOD_FORMATS[event]
    try:
        start = datetime.strptime(period, fmt).replace(tzinfo=UTC)
    except ValueError:
        start = None
    if start is None or start.strftime(fmt) != period:
        raise ValueError(
            f"invalid {event} period {period!r}: expected {_PERIOD_SHAPES[event]} "
            f"(e.g. {_PERIOD_EXAMPLES[event]})"
        )
    return start


def check_period(event: str, period: str) -> str:
    """``period`` if it is a valid period of ``event``, else ValueError."""
    period_start(event, period)
    return period


# ------------------------------------------------------------------ reports --


class RunStatus(enum.Enum):
    """How one subject's run ended."""

    DONE = "done"
    #: The period was finished earlier: nothing was done.
    ALREADY_DONE = "already done"
    #: Another run holds the period (or finished it meanwhile): this one stopped.
    HELD = "held by another run"


@frozen
class BatchInfo:
    """One committed batch, as told to :meth:`Progress.batch`."""

    event: str
    subject: str
    period: str
    #: 1 for the first batch of this invocation.
    number: int
    rows: int
    #: The key of the last row of the batch.
    last_id: Any
    #: Rows done by this invocation so far, this batch included.
    processed: int
    changed: int
    errors: int
    #: Since this subject's run started.
    seconds: float


@frozen
class SubjectReport:
    """What one run did for one subject (``customer`` or ``order``)."""

    event: str
    subject: str
    period: str
    status: RunStatus
    #: Rows this invocation evaluated, changed, and rule errors met.
    processed: int = 0
    changed: int = 0
    errors: int = 0
    batches: int = 0
    seconds: float = 0.0
    #: The key this invocation started after (0 or None: from the start).
    resumed_after: Any = 0
    #: Rows done for the period by every run so far (the run row's ``processed``).
    total: int = 0


@frozen
class RunReport:
    """What :func:`run_scheduled` did."""

    event: str
    period: str
    subjects: tuple[SubjectReport, ...]
    seconds: float = 0.0
    #: ``(subject, period)`` of earlier runs of the event that never finished.
    unfinished: tuple[tuple[str, str], ...] = ()

    @property
    def processed(self) -> int:
        return sum(s.processed for s in self.subjects)

    @property
    def changed(self) -> int:
        return sum(s.changed for s in self.subjects)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.subjects)

    def summary(self) -> str:
        """One line: ``daily: 1,000,000 customers in 212 s, 3,412 changed``."""
        if not self.subjects:
            return f"{self.event}: no {self.event} rules, nothing to do"
        counts = " and ".join(f"{s.processed:,} {_plural(s.subject)}" for s in self.subjects)
        line = f"{self.event}: {counts} in {_seconds(self.seconds)}, {self.changed:,} changed"
        if self.errors:
            line += f", {self.errors:,} rule error{'s' if self.errors != 1 else ''}"
        notes = []
        for status in (RunStatus.ALREADY_DONE, RunStatus.HELD):
            which = [_plural(s.subject) for s in self.subjects if s.status is status]
            if which:
                notes.append(f"{' and '.join(which)} {status.value}")
        if notes:
            line += f" ({'; '.join(notes)} for {self.period})"
        return line


def _plural(subject: str) -> str:
    return f"{subject}s"


def _seconds(s: float) -> str:
    if s >= 100:
        return f"{s:,.0f} s"
    if s >= 1:
        return f"{s:.1f} s"
    return f"{s:.2f} s"


class Progress:
    """Told how a run goes; every method does nothing unless overridden.

    The methods are called in the caller's thread, ``batch`` right after a
    batch has been committed. An exception they raise stops the run (what
    was committed stays; the next run of the period resumes after it).
    """

    def start(
        self, event: str, subject: str, period: str, remaining: int, resumed_after: int
    ) -> None:
        """A subject's run starts, with ``remaining`` rows to do after id ``resumed_after``."""

    def batch(self, info: BatchInfo) -> None:
        """A batch was committed."""

    def finish(self, report: SubjectReport) -> None:
        """A subject's run ended (done, already done or held by another run)."""


# -------------------------------------------------------------- run rows --


class Held(Exception):
    """Another run holds the period (or finished it): roll this batch back and stop."""


@frozen
class RunRow:
    id: int
    #: The key of the last subject done (the run table's start when none).
    last_id: Any
    processed: int
    finished: bool


def _find_run(
    conn: Connection, event: str, subject: str, period: str, runs: RunTable
) -> RunRow | None:
    t = runs.table
    row = conn.execute(
        select(t.c.id, runs.last_col, t.c.processed, t.c.finished_at).where(
            t.c.event == event, t.c.subject == subject, t.c.period == period
        )
    ).one_or_none()
    if row is None:
        return None
    last = runs.decode(row[1]) if row[1] is not None else runs.start
    return RunRow(row.id, last, row.processed, row.finished_at is not None)


def claim(
    factory: Callable[[], Session],
    event: str,
    subject: str,
    period: str,
    runs: RunTable = REFERENCE_RUNS,
) -> RunRow:
    """The run row of (event, subject, period), created when missing.

    Two runs creating it at once collide on the unique constraint; the loser
    reads the winner's row (and the batches' checks keep them apart).
    """
    with factory() as session, session.begin():
        found = _find_run(session.connection(), event, subject, period, runs)
    if found is not None:
        return found
    try:
        with factory() as session, session.begin():
            values = {runs.last: runs.encode(runs.start), "processed": 0}
            session.connection().execute(
                insert(runs.table).values(event=event, subject=subject, period=period, **values)
            )
    except IntegrityError:
        logger.info("%s %ss for %s: another run created the run row first", event, subject, period)
    with factory() as session, session.begin():
        found = _find_run(session.connection(), event, subject, period, runs)
    if found is None:  # pragma: no cover - inserted or found above
        raise RuntimeError(f"{event} {subject} {period}: the run row vanished")
    return found


def _lock_not_available(e: OperationalError) -> bool:
    orig = e.orig
    return getattr(orig, "sqlstate", None) == "55P03" or getattr(orig, "pgcode", None) == "55P03"


def lock(conn: Connection, run_id: int, last: Any, runs: RunTable = REFERENCE_RUNS) -> None:
    """Hold the run row for this batch; Held when another run has it or has moved on."""
    t = runs.table
    query = select(runs.last_col, t.c.finished_at).where(t.c.id == run_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(nowait=True)
    try:
        row = conn.execute(query).one()
    except OperationalError as e:
        if _lock_not_available(e):
            raise Held from None
        raise
    if row.finished_at is not None or row[0] != runs.encode(last):
        raise Held


def advance(
    conn: Connection,
    run_id: int,
    last: Any,
    new_last: Any,
    rows: int,
    done: bool,
    runs: RunTable = REFERENCE_RUNS,
) -> None:
    """Move the run row from ``last`` to ``new_last`` (compare-and-set); Held if it moved."""
    t = runs.table
    values: dict[str, Any] = {runs.last: runs.encode(new_last), "processed": t.c.processed + rows}
    if done:
        values["finished_at"] = datetime.now(UTC)
    result = conn.execute(
        update(t).where(t.c.id == run_id, runs.at(last), t.c.finished_at.is_(None)).values(**values)
    )
    if result.rowcount != 1:
        raise Held


def unfinished(
    factory: Callable[[], Session], event: str, period: str, runs: RunTable = REFERENCE_RUNS
) -> tuple[tuple[str, str], ...]:
    """(subject, period) of the runs of ``event`` before ``period`` that never finished."""
    t = runs.table
    with factory() as session, session.begin():
        found = session.connection().execute(
            select(t.c.subject, t.c.period)
            .where(t.c.event == event, t.c.finished_at.is_(None), t.c.period < period)
            .order_by(t.c.period, t.c.subject)
        )
        return tuple((s, p) for s, p in found)
