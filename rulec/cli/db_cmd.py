"""``rulec demo`` and ``rulec db``: the demo story and schema migrations."""

from __future__ import annotations

import click

from rulec.cli.common import (
    DB_HELP,
    db_fail,
    db_option,
    guard,
    migrating,
    open_db,
)


@click.command()
@click.option("--db", "url", default="sqlite:///rulec-demo.db", show_default=True, help=DB_HELP)
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(path_type=str),
    help="Rule files or folders to load.  [default: the rules rulec ships]",
)
@guard
def demo(url: str, rule_paths: tuple[str, ...]) -> None:
    """Migrate the database, load the rules and replay the VIP discount story."""
    from rulec.api import shipped_rules
    from rulec.demo import run_demo
    from rulec.storage.migrate import MigrationError

    open_db(url).dispose()
    try:
        run_demo(url, rule_paths or (str(shipped_rules()),), click.echo)
    except MigrationError as e:
        db_fail(url, str(e))


@click.group()
def db() -> None:
    """Schema migrations: upgrade, downgrade, current."""


@db.command()
@db_option
@click.argument("revision", default="head")
@guard
def upgrade(url: str, revision: str) -> None:
    """Migrate the schema up to REVISION (default: the newest)."""
    from rulec.storage import migrate
    from rulec.storage.session import mask_url

    with migrating(url) as engine:
        migrate.upgrade(engine, revision)
        click.echo(f"{mask_url(url)}: at revision {migrate.current(engine)}", err=True)


@db.command()
@db_option
@click.argument("revision", default="-1")
@guard
def downgrade(url: str, revision: str) -> None:
    """Migrate the schema down to REVISION (default: one step; 'base': empty)."""
    from rulec.storage import migrate
    from rulec.storage.session import mask_url

    with migrating(url) as engine:
        migrate.downgrade(engine, revision)
        click.echo(f"{mask_url(url)}: at revision {migrate.current(engine) or 'base'}", err=True)


@db.command()
@db_option
@guard
def current(url: str) -> None:
    """Print the schema revision of the database ('base' when empty)."""
    from rulec.storage import migrate

    with migrating(url) as engine:
        click.echo(migrate.current(engine) or "base")


# --------------------------------------------------------------------- run --
