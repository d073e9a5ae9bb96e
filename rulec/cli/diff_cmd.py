"""``rulec diff``: what changes for the stored orders between two versions of the rules."""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime
from decimal import Decimal, InvalidOperation

import click

from rulec.cli.common import EXIT_ERROR, EXIT_FAIL, EXIT_SUCCESS, guard
from rulec.cli.simulate_cmd import database, load_rules, period_of, period_options, progress_bar


def _amount(ctx: click.Context, param: click.Parameter, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not an amount (e.g. 100 or 99.50)") from None
    if not amount.is_finite() or amount < 0:
        raise click.BadParameter(f"{value!r} is not an amount of zero or more")
    return amount


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--db", "url", required=True, help="The orders' database URL (read, never written).")
@click.option(
    "--git",
    "revisions",
    metavar="OLD..NEW",
    help="Compare the rules at PATH (default: rules) as they are at two git revisions "
    "(NEW defaults to HEAD), instead of OLD_PATH and NEW_PATH.",
)
@click.option(
    "--fail-over",
    "fail_over",
    metavar="AMOUNT",
    callback=_amount,
    help="Exit 1 when the money delta in any currency is more than AMOUNT either way (a CI gate).",
)
@period_options
@guard
def diff(
    paths: tuple[str, ...],
    url: str,
    revisions: str | None,
    fail_over: Decimal | None,
    since: datetime | None,
    until: datetime | None,
    event: str,
    fmt: str,
    sample: int,
) -> None:
    """Compare two rule sets on the orders stored in a database.

    Give OLD_PATH NEW_PATH (two rule files or folders), or --git OLD..NEW and
    an optional PATH (default: rules) to compare the rules at two git
    revisions. Reports the orders whose decision changes, grouped by how
    (newly discounted, no longer discounted, amount changed, different rule
    won, other effects changed), the money delta per currency and per rule,
    and a sample of changed orders with each version's explanation. Nothing
    is written. Exit status: 0; 1 when --fail-over is passed or the rules
    have errors; 2 for a usage, git or database error.
    """
    from rulec.engine.db.backtest import NotAnOrderEvent
    from rulec.tools.backtest_report import render_diff
    from rulec.tools.diff import diff as run
    from rulec.tools.gitrules import GitError, rules_at, split_range

    period = period_of(since, until)
    with tempfile.TemporaryDirectory(prefix="rulec-diff-") as tmp:
        if revisions is not None:
            if len(paths) > 1:
                raise click.UsageError("with --git, give at most one PATH (the rules folder)")
            path = paths[0] if paths else "rules"
            try:
                old_rev, new_rev = split_range(revisions)
                old_path, old_folder = rules_at(old_rev, path, tmp)
                new_path, new_folder = rules_at(new_rev, path, tmp)
            except GitError as e:
                click.echo(f"rulec: --git {revisions}: {e}", err=True)
                sys.exit(EXIT_ERROR)
            old_paths, new_paths = [old_path], [new_path]
            folders = (old_folder, new_folder)
            names = (f"{old_rev}:{path}", f"{new_rev}:{path}")
            vocabulary_paths: list[str] = [path]
        else:
            if len(paths) != 2:
                raise click.UsageError("give OLD_PATH and NEW_PATH, or --git OLD..NEW [PATH]")
            old_paths, new_paths = [paths[0]], [paths[1]]
            folders = ("", "")
            names = (paths[0], paths[1])
            vocabulary_paths = [paths[1]]
        old = load_rules(old_paths, vocabulary_paths, "compared")
        new = load_rules(new_paths, vocabulary_paths, "compared")
    for rules in (old, new):
        if rules.event(event) is None:
            raise click.BadParameter(f"unknown event {event!r}", param_hint="'--event'")
    with database(url) as engine, progress_bar(engine, "comparing") as progress:
        try:
            report = run(
                engine,
                old,
                new,
                event,
                period,
                names=names,
                folders=folders,
                sample=sample,
                progress=progress,
            )
        except NotAnOrderEvent as e:
            raise click.BadParameter(str(e), param_hint="'--event'") from None
    click.echo(render_diff(report, fmt), nl=False)
    if fail_over is not None:
        over = {c: a for c, a in report.delta().items() if abs(a) > fail_over}
        if over:
            shown = ", ".join(f"{a} {c}" for c, a in over.items())
            click.echo(f"rulec: the money delta ({shown}) is more than {fail_over}", err=True)
            sys.exit(EXIT_FAIL)
    sys.exit(EXIT_SUCCESS)
