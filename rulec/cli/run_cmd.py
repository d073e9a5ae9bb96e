"""``rulec run``: the daily and monthly rules over every customer and order."""

from __future__ import annotations

import sys
from typing import Any

import click

from rulec.cli.common import (
    EXIT_FAIL,
    EXIT_SUCCESS,
    db_fail,
    db_option,
    guard,
    one_line,
    open_db,
    rule_errors_exit,
    rules_option,
    vocabulary_for,
)

#: Without a terminal, one progress line per this many rows (rounded to batches).
_RUN_LINE_ROWS = 100_000


@click.command()
@click.argument("event", type=click.Choice(["daily", "monthly"]))
@db_option
@rules_option
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=1000,
    show_default=True,
    help="Rows per batch; each batch is one transaction.",
)
@click.option(
    "--period",
    metavar="P",
    default=None,
    help="The day (YYYY-MM-DD) or month (YYYY-MM) to run for; default: the current one (UTC).",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="A folder for compiled rule sets: unchanged rules are not compiled again.",
)
@guard
def run(
    event: str,
    url: str,
    rule_paths: tuple[str, ...],
    batch_size: int,
    period: str | None,
    cache: str | None,
) -> None:
    """Run the EVENT (daily or monthly) rules over every customer and order.

    Made for cron: one run per period (the day or the month, UTC). A period
    already done is skipped; a run that stopped half-way resumes after the
    last batch it committed; a run started while another holds the period
    stops without changing anything. Progress and the summary go to stderr.
    Exit status: 0 done, 1 a rule failed on some rows (logged, skipped),
    2 usage or database error, 123 internal error.
    """
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    from rulec.dsl.diagnostics import RulesCheckError
    from rulec.dsl.sources import read_sources
    from rulec.engine.core.cache import load_sources
    from rulec.engine.db.scheduled import check_period, run_scheduled
    from rulec.storage import migrate
    from rulec.storage.session import make_session_factory

    if period is not None:
        try:
            check_period(event, period)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="'--period'") from None
    try:
        rules = load_sources(read_sources(rule_paths), vocabulary_for(rule_paths), cache)
    except RulesCheckError:
        rule_errors_exit(rule_paths, "run")
    engine = open_db(url)
    progress = _run_progress(sys.stderr.isatty(), batch_size)
    log = logging.getLogger("rulec.engine")
    echo = _run_log_echo()
    log.addHandler(echo)
    try:
        have, want = migrate.current(engine), migrate.head()
        if have != want:
            db_fail(
                url,
                f"the schema is at revision {have or 'base'}, not {want}: "
                "run 'rulec db upgrade' first",
            )
        report = run_scheduled(
            make_session_factory(engine),
            rules,
            event,
            period=period,
            batch_size=batch_size,
            progress=progress,
        )
    except SQLAlchemyError as e:
        progress.close()
        orig = getattr(e, "orig", None)
        db_fail(url, f"run stopped: {orig if orig is not None else e}")
    finally:
        log.removeHandler(echo)
        progress.close()
        engine.dispose()
    click.echo(report.summary(), err=True)
    sys.exit(EXIT_FAIL if report.errors else EXIT_SUCCESS)


#: ``rulec run`` shows this many of the engine's warnings and rule errors, then one line.
_RUN_LOG_LIMIT = 100


def _run_log_echo() -> Any:
    """A handler showing the engine's warnings and rule errors on stderr, up to a limit."""
    import logging

    class RunLogEcho(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.WARNING)
            self.seen = 0

        def emit(self, record: logging.LogRecord) -> None:
            self.seen += 1
            if self.seen <= _RUN_LOG_LIMIT:
                click.echo(f"rulec: {one_line(record.getMessage())}", err=True)
            elif self.seen == _RUN_LOG_LIMIT + 1:
                click.echo(
                    f"rulec: more than {_RUN_LOG_LIMIT} errors and warnings; not shown", err=True
                )

    return RunLogEcho()


def _run_progress(tty: bool, batch_size: int) -> Any:
    """``rulec run``'s progress: a bar per subject on a terminal, else a line now and then."""
    from rulec.engine.db.scheduled import BatchInfo, Progress, SubjectReport

    every = max(1, -(-_RUN_LINE_ROWS // batch_size))

    class RunProgress(Progress):
        def __init__(self) -> None:
            self.bar: Any = None
            self.total = self.changed = 0

        def start(
            self, event: str, subject: str, period: str, remaining: int, resumed_after: int
        ) -> None:
            self.total, self.changed = remaining, 0
            resumed = f", resuming after id {resumed_after}" if resumed_after else ""
            if tty:
                self.bar = click.progressbar(
                    length=remaining, label=f"{event} {subject}s {period}", file=sys.stderr
                )
                self.bar.__enter__()
                if resumed:
                    click.echo(resumed[2:], err=True)
            else:
                click.echo(
                    f"{event} {subject}s for {period}: {remaining:,} to do{resumed}", err=True
                )

        def batch(self, info: BatchInfo) -> None:
            self.changed += info.changed
            if self.bar is not None:
                self.bar.update(info.rows)
            elif info.number % every == 0:
                rate = info.processed / info.seconds if info.seconds > 0 else 0.0
                share = f" ({100 * info.processed / self.total:.0f}%)" if self.total else ""
                click.echo(
                    f"{info.event} {info.subject}s: {info.processed:,} of {self.total:,}{share}, "
                    f"{rate:,.0f}/s, {self.changed:,} changed",
                    err=True,
                )

        def finish(self, report: SubjectReport) -> None:
            self.close()

        def close(self) -> None:
            if self.bar is not None:
                bar, self.bar = self.bar, None
                bar.__exit__(None, None, None)

    return RunProgress()
