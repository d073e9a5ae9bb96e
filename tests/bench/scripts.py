"""Running a benchmark script the way its README says, for the smoke tests, and a
PostgreSQL database of a smoke test's own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]

PG_ADMIN_URL = os.environ.get(
    "RULEC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def own_postgres(prefix: str) -> Iterator[str]:
    """The URL of a PostgreSQL database of this process's own (``PREFIX_PID``), dropped
    afterwards; skips off CI when the server is down."""
    name = f"{prefix}_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # the server is down
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL is not reachable: {type(e).__name__}")
    url = make_url(PG_ADMIN_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_bench(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python bench/SCRIPT ARGS…`` from the repository's root, output captured."""
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
