"""A database in the old system's schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from rulec.storage.session import make_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def old_db(request, tmp_path) -> tuple[Engine, str, str]:
    """(engine, url, prefix): an empty database for the old tables; PostgreSQL's
    tables carry a prefix (``old_``), as a renamed app's would."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        prefix = ""
    else:
        url = request.getfixturevalue("postgres_url")
        prefix = "old_"
    engine = make_engine(url)
    yield engine, url, prefix
    engine.dispose()
