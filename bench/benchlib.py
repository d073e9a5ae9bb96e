"""What several benchmark scripts share (they run as scripts: ``bench/`` is on sys.path)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def ensure_postgres_database(url: str) -> str:
    """Create the database of ``url`` when missing (through the server's ``postgres`` db)."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()
    return url


def postgres_version(url: str) -> str:
    """The PostgreSQL server's version (``15.19``)."""
    db = create_engine(url)
    try:
        with db.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar()).split()[0]
    finally:
        db.dispose()


def bench_database(db: str, folder: Path) -> tuple[str, str]:
    """The URL a bench runs on, and its database and version for the header: an
    SQLite file in ``folder`` for ``"sqlite"``, else ``db`` itself (a PostgreSQL
    database created when missing). sqlalchemy.exc.OperationalError when the
    server cannot be reached."""
    if db == "sqlite":
        return f"sqlite:///{folder / 'shop.db'}", f"SQLite {sqlite3.sqlite_version}"
    if db.startswith("postgresql"):
        ensure_postgres_database(db)
        return db, f"PostgreSQL {postgres_version(db)}"
    return db, db.split(":", 1)[0]
