"""A database in the old system's schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from rulec.storage.session import make_engine
from rulec.tools.legacy.schema import legacy_metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def old_db(request, tmp_path) -> tuple[Engine, str, str]:
    """(engine, url, prefix): an empty database for the old tables.

    On PostgreSQL the tables live in a schema of their own and carry a
    prefix (``legacy.old_``), as a renamed app's would; they are dropped
    afterwards, so that the suite's database holds rulec's tables alone.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        prefix = ""
    else:
        url = request.getfixturevalue("postgres_url")
        prefix = "legacy.old_"
    engine = make_engine(url)
    if request.param == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("CREATE SCHEMA IF NOT EXISTS legacy"))
    yield engine, url, prefix
    legacy_metadata(prefix).drop_all(engine)
    engine.dispose()
