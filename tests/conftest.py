"""Shared helpers for the test suite."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

import rulec
from rulec.storage import migrate
from rulec.storage.models import Base
from rulec.storage.session import make_engine, make_session_factory


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On CI a skipped test is a failure: every test must run there."""
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        for report in skipped:
            reporter.write_line(f"skipped on CI (not allowed): {report.nodeid}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def codes(text: str, file: str = "t.rules") -> list[tuple[str, int, int]]:
    """``(code, line, column)`` of every diagnostic for rule ``text``."""
    return [d.check_tuple() for d in rulec.check_text(text, file)]


@pytest.fixture
def check_codes():
    return codes


# ---------------------------------------------------------------- databases --


PG_ADMIN_URL = os.environ.get(
    "RULEC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
#: Each suite run owns its database: set RULEC_TEST_PG_DB to run two suites at once.
#: Under pytest-xdist each worker owns one too (``rulec_test_gw0``, ...): the
#: suite's tests empty and migrate their database, so workers may not share one.
#: The name is put back in the environment, where the tests that make databases
#: of their own (``<name>_shop``, ``<name>_secrets``) read it.
PG_DB = os.environ.get("RULEC_TEST_PG_DB", "rulec_test")
if os.environ.get("PYTEST_XDIST_WORKER") and not PG_DB.endswith(
    "_" + os.environ["PYTEST_XDIST_WORKER"]
):
    PG_DB += "_" + os.environ["PYTEST_XDIST_WORKER"]
    os.environ["RULEC_TEST_PG_DB"] = PG_DB


def _postgres_url() -> str:
    """A database of our own on the local PostgreSQL, created when missing."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": PG_DB}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_DB


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of the suite's own PostgreSQL database; skips off CI when the server is down."""
    try:
        return _postgres_url()
    except Exception as e:  # the server is down
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL is not reachable: {type(e).__name__}")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_engine(request, tmp_path_factory):
    """A migrated database of each kind; PostgreSQL never skips on CI."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'rulec.db'}"
    else:
        try:
            url = _postgres_url()
        except Exception as e:  # the server is down
            if os.environ.get("CI"):
                raise
            pytest.skip(f"PostgreSQL is not reachable: {type(e).__name__}")
    engine = make_engine(url)
    migrate.downgrade(engine, "base")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db(db_engine):
    """The migrated database, emptied after each test."""
    yield db_engine
    with db_engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def sessions(db):
    return make_session_factory(db)
