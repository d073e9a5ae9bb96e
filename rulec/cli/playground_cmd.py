"""``rulec playground``: a local web page to write rules and try them on an order.

The page itself (``rulec.web``) knows nothing of databases. With ``--db``,
this module builds the stored orders it may read (:class:`StoredOrders`)
over the engine's own readers (``load_facts``, ``basket``), through
connections the database itself holds read-only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rulec.cli.common import db_fail, guard, vocabulary_for

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine as SqlEngine

    from rulec.dsl.vocabulary import Vocabulary
    from rulec.web.playground import StoredOrders

_WILDCARDS = ("0.0.0.0", "::", "")


@click.command()
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(path_type=str, exists=True),
    help="A rule file or folder to open (repeatable). Default: rules/ when there is "
    "one, else the rules rulec ships.",
)
@click.option("--db", "url", help="Read stored orders from this database (never written).")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to serve on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@guard
def playground(rule_paths: tuple[str, ...], url: str | None, host: str, port: int) -> None:
    """Serve a page to write rules and try them on an order, in the browser.

    As you type: the checker's diagnostics in the text. For an order you
    fill in (or a stored one, with --db): the basket the rules give it and
    what became of every rule, and why. Stop it with Ctrl+C.
    """
    try:
        import uvicorn

        from rulec.web import Playground, create_app
        from rulec.web.app import LOCAL_HOSTS
    except ImportError as e:
        raise click.ClickException(
            f"the playground needs its web server ({e.name}): pip install 'rulec[playground]'"
        ) from None
    from rulec.api import shipped_rules
    from rulec.dsl.sources import read_sources

    paths: Sequence[str] = rule_paths or (
        ("rules",) if Path("rules").is_dir() else (str(shipped_rules()),)
    )
    vocabulary = vocabulary_for(list(paths))
    stored = stored_orders(url, vocabulary) if url is not None else None
    hosts: tuple[str, ...] = LOCAL_HOSTS
    if host in _WILDCARDS:
        hosts = ("*",)
    elif host not in LOCAL_HOSTS:
        hosts = (*LOCAL_HOSTS, host)
    if host not in LOCAL_HOSTS:
        click.echo(
            f"rulec: warning: serving on {host}: the page has no login; whoever reaches it "
            "reads your rules" + (" and stored orders" if url else ""),
            err=True,
        )
    app = create_app(Playground(read_sources(paths), vocabulary, stored), hosts)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"rulec playground: http://{shown}:{port}/ (Ctrl+C to stop)", err=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if stored is not None:
            stored.close()


def read_only_engine(url: str) -> SqlEngine:
    """An engine for ``url`` whose connections the database holds read-only (SQLite's
    ``query_only``, PostgreSQL's read-only transactions); exit 2 when it cannot connect."""
    from sqlalchemy import event
    from sqlalchemy.exc import SQLAlchemyError

    from rulec.storage.session import make_engine

    try:
        engine = make_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as e:
        db_fail(url, f"cannot open database: {e}")
    dialect = engine.dialect.name

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        statement = {
            "sqlite": "PRAGMA query_only = ON",
            "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            "mysql": "SET SESSION TRANSACTION READ ONLY",
        }.get(dialect)
        if statement is None:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(statement)
        finally:
            cursor.close()
        if dialect == "postgresql":
            dbapi_connection.commit()

    try:
        with engine.connect():
            pass
    except SQLAlchemyError as e:
        orig = getattr(e, "orig", None)
        db_fail(url, f"cannot open database: {orig if orig is not None else e}")
    return engine


def stored_orders(url: str, vocabulary: Vocabulary) -> StoredOrders:
    """The stored orders of the database at ``url``, for the page: read, never written."""
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from rulec.engine.db.basket import basket
    from rulec.engine.db.facts.row import load_facts
    from rulec.storage.models import Order
    from rulec.storage.session import make_session_factory, mask_url
    from rulec.web.playground import StoredOrders

    engine = read_only_engine(url)
    session_factory = make_session_factory(engine)

    def recent(limit: int) -> list[tuple[str, str]]:
        with session_factory() as session:
            rows = session.scalars(
                select(Order)
                .options(joinedload(Order.customer))
                .order_by(Order.created_at.desc(), Order.id.desc())
                .limit(limit)
            ).all()
            out = [(str(o.id), _title(o)) for o in rows]
            session.rollback()
            return out

    def load(order_id: str, event: str) -> tuple[Mapping[str, Any], dict[str, Any]] | None:
        if not order_id.isdigit():
            return None
        with session_factory() as session:
            order = session.get(Order, int(order_id))
            if order is None:
                return None
            facts = load_facts(session, order, every_key(vocabulary, event))
            shown = basket_json(basket(order))
            session.rollback()
            return facts, shown

    return StoredOrders(mask_url(url), recent, load, engine.dispose)


def every_key(vocabulary: Vocabulary, event: str) -> list[str]:
    """Every fact an order event gives its rules: each entity's labels and fields, a
    list entity's members, an optional entity's absence."""
    from rulec.dsl.vocabulary import absent_key, fact_key, labels_key, many_key

    ev = vocabulary.event(event)
    keys: list[str] = []
    for name in ev.entities if ev is not None else ():
        entity = vocabulary.entity(name)
        if entity is None:
            continue
        if name in ev.many:  # type: ignore[union-attr]
            keys.append(many_key(name))
            continue
        if name in ev.optional:  # type: ignore[union-attr]
            keys.append(absent_key(name))
        if entity.labelled:
            keys.append(labels_key(name))
        keys += [fact_key(name, f.name) for f in entity.fields]
    return keys


def basket_json(b: Any) -> dict[str, Any]:
    """A stored :class:`~rulec.engine.db.basket.Basket` as the page shows a basket."""
    return {
        "currency": b.currency,
        "status": b.status,
        "source": b.source,
        "pending": b.pending,
        "subtotal": str(b.subtotal),
        "lines": [
            {
                "name": line.description or "",
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "line_total": str(line.line_total),
                "discount": str(line.discount_amount),
                "total": str(line.total),
            }
            for line in b.lines
        ],
        "discounts": [
            {
                "rule": d.rule,
                "description": d.description,
                "kind": d.kind,
                "percentage": None if d.percentage is None else f"{d.percentage.normalize():f}",
                "amount": str(d.amount),
            }
            for d in b.applied
        ],
        "discount_description": b.discount_description,
        "discount_percentage": b.percentage_text.removesuffix("%") or None,
        "discount_amount": str(b.discount_amount),
        "total": str(b.total_amount),
    }


def _title(o: Any) -> str:
    who = o.customer.name if o.customer is not None else "no customer"
    when = o.created_at.date().isoformat() if o.created_at is not None else "?"
    return f"#{o.id} {who}, {o.subtotal:f} {o.currency}, {o.status}, {when}"
