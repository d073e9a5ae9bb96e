"""The shop's Alembic configuration: its own revisions and rulec's branch."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine

from rulec.storage.migrate import BRANCH_LOCATION

HERE = Path(__file__).resolve().parent.parent


def config(engine: Engine | None = None) -> Config:
    """The Alembic configuration: ``migrations/`` with rulec's branch in its
    ``version_locations``; ``engine`` handed to ``env.py`` when given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option(
        "version_locations",
        os.pathsep.join([str(HERE / "migrations" / "versions"), BRANCH_LOCATION]),
    )
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """``alembic upgrade heads``: the shop's tables and rulec's."""
    command.upgrade(config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(config(engine), revision)


if __name__ == "__main__":  # python -m shop.db URL
    upgrade(create_engine(sys.argv[1]))
