"""``rulec explain``: what became of every rule of an event for one order, and why."""

from __future__ import annotations

from typing import Any

import click

from rulec.cli.common import (
    db_fail,
    guard,
    open_db,
    rule_errors_exit,
    vocabulary_for,
)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--given",
    "given",
    type=click.Path(path_type=str, dir_okay=False),
    help="A JSON file of facts (nested, as RuleSet.evaluate takes them).",
)
@click.option("--db", "url", help="Explain a stored order: the database URL.")
@click.option("--order", "order_id", type=int, help="With --db: the order's id.")
@click.option("--event", default="order_created", show_default=True, help="The event.")
@click.option("--at", "at", help="With --given: the moment windows are judged at (ISO 8601).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="How to print the explanation.",
)
@guard
def explain(
    paths: tuple[str, ...],
    given: str | None,
    url: str | None,
    order_id: int | None,
    event: str,
    at: str | None,
    fmt: str,
) -> None:
    """Explain a decision: what became of every rule of the event, and why.

    The facts come from a JSON file (--given FACTS.json) or from a stored
    order (--db URL --order ID). Rules: PATHS (default: rules/). Exit
    status: 0, or 2 for a usage error (bad facts, unknown order), 1 when
    the rules have errors.
    """
    import json
    from datetime import datetime

    from rulec.api import load_paths
    from rulec.dsl.diagnostics import RulesCheckError
    from rulec.tools.explain import as_json
    from rulec.tools.given import FactsFileError, read_facts

    if (given is None) == (url is None):
        raise click.UsageError("give the facts: --given FACTS.json, or --db URL --order ID")
    if url is not None and order_id is None:
        raise click.UsageError("--db needs --order ID")
    vocabulary = vocabulary_for(paths or ("rules",))
    try:
        rules = load_paths(paths or ("rules",), vocabulary)
    except RulesCheckError:
        rule_errors_exit(paths or ("rules",), "explained")
    if rules.event(event) is None:
        from rulec.engine.core.validate import unknown_event

        unknown = unknown_event(event, rules.event_keys())
        raise click.BadParameter(str(unknown), param_hint="'--event'")
    if given is not None:
        now = None
        if at is not None:
            try:
                now = datetime.fromisoformat(at)
            except ValueError:
                raise click.BadParameter(f"{at!r} is not ISO 8601", param_hint="'--at'") from None
        try:
            with open(given, encoding="utf-8") as f:
                facts = read_facts(f.read(), vocabulary, given)
        except OSError as e:
            raise click.BadParameter(f"{given}: {e.strerror}", param_hint="'--given'") from None
        except FactsFileError as e:
            raise click.UsageError(str(e)) from None
        explanation = rules.explain(event, facts, now=now)
    else:
        assert url is not None and order_id is not None
        explanation = _explain_stored(url, order_id, event, rules)
    if fmt == "json":
        click.echo(json.dumps(as_json(explanation), indent=2, ensure_ascii=False))
    else:
        click.echo(explanation.text())


def _explain_stored(url: str, order_id: int, event: str, rules: Any) -> Any:
    """The explanation of a stored order, its facts read as the engine reads them,
    and its rules' usage limits as the counters stand (as ``Engine.evaluate``)."""
    from rulec.engine.db.facts.binding import REFERENCE
    from rulec.engine.db.facts.row import load_facts
    from rulec.engine.db.limits import refusals_now
    from rulec.storage.models import Order
    from rulec.storage.session import make_session_factory

    engine = open_db(url)
    try:
        with make_session_factory(engine)() as session:
            order = session.get(Order, order_id)
            if order is None:
                db_fail(url, f"no order with id {order_id}")
            facts = load_facts(session, order, rules.keys_for(event))
            _, refused = refusals_now(
                session,
                order,
                rules.evaluate(event, facts),
                rules.limited,
                REFERENCE,
                lambda refused: rules.evaluate(event, facts, refused=refused),
            )
            return rules.explain(event, facts, refused=refused)
    finally:
        engine.dispose()
