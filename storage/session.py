"""Engines and sessions. Nothing is created at import time.

Database URLs carry passwords, so anything that shows a URL (a log record,
a message, an exception) goes through :func:`mask_url` or :func:`redact`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, quote_plus, unquote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "DEFAULT_URL",
    "make_engine",
    "make_session_factory",
    "mask_url",
    "parse_url",
    "redact",
]

#: The embedded default: a SQLite file in the current folder.
DEFAULT_URL = "sqlite:///rulec.db"

_MASK = "***"
#: Query parameters that hold secrets (``?password=…``, ``?sslpassword=…``, …).
_SECRET_KEY = re.compile(r"pass|pwd|secret|token", re.I)
#: ``password=…`` and the like inside text that is not a URL (libpq key/value strings).
_SECRET_PAIR = re.compile(r"(\w*(?:pass|pwd|secret|token)\w*\s*=\s*)('[^']*'|\S+)", re.I)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def parse_url(url: str | URL) -> URL:
    """``url`` parsed; a password holding a bare ``@`` is kept whole.

    SQLAlchemy stops a password at its first ``@``, so
    ``postgresql://u:p@ss@host/db`` would connect to host ``ss@host`` and put
    part of the password in the error. Like :mod:`urllib`, the last ``@``
    ends the credentials here.
    """
    u = make_url(url)
    if u.password is not None and u.host and "@" in u.host:
        rest, host = u.host.rsplit("@", 1)
        u = u.set(password=f"{u.password}@{rest}", host=host)
    return u


def make_engine(url: str | URL = DEFAULT_URL, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys switched on."""
    engine = create_engine(parse_url(url), **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def mask_url(url: str | URL) -> str:
    """``url`` with its password (and any secret query parameter) hidden.

    For logs and messages: ``postgresql://user:***@host/db``. A string that
    does not parse as a URL loses everything before its last ``@`` and every
    ``password=…`` value.
    """
    try:
        u = parse_url(url)
    except Exception:
        return _mask_text(str(url))
    if isinstance(url, str) and not _secrets(url):
        return url  # nothing to hide: keep it as typed
    query = {k: (_MASK if _SECRET_KEY.search(k) else v) for k, v in u.query.items()}
    text = u.set(query=query).render_as_string(hide_password=True)
    return text.replace(quote_plus(_MASK), _MASK)


def _mask_text(text: str) -> str:
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + _MASK, text)
    scheme, sep, rest = text.rpartition("://")
    if "@" in rest:
        rest = f"{_MASK}@{rest.rsplit('@', 1)[1]}"
    return f"{scheme}{sep}{rest}"


def _secrets(url: str | URL) -> set[str]:
    """Every form in which ``url``'s secrets could show up in a message."""
    raw = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    found: set[str] = set()
    try:
        u = parse_url(url)
    except Exception:
        u = None
    if u is not None:
        values = [u.password] if u.password else []
        for k, v in u.query.items():
            if _SECRET_KEY.search(k):
                values.extend([v] if isinstance(v, str) else v)
        for value in values:
            found |= {str(value), quote(str(value), safe=""), quote_plus(str(value))}
    # The credentials as typed: between "scheme://user:" and the last "@".
    _scheme, _sep, rest = raw.rpartition("://")
    userinfo = rest.rsplit("@", 1)[0] if "@" in rest and not rest.startswith("/") else ""
    typed = {m.group(2).strip("'") for m in _SECRET_PAIR.finditer(raw)}
    if ":" in userinfo:
        typed.add(userinfo.split(":", 1)[1])
    for value in typed:
        plain = unquote(value)
        found |= {value, plain, quote(plain, safe=""), quote_plus(plain)}
    return {s for s in found if s}


def redact(text: str, url: str | URL) -> str:
    """``text`` with ``url`` masked and its password replaced by ``***`` wherever it appears."""
    raw = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    if raw:
        text = text.replace(raw, mask_url(url))
    for secret in sorted(_secrets(url), key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return text
