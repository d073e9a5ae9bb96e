"""Schema migrations (Alembic), driven from Python and from ``rulec db``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from rulec.storage.session import mask_url

__all__ = [
    "BRANCH",
    "BRANCH_LOCATION",
    "MigrationError",
    "current",
    "downgrade",
    "head",
    "logger",
    "upgrade",
]

logger = logging.getLogger("rulec.storage")

_SCRIPTS = Path(__file__).parent / "migrations"

#: The label of the Alembic branch of rulec's own tables (rulec.storage.owned), for a
#: backend with its own models and its own Alembic environment: ``rulec@head``.
BRANCH = "rulec"
#: The folder of that branch's revisions: add it to the backend's ``version_locations``.
#: ``rulec db upgrade`` (the reference models) does not use it.
BRANCH_LOCATION = str(_SCRIPTS / "owned")


class MigrationError(Exception):
    """A migration would leave the database inconsistent; nothing was changed."""


def _config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    cfg.attributes["connection"] = connection
    return cfg


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction that commits only if every step succeeds.

    On SQLite, batch mode rebuilds a table by copying it, dropping the old
    one and renaming the copy. With foreign keys on, that drop would cascade
    into every row that references the table (``customer_labels`` for
    ``labels``), so they are off during the migration and checked before the
    commit; and the transaction is opened explicitly, since the sqlite3
    driver would otherwise run the DDL outside of it.
    """
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            with conn.begin():
                yield conn
            return
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # no effect inside a transaction
        conn.commit()
        try:
            with conn.begin():
                dbapi = conn.connection.dbapi_connection
                if dbapi is not None and not getattr(dbapi, "in_transaction", True):
                    conn.exec_driver_sql("BEGIN")
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise MigrationError(
                        f"the migration would break {len(broken)} foreign key(s), "
                        f"first in table {broken[0][0]!r}; rolled back"
                    )
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


def _known(conn: Connection) -> None:
    """MigrationError when the database is at a revision this rulec does not know."""
    have = MigrationContext.configure(conn).get_current_revision()
    if have is None:
        return
    try:
        ScriptDirectory.from_config(_config(conn)).get_revision(have)
    except Exception:  # Alembic's errors for an unknown revision vary by version
        raise MigrationError(
            f"the database is at revision {have!r}, which this version of rulec does not "
            f"know (its newest is {head()!r}): a newer rulec migrated it; use that "
            "version, or migrate the database down with it first"
        ) from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` in one transaction."""
    logger.info("upgrading %s to %s", mask_url(engine.url), revision)
    with _migrating(engine) as conn:
        _known(conn)
        command.upgrade(_config(conn), revision)


def downgrade(engine: Engine, revision: str = "-1") -> None:
    """Migrate the database down to ``revision`` (``base`` drops everything)."""
    logger.info("downgrading %s to %s", mask_url(engine.url), revision)
    with _migrating(engine) as conn:
        _known(conn)
        command.downgrade(_config(conn), revision)


def current(engine: Engine) -> str | None:
    """The database's revision, or None when it has no schema yet."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str:
    """The newest revision the code knows."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    got = ScriptDirectory.from_config(cfg).get_current_head()
    assert got is not None
    return got
