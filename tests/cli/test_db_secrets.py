"""``rulec demo`` and ``rulec db`` never show a database password: output, errors, logs."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from rulec.cli import EXIT_ERROR, main
from rulec.storage import migrate

ROOT = Path(__file__).parents[2]
SECRET = "s3cr3t-P@ss"
ENCODED = "s3cr3t-P%40ss"

PG_ADMIN_URL = os.environ.get(
    "RULEC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
#: Each suite run owns its database (as conftest's RULEC_TEST_PG_DB): two can run at once.
PG_DB = os.environ.get("RULEC_TEST_PG_DB", "rulec_test") + "_secrets"


def leaks(output: str) -> bool:
    return any(s in output for s in ("s3cr3t", "P@ss", "P%40ss", "ss@"))


@pytest.fixture(scope="module")
def pg_url():
    """A database of its own, reached with a password (the local server trusts anyone)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": PG_DB}
            ).scalar():
                conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
    finally:
        admin.dispose()
    u = create_engine(PG_ADMIN_URL).url
    return f"postgresql+psycopg://{u.username or 'postgres'}:{ENCODED}@{u.host}:{u.port}/{PG_DB}"


#: URLs that cannot work, each with the password in it.
BAD_URLS = {
    "unreachable port": f"postgresql+psycopg://root:{ENCODED}@127.0.0.1:1/shop",
    "unknown host": f"postgresql+psycopg://root:{ENCODED}@no-such-host.invalid/shop",
    "refused credentials": f"postgresql+psycopg://nobody:{ENCODED}@127.0.0.1:5432/test",
    "unknown database": f"postgresql+psycopg://root:{ENCODED}@127.0.0.1:5432/no_such_db",
    "unknown driver": f"postgresql+nosuch://root:{ENCODED}@127.0.0.1/shop",
    "driver not installed": f"mysql+mysqldb://root:{ENCODED}@127.0.0.1/shop",
    "bare @ in the password": f"postgresql+psycopg://root:{SECRET}@127.0.0.1:1/shop",
    "not a URL": f"root:{SECRET}@127.0.0.1/shop",
    "bad port": f"postgresql+psycopg://root:{ENCODED}@127.0.0.1:abc/shop",
    "password in the query": f"postgresql+psycopg:///shop?host=127.0.0.1&port=1&password={ENCODED}",
}
COMMANDS = {
    "demo": ["demo", "--rules", str(ROOT / "rules")],
    "db upgrade": ["db", "upgrade"],
    "db downgrade": ["db", "downgrade"],
    "db current": ["db", "current"],
}


def test_the_driver_that_is_not_installed_is_really_missing():
    assert importlib.util.find_spec("MySQLdb") is None


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
@pytest.mark.parametrize("url", BAD_URLS.values(), ids=list(BAD_URLS))
def test_a_database_that_cannot_be_opened_exits_2_with_the_password_masked(command, url, caplog):
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="sqlalchemy"):
        result = CliRunner().invoke(main, [*COMMANDS[command], "--db", url])
    assert result.exit_code == EXIT_ERROR, result.output
    assert not leaks(result.output), result.output
    assert not leaks(caplog.text), caplog.text
    [line] = result.stderr.splitlines()
    assert line.startswith("rulec: ") and "***" in line
    assert "internal error" not in line and "Traceback" not in result.output


def test_the_working_commands_show_the_url_masked_and_log_nothing_secret(pg_url, caplog):
    """upgrade, current, downgrade and demo on PostgreSQL, every logger at DEBUG."""
    runner = CliRunner()
    masked = pg_url.replace(ENCODED, "***")
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="sqlalchemy"):
        results = [
            runner.invoke(main, ["db", "upgrade", "--db", pg_url]),
            runner.invoke(main, ["db", "current", "--db", pg_url]),
            runner.invoke(main, ["db", "downgrade", "--db", pg_url]),
            runner.invoke(main, ["db", "upgrade", "head", "--db", pg_url]),
            runner.invoke(main, ["demo", "--rules", str(ROOT / "rules"), "--db", pg_url]),
        ]
    for r in results:
        assert r.exit_code == 0, r.output
        assert not leaks(r.output), r.output
    assert f"{masked}: at revision {migrate.head()}" in results[0].stderr
    assert results[1].stdout.strip() == migrate.head()
    scripts = ScriptDirectory(str(Path(migrate.__file__).parent / "migrations"))
    head = scripts.get_revision(migrate.head())
    assert head is not None
    assert f"{masked}: at revision {head.down_revision}" in results[2].stderr
    assert f"Database: {masked}" in results[4].stdout
    # the storage logger names the database; SQLAlchemy and Alembic log too
    loggers = {r.name.split(".")[0] for r in caplog.records}
    assert {"rulec", "sqlalchemy", "alembic"} <= loggers
    assert f"upgrading {masked} to head" in caplog.text
    for record in caplog.records:
        assert not leaks(record.getMessage()), record.getMessage()
        assert not leaks(str(record.args)), record.args
        assert not leaks(record.exc_text or "")


def test_an_unknown_revision_is_a_usage_error(pg_url):
    result = CliRunner().invoke(main, ["db", "upgrade", "nosuchrev", "--db", pg_url])
    assert result.exit_code == EXIT_ERROR
    assert "Can't locate revision identified by 'nosuchrev'" in result.stderr
    assert not leaks(result.output)


def test_an_internal_error_is_redacted_too(pg_url, monkeypatch):
    """A failure the CLI does not expect still shows no password."""
    from rulec.storage import migrate

    def boom(engine, revision="head"):
        raise RuntimeError(f"cannot migrate {engine.url.render_as_string(False)} ({SECRET})")

    monkeypatch.setattr(migrate, "upgrade", boom)
    result = CliRunner().invoke(main, ["db", "upgrade", "--db", pg_url])
    assert result.exit_code == 123
    assert "internal error: RuntimeError: cannot migrate postgresql+psycopg://" in result.stderr
    assert not leaks(result.output), result.output


def _rulec(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("rulec")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "rulec.cli"]
    return subprocess.run(
        [*cmd, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
        cwd=ROOT,
    )


def test_as_a_real_process(pg_url):
    bad = _rulec("db", "upgrade", "--db", BAD_URLS["bare @ in the password"])
    assert bad.returncode == EXIT_ERROR, bad.stderr
    assert "***@127.0.0.1:1/shop" in bad.stderr
    good = _rulec("demo", "--db", pg_url)
    assert good.returncode == 0, good.stderr
    for p in (bad, good):
        assert not leaks(p.stdout + p.stderr), p.stdout + p.stderr
        assert "Traceback" not in p.stderr
