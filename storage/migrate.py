"""Schema migrations (Alembic), driven from Python and from ``rulec db``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

__all__ = ["current", "downgrade", "head", "upgrade"]

_SCRIPTS = Path(__file__).parent / "migrations"


def _config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` in one transaction."""
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def downgrade(engine: Engine, revision: str = "-1") -> None:
    """Migrate the database down to ``revision`` (``base`` drops everything)."""
    with engine.begin() as conn:
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
