"""``rulec simulate``: back-test a rule set on the orders stored in a database."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from rulec.cli.common import EXIT_SUCCESS, db_fail, guard, open_db, rule_errors_exit, vocabulary_for

if TYPE_CHECKING:
    from sqlalchemy import Engine as SqlEngine

    from rulec.engine.core.ruleset import RuleSet
    from rulec.engine.db.backtest import Period

FORMATS = ["text", "json", "markdown"]


def period_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--since``, ``--until``, ``--event``, ``--format`` and ``--sample``, shared with diff."""
    days = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"])
    for option in reversed(
        [
            click.option("--since", type=days, help="Only orders created from this date (UTC) on."),
            click.option("--until", type=days, help="Only orders created before this date (UTC)."),
            click.option(
                "--event", default="order_created", show_default=True, help="The event decided."
            ),
            click.option(
                "--format",
                "fmt",
                type=click.Choice(FORMATS),
                default="text",
                show_default=True,
                help="text for a terminal, markdown for a pull-request comment, json for tools.",
            ),
            click.option(
                "--sample",
                type=click.IntRange(0, 1000),
                default=5,
                show_default=True,
                help="Order ids (or changed orders) shown per rule.",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def period_of(since: datetime | None, until: datetime | None) -> Period:
    from rulec.engine.db.backtest import Period

    def utc(value: datetime | None) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)

    if since is not None and until is not None and until <= since:
        raise click.BadParameter("--until must be after --since", param_hint="'--until'")
    return Period(utc(since), utc(until))


def load_rules(
    paths: tuple[str, ...] | list[str], vocabulary_paths: Any = None, nothing: str = "simulated"
) -> RuleSet:
    """The rule set at ``paths``; the rules' errors printed and exit 1 when they have some."""
    from rulec.dsl.diagnostics import RulesCheckError
    from rulec.dsl.sources import read_sources
    from rulec.engine.core.cache import load_sources

    vocabulary = vocabulary_for(vocabulary_paths or paths)
    try:
        return load_sources(read_sources(paths), vocabulary)
    except RulesCheckError:
        rule_errors_exit(tuple(paths), nothing)


@contextmanager
def database(url: str) -> Iterator[SqlEngine]:
    """The database at ``url``; a database error stops with its message and exit 2."""
    from sqlalchemy.exc import SQLAlchemyError

    engine = open_db(url)
    try:
        yield engine
    except SQLAlchemyError as e:
        orig = getattr(e, "orig", None)
        db_fail(url, f"cannot read the orders: {orig if orig is not None else e}")
    finally:
        engine.dispose()


@contextmanager
def progress_bar(engine: SqlEngine, label: str) -> Iterator[Callable[[Any], None] | None]:
    """A progress bar over the orders' ids on a terminal's stderr; nothing elsewhere (CI logs)."""
    if not sys.stderr.isatty():
        yield None
        return
    from sqlalchemy import func, select

    from rulec.engine.db.facts.binding import REFERENCE

    orders = REFERENCE.orders
    with engine.connect() as conn:
        low, high = conn.execute(select(func.min(orders.c.id), func.max(orders.c.id))).one()
    if not isinstance(low, int) or not isinstance(high, int):
        yield None
        return
    with click.progressbar(length=high - low + 1, label=label, file=sys.stderr) as bar:
        done = [low - 1]

        def advance(last: Any) -> None:
            bar.update(last - done[0])
            done[0] = last

        yield advance
        bar.update(high - done[0])


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--db", "url", required=True, help="The orders' database URL (read, never written).")
@period_options
@guard
def simulate(
    paths: tuple[str, ...],
    url: str,
    since: datetime | None,
    until: datetime | None,
    event: str,
    fmt: str,
    sample: int,
) -> None:
    """Back-test the rules at PATHS on the orders stored in a database.

    Per rule: the orders its condition held for, those it would have applied
    to after the resolution policy, the discount it would have given per
    currency and a sample of order ids; then the set's totals against the
    discount stored on the orders today. The database selects the orders
    each rule can hold for; the engine decides them. Nothing is written.
    Exit status: 0, 1 when the rules have errors, 2 for a usage or
    database error.
    """
    from rulec.engine.db.backtest import NotAnOrderEvent
    from rulec.tools.backtest_report import render_simulation
    from rulec.tools.simulate import simulate as run

    period = period_of(since, until)
    rules = load_rules(paths)
    if rules.event(event) is None:
        raise click.BadParameter(f"unknown event {event!r}", param_hint="'--event'")
    with database(url) as engine, progress_bar(engine, "simulating") as progress:
        try:
            sim = run(engine, rules, event, period, sample=sample, progress=progress)
        except NotAnOrderEvent as e:
            raise click.BadParameter(str(e), param_hint="'--event'") from None
    click.echo(render_simulation(sim, fmt), nl=False)
    sys.exit(EXIT_SUCCESS)
