"""What every ``rulec`` command shares: exit codes, the error guard, database helpers."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import click

from rulec.api import analyze_paths
from rulec.dsl.report import Format, render
from rulec.dsl.sources import RulesInputError
from rulec.engine.core.errors import FactsError, UnknownEventError

if TYPE_CHECKING:
    from sqlalchemy import Engine as SqlEngine

    from rulec.dsl.sources import Analysis
    from rulec.dsl.vocabulary import Vocabulary

EXIT_SUCCESS = 0  # no errors (warnings allowed unless --strict)
EXIT_FAIL = 1  # diagnostics that fail the run
EXIT_ERROR = 2  # usage error, missing or unreadable path
EXIT_INTERNAL = 123  # a bug in rulec


def one_line(text: str, limit: int = 500) -> str:
    """``text`` as one printable line: newlines and control characters escaped."""
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    return text if len(text) <= limit else text[:limit] + "…"


def guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn unexpected exceptions into a one-line message and exit 123; bad input
    (a path, no rule files, facts or an event name refused) into one and exit 2.

    A command with a ``url`` parameter (``--db``) never shows its password:
    the message is passed through :func:`rulec.storage.session.redact`.
    """

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        def clean(text: str) -> str:
            url = kwargs.get("url")
            if url:
                from rulec.storage.session import redact

                text = redact(text, url)
            return one_line(text)

        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except (RulesInputError, FactsError, UnknownEventError) as e:
            click.echo(f"rulec: {clean(str(e))}", err=True)
            sys.exit(EXIT_ERROR)
        except RecursionError:
            click.echo("rulec: internal error: input nested too deeply", err=True)
            sys.exit(EXIT_INTERNAL)
        except Exception as e:
            click.echo(
                f"rulec: internal error: {type(e).__name__}: {clean(str(e))}"
                " (this is a bug in rulec; please report it)",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


DB_HELP = "Database URL (default: an SQLite file in the current folder)."


def open_db(url: str) -> SqlEngine:
    """An engine for ``url`` that has connected once; exit 2 when it cannot.

    A wrong URL, a missing driver, an unreachable server or refused
    credentials are the user's to fix, not bugs: one line naming the
    database with its password masked, and exit status 2.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from rulec.storage.session import make_engine

    try:
        engine = make_engine(url)
        with engine.connect():
            pass
    except (SQLAlchemyError, ImportError, ValueError) as e:
        orig = getattr(e, "orig", None)
        db_fail(url, f"cannot open database: {orig if orig is not None else e}")
    return engine


def db_fail(url: str, message: str) -> NoReturn:
    from rulec.storage.session import mask_url, redact

    click.echo(f"rulec: {mask_url(url)}: {one_line(redact(message, url))}", err=True)
    sys.exit(EXIT_ERROR)


@contextmanager
def migrating(url: str) -> Iterator[SqlEngine]:
    """``url``'s engine for a migration; an unknown revision is a usage error (exit 2)."""
    from alembic.util import CommandError

    from rulec.storage.migrate import MigrationError

    engine = open_db(url)
    try:
        yield engine
    except (CommandError, MigrationError) as e:
        db_fail(url, str(e))
    finally:
        engine.dispose()


def rules_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--rules",
        "rule_paths",
        multiple=True,
        default=("rules",),
        show_default=True,
        type=click.Path(path_type=str),
        help="Rule files or folders to load.",
    )(fn)


def db_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--db", "url", default="sqlite:///rulec.db", show_default=True, help=DB_HELP
    )(fn)


def rule_errors_exit(paths: tuple[str, ...] | list[str], nothing: str) -> NoReturn:
    """Print the rules' errors and exit 1: the rules did not load, so ``nothing`` was done."""
    analysis_errors_exit(analyze_paths(paths, vocabulary_for(paths)), f"nothing was {nothing}")


def analysis_errors_exit(analysis: Analysis, outcome: str) -> NoReturn:
    """Print ``analysis``'s errors and exit 1, saying what did not happen (``outcome``)."""
    errors = [d for d in analysis.diagnostics if d.severity == "error"]
    click.echo(render(Format.TEXT, errors, analysis.texts()), nl=False)
    click.echo(f"rulec: the rules have errors; {outcome}", err=True)
    sys.exit(EXIT_FAIL)


def vocabulary_for(paths: tuple[str, ...] | list[str]) -> Vocabulary:
    """The vocabulary of the rules at ``paths``: ``rulec --config FILE``, else the
    project's schema file found at or above them, else the default."""
    from rulec.engine.vocabulary import project_vocabulary

    ctx = click.get_current_context(silent=True)
    config = ctx.find_root().obj.get("config") if ctx is not None and ctx.find_root().obj else None
    return project_vocabulary(paths, config)
