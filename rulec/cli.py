"""The ``rulec`` command: what analysts and CI run."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import click

from rulec import __version__
from rulec.api import analyze_paths
from rulec.dsl.diagnostics import has_errors
from rulec.dsl.nodes import Rule
from rulec.dsl.report import Format, render
from rulec.dsl.sources import RulesInputError

if TYPE_CHECKING:
    from sqlalchemy import Engine as SqlEngine

__all__ = ["EXIT_ERROR", "EXIT_FAIL", "EXIT_INTERNAL", "EXIT_SUCCESS", "main"]

EXIT_SUCCESS = 0  # no errors (warnings allowed unless --strict)
EXIT_FAIL = 1  # diagnostics that fail the run
EXIT_ERROR = 2  # usage error, missing or unreadable path
EXIT_INTERNAL = 123  # a bug in rulec


def _one_line(text: str, limit: int = 500) -> str:
    """``text`` as one printable line: newlines and control characters escaped."""
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    return text if len(text) <= limit else text[:limit] + "…"


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn unexpected exceptions into a one-line message and exit 123.

    A command with a ``url`` parameter (``--db``) never shows its password:
    the message is passed through :func:`rulec.storage.session.redact`.
    """

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        def clean(text: str) -> str:
            url = kwargs.get("url")
            if url:
                from rulec.storage.session import redact

                text = redact(text, url)
            return _one_line(text)

        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except RulesInputError as e:
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rulec")
def main() -> None:
    """rulec: check, compile and run business rules for order backends."""
    # A terminal or CI log that cannot show a character (a latin-1 locale, say)
    # gets an escape instead of a UnicodeEncodeError and exit 123.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in Format]),
    default=Format.TEXT.value,
    show_default=True,
    help="How to print diagnostics.",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@_guard
def check(paths: tuple[str, ...], fmt: str, strict: bool) -> None:
    """Check rule files (folders: every *.rules inside; default: rules/).

    Diagnostics go to stdout, the summary to stderr. Exit status: 0 clean,
    1 errors (or warnings with --strict), 2 usage error or unreadable path,
    123 internal error.
    """
    analysis = analyze_paths(paths or ("rules",))
    diagnostics = analysis.diagnostics
    out = render(Format(fmt), diagnostics, analysis.texts(), __version__)
    if out or fmt in ("json", "sarif"):
        click.echo(out, nl=False)
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    files = len(analysis.sources)
    rules = sum(isinstance(i, Rule) for items in analysis.items.values() for i in items)
    click.echo(
        f"{files} file{'s' if files != 1 else ''}, {rules} rule{'s' if rules != 1 else ''}: "
        f"{errors} error{'s' if errors != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''}",
        err=True,
    )
    if files == 0:
        click.echo("rulec: no .rules files found", err=True)
    failed = has_errors(diagnostics) or (strict and warnings > 0)
    sys.exit(EXIT_FAIL if failed else EXIT_SUCCESS)


@main.command(name="compile")
@click.argument("path", type=click.Path(path_type=str))
@_guard
def compile_(path: str) -> None:
    """Print the Python module generated for the rule file PATH."""
    from rulec.dsl.compiler import compile_rules
    from rulec.engine.vocabulary import DEFAULT_VOCABULARY

    analysis = analyze_paths([path])
    if has_errors(analysis.diagnostics):
        errors = [d for d in analysis.diagnostics if d.severity == "error"]
        click.echo(render(Format.TEXT, errors, analysis.texts()), nl=False)
        sys.exit(EXIT_FAIL)
    for s in analysis.sources:
        module = compile_rules(analysis.items[s.path], DEFAULT_VOCABULARY, s.path)
        click.echo(module.source, nl=False)


_DB_HELP = "Database URL (default: an SQLite file in the current folder)."


def _open_db(url: str) -> SqlEngine:
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
        _db_fail(url, f"cannot open database: {orig if orig is not None else e}")
    return engine


def _db_fail(url: str, message: str) -> NoReturn:
    from rulec.storage.session import mask_url, redact

    click.echo(f"rulec: {mask_url(url)}: {_one_line(redact(message, url))}", err=True)
    sys.exit(EXIT_ERROR)


@contextmanager
def _migrating(url: str) -> Iterator[SqlEngine]:
    """``url``'s engine for a migration; an unknown revision is a usage error (exit 2)."""
    from alembic.util import CommandError

    engine = _open_db(url)
    try:
        yield engine
    except CommandError as e:
        _db_fail(url, str(e))
    finally:
        engine.dispose()


@main.command()
@click.option("--db", "url", default="sqlite:///rulec-demo.db", show_default=True, help=_DB_HELP)
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    default=("rules",),
    show_default=True,
    type=click.Path(path_type=str),
    help="Rule files or folders to load.",
)
@_guard
def demo(url: str, rule_paths: tuple[str, ...]) -> None:
    """Migrate the database, load the rules and replay the VIP discount story."""
    from rulec.demo import run_demo

    _open_db(url).dispose()
    run_demo(url, rule_paths, click.echo)


@main.group()
def db() -> None:
    """Schema migrations: upgrade, downgrade, current."""


def _db_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--db", "url", default="sqlite:///rulec.db", show_default=True, help=_DB_HELP
    )(fn)


@db.command()
@_db_option
@click.argument("revision", default="head")
@_guard
def upgrade(url: str, revision: str) -> None:
    """Migrate the schema up to REVISION (default: the newest)."""
    from rulec.storage import migrate
    from rulec.storage.session import mask_url

    with _migrating(url) as engine:
        migrate.upgrade(engine, revision)
        click.echo(f"{mask_url(url)}: at revision {migrate.current(engine)}", err=True)


@db.command()
@_db_option
@click.argument("revision", default="-1")
@_guard
def downgrade(url: str, revision: str) -> None:
    """Migrate the schema down to REVISION (default: one step; 'base': empty)."""
    from rulec.storage import migrate
    from rulec.storage.session import mask_url

    with _migrating(url) as engine:
        migrate.downgrade(engine, revision)
        click.echo(f"{mask_url(url)}: at revision {migrate.current(engine) or 'base'}", err=True)


@db.command()
@_db_option
@_guard
def current(url: str) -> None:
    """Print the schema revision of the database ('base' when empty)."""
    from rulec.storage import migrate

    with _migrating(url) as engine:
        click.echo(migrate.current(engine) or "base")
