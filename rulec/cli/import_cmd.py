"""``rulec import-legacy``: write the old system's rules as rule files (issue 22)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rulec.cli.common import EXIT_ERROR, EXIT_FAIL, EXIT_SUCCESS, db_fail, guard, open_db
from rulec.dsl.diagnostics import has_errors
from rulec.dsl.report import Format, render


@click.command(name="import-legacy")
@click.option("--db", "url", required=True, help="URL of the old system's database.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("rules/imported"),
    show_default=True,
    help="Folder to write the rule files to (created; files of the same name are replaced).",
)
@click.option(
    "--prefix",
    default="",
    help="Put before every table name (old_ for old_labels_label; legacy. for a schema).",
)
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="CODE=EVENT",
    help="Import trigger CODE on EVENT (order_created, price_listed:2027[:agent], off).",
)
@click.option(
    "--check-orders",
    is_flag=True,
    help="Decide the stored orders both ways and list every discount that would differ.",
)
@click.option("--currency", default="EUR", show_default=True, help="The old orders' currency.")
@guard
def import_legacy(
    url: str, out: Path, prefix: str, maps: tuple[str, ...], check_orders: bool, currency: str
) -> None:
    """Write the old system's rules (its Django tables) as rule files.

    Each rule gets a comment naming its row; what the old system left
    undefined, or rulec cannot say alike, is written disabled or as a
    comment and printed as a warning (stderr). The files are checked once
    written. With --check-orders, every stored order whose discount the
    imported rules would decide otherwise is listed (stdout), with why.
    Exit status: 0 done (warnings allowed), 1 the written files have errors
    or orders differ, 2 usage error or unreadable database.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from rulec.api import analyze_paths, load_paths
    from rulec.engine.vocabulary import DEFAULT_VOCABULARY
    from rulec.tools.legacy import MapError, parse_map, read_legacy, read_orders, replay, translate

    try:
        overrides = parse_map(maps, DEFAULT_VOCABULARY)
    except MapError as e:
        click.echo(f"rulec: {e}", err=True)
        sys.exit(EXIT_ERROR)
    engine = open_db(url)
    try:
        with engine.connect() as conn:
            legacy = read_legacy(conn, prefix)
            orders = read_orders(conn, prefix) if check_orders else []
    except SQLAlchemyError as e:
        orig = getattr(e, "orig", None)
        db_fail(url, f"cannot read the old system's tables: {orig if orig is not None else e}")
    finally:
        engine.dispose()
    translation = translate(legacy, DEFAULT_VOCABULARY, overrides)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in translation.files.items():
        (out / name).write_text(text, encoding="utf-8")
    for warning in translation.warnings:
        click.echo(f"rulec: warning: {warning}", err=True)
    analysis = analyze_paths([out])
    if analysis.diagnostics:  # what rulec check would say of the files
        click.echo(render(Format.TEXT, analysis.diagnostics, analysis.texts()), nl=False, err=True)
    if has_errors(analysis.diagnostics):
        click.echo(f"rulec: the files written to {out} have errors", err=True)
        sys.exit(EXIT_FAIL)
    states = [r.state for r in translation.rules if r.rule_id is not None]
    click.echo(
        f"{len(translation.files)} files written to {out}: {len(states)} rules, "
        f"{states.count('disabled')} disabled, {states.count('commented')} as comments, "
        f"{len(translation.warnings)} warnings",
        err=True,
    )
    if not check_orders:
        sys.exit(EXIT_SUCCESS)
    rules = load_paths([out])
    differences = replay(legacy, orders, translation, rules, currency)
    for d in differences:
        click.echo(d.line())
    click.echo(f"{len(orders)} orders replayed: {len(differences)} would differ", err=True)
    sys.exit(EXIT_FAIL if differences else EXIT_SUCCESS)
