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
        module = compile_rules(analysis.items[s.path], DEFAULT_VOCABULARY, s.path, s.name)
        click.echo(module.source, nl=False)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--given",
    "given",
    type=click.Path(path_type=str, dir_okay=False),
    help="A JSON file of facts (nested, as RuleSet.evaluate takes them).",
)
@click.option("--db", "url", help="Explain a stored order: the database URL.")
@click.option("--order", "order_id", type=int, help="With --db: the order's id.")
@click.option("--event", default="order_created", show_default=True, help="The event.")
@click.option("--at", "at", help="With --given: the moment windows are judged at (ISO 8601).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="How to print the explanation.",
)
@_guard
def explain(
    paths: tuple[str, ...],
    given: str | None,
    url: str | None,
    order_id: int | None,
    event: str,
    at: str | None,
    fmt: str,
) -> None:
    """Explain a decision: what became of every rule of the event, and why.

    The facts come from a JSON file (--given FACTS.json) or from a stored
    order (--db URL --order ID). Rules: PATHS (default: rules/). Exit
    status: 0, or 2 for a usage error (bad facts, unknown order), 1 when
    the rules have errors.
    """
    import json
    from datetime import datetime

    from rulec.api import load_paths
    from rulec.dsl.diagnostics import RulesCheckError
    from rulec.engine.vocabulary import DEFAULT_VOCABULARY
    from rulec.tools.explain import as_json
    from rulec.tools.given import FactsFileError, read_facts

    if (given is None) == (url is None):
        raise click.UsageError("give the facts: --given FACTS.json, or --db URL --order ID")
    if url is not None and order_id is None:
        raise click.UsageError("--db needs --order ID")
    try:
        rules = load_paths(paths or ("rules",))
    except RulesCheckError:
        analysis = analyze_paths(paths or ("rules",))
        errors = [d for d in analysis.diagnostics if d.severity == "error"]
        click.echo(render(Format.TEXT, errors, analysis.texts()), nl=False)
        click.echo("rulec: the rules have errors; nothing was explained", err=True)
        sys.exit(EXIT_FAIL)
    if rules.event(event) is None:
        raise click.BadParameter(f"unknown event {event!r}", param_hint="'--event'")
    if given is not None:
        now = None
        if at is not None:
            try:
                now = datetime.fromisoformat(at)
            except ValueError:
                raise click.BadParameter(f"{at!r} is not ISO 8601", param_hint="'--at'") from None
        try:
            with open(given, encoding="utf-8") as f:
                facts = read_facts(f.read(), DEFAULT_VOCABULARY, given)
        except OSError as e:
            raise click.BadParameter(f"{given}: {e.strerror}", param_hint="'--given'") from None
        except FactsFileError as e:
            raise click.UsageError(str(e)) from None
        explanation = rules.explain(event, facts, now=now)
    else:
        assert url is not None and order_id is not None
        explanation = _explain_stored(url, order_id, event, rules)
    if fmt == "json":
        click.echo(json.dumps(as_json(explanation), indent=2, ensure_ascii=False))
    else:
        click.echo(explanation.text())


def _explain_stored(url: str, order_id: int, event: str, rules: Any) -> Any:
    """The explanation of a stored order, its facts read as the engine reads them."""
    from rulec.engine.db.facts.row import load_facts
    from rulec.storage.models import Order
    from rulec.storage.session import make_session_factory

    engine = _open_db(url)
    try:
        with make_session_factory(engine)() as session:
            order = session.get(Order, order_id)
            if order is None:
                _db_fail(url, f"no order with id {order_id}")
            facts = load_facts(session, order, rules.keys_for(event))
            return rules.explain(event, facts)
    finally:
        engine.dispose()


@main.command(name="fmt")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--check", "check_only", is_flag=True, help="Change nothing; exit 1 if a file would change."
)
@click.option("--diff", is_flag=True, help="Change nothing; print what would change as a diff.")
@_guard
def fmt_(paths: tuple[str, ...], check_only: bool, diff: bool) -> None:
    """Lay rule files out the one canonical way (folders: every *.rules; default: rules/).

    Comments are kept and the meaning never changes. A file with syntax
    errors is left as it is and its errors printed. Exit status: 0, or 1
    when a file has syntax errors or (with --check) would change; 2 usage
    error or unreadable path.
    """
    import difflib

    from rulec.dsl.fmt import FormatError, format_text
    from rulec.dsl.parser import decode_source
    from rulec.dsl.sources import find_rule_files

    changed = unchanged = broken = 0
    for path in find_rule_files(paths or ("rules",)):
        name = str(path)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise RulesInputError(f"{name}: cannot read file: {e.strerror}") from None
        text, problems = decode_source(data, name)
        try:
            if text is None:
                raise FormatError(problems)
            formatted = format_text(text, name)
        except FormatError as e:
            broken += 1
            click.echo(render(Format.TEXT, list(e.diagnostics), {name: text or ""}), nl=False)
            continue
        if formatted == text:
            unchanged += 1
            continue
        changed += 1
        if diff:
            click.echo(
                "".join(
                    difflib.unified_diff(
                        text.splitlines(keepends=True),
                        formatted.splitlines(keepends=True),
                        f"a/{name}",
                        f"b/{name}",
                    )
                ),
                nl=False,
            )
        elif check_only:
            click.echo(f"would reformat {name}", err=True)
        else:
            path.write_text(formatted, encoding="utf-8", newline="")
    verb = "would be reformatted" if check_only or diff else "reformatted"
    click.echo(
        f"{changed} file{'s' if changed != 1 else ''} {verb}, {unchanged} left unchanged"
        + (f", {broken} with syntax errors" if broken else ""),
        err=True,
    )
    sys.exit(EXIT_FAIL if broken or (check_only and changed) else EXIT_SUCCESS)


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

    from rulec.storage.migrate import MigrationError

    engine = _open_db(url)
    try:
        yield engine
    except (CommandError, MigrationError) as e:
        _db_fail(url, str(e))
    finally:
        engine.dispose()


def _rules_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--rules",
        "rule_paths",
        multiple=True,
        default=("rules",),
        show_default=True,
        type=click.Path(path_type=str),
        help="Rule files or folders to load.",
    )(fn)


@main.command()
@click.option("--db", "url", default="sqlite:///rulec-demo.db", show_default=True, help=_DB_HELP)
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(path_type=str),
    help="Rule files or folders to load.  [default: the rules rulec ships]",
)
@_guard
def demo(url: str, rule_paths: tuple[str, ...]) -> None:
    """Migrate the database, load the rules and replay the VIP discount story."""
    from rulec.api import shipped_rules
    from rulec.demo import run_demo
    from rulec.storage.migrate import MigrationError

    _open_db(url).dispose()
    try:
        run_demo(url, rule_paths or (str(shipped_rules()),), click.echo)
    except MigrationError as e:
        _db_fail(url, str(e))


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


# --------------------------------------------------------------------- run --

#: Without a terminal, one progress line per this many rows (rounded to batches).
_RUN_LINE_ROWS = 100_000


@main.command()
@click.argument("event", type=click.Choice(["daily", "monthly"]))
@_db_option
@_rules_option
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=1000,
    show_default=True,
    help="Rows per batch; each batch is one transaction.",
)
@click.option(
    "--period",
    metavar="P",
    default=None,
    help="The day (YYYY-MM-DD) or month (YYYY-MM) to run for; default: the current one (UTC).",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="A folder for compiled rule sets: unchanged rules are not compiled again.",
)
@_guard
def run(
    event: str,
    url: str,
    rule_paths: tuple[str, ...],
    batch_size: int,
    period: str | None,
    cache: str | None,
) -> None:
    """Run the EVENT (daily or monthly) rules over every customer and order.

    Made for cron: one run per period (the day or the month, UTC). A period
    already done is skipped; a run that stopped half-way resumes after the
    last batch it committed; a run started while another holds the period
    stops without changing anything. Progress and the summary go to stderr.
    Exit status: 0 done, 1 a rule failed on some rows (logged, skipped),
    2 usage or database error, 123 internal error.
    """
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    from rulec.dsl.diagnostics import RulesCheckError
    from rulec.dsl.sources import read_sources
    from rulec.engine.core.cache import load_sources
    from rulec.engine.db.scheduled import check_period, run_scheduled
    from rulec.engine.vocabulary import DEFAULT_VOCABULARY
    from rulec.storage import migrate
    from rulec.storage.session import make_session_factory

    if period is not None:
        try:
            check_period(event, period)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="'--period'") from None
    try:
        rules = load_sources(read_sources(rule_paths), DEFAULT_VOCABULARY, cache)
    except RulesCheckError:
        analysis = analyze_paths(rule_paths)
        errors = [d for d in analysis.diagnostics if d.severity == "error"]
        click.echo(render(Format.TEXT, errors, analysis.texts()), nl=False)
        click.echo("rulec: the rules have errors; nothing was run", err=True)
        sys.exit(EXIT_FAIL)
    engine = _open_db(url)
    progress = _run_progress(sys.stderr.isatty(), batch_size)
    log = logging.getLogger("rulec.engine")
    echo = _run_log_echo()
    log.addHandler(echo)
    try:
        have, want = migrate.current(engine), migrate.head()
        if have != want:
            _db_fail(
                url,
                f"the schema is at revision {have or 'base'}, not {want}: "
                "run 'rulec db upgrade' first",
            )
        report = run_scheduled(
            make_session_factory(engine),
            rules,
            event,
            period=period,
            batch_size=batch_size,
            progress=progress,
        )
    except SQLAlchemyError as e:
        progress.close()
        orig = getattr(e, "orig", None)
        _db_fail(url, f"run stopped: {orig if orig is not None else e}")
    finally:
        log.removeHandler(echo)
        progress.close()
        engine.dispose()
    click.echo(report.summary(), err=True)
    sys.exit(EXIT_FAIL if report.errors else EXIT_SUCCESS)


#: ``rulec run`` shows this many of the engine's warnings and rule errors, then one line.
_RUN_LOG_LIMIT = 100


def _run_log_echo() -> Any:
    """A handler showing the engine's warnings and rule errors on stderr, up to a limit."""
    import logging

    class RunLogEcho(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.WARNING)
            self.seen = 0

        def emit(self, record: logging.LogRecord) -> None:
            self.seen += 1
            if self.seen <= _RUN_LOG_LIMIT:
                click.echo(f"rulec: {_one_line(record.getMessage())}", err=True)
            elif self.seen == _RUN_LOG_LIMIT + 1:
                click.echo(
                    f"rulec: more than {_RUN_LOG_LIMIT} errors and warnings; not shown", err=True
                )

    return RunLogEcho()


def _run_progress(tty: bool, batch_size: int) -> Any:
    """``rulec run``'s progress: a bar per subject on a terminal, else a line now and then."""
    from rulec.engine.db.scheduled import BatchInfo, Progress, SubjectReport

    every = max(1, -(-_RUN_LINE_ROWS // batch_size))

    class RunProgress(Progress):
        def __init__(self) -> None:
            self.bar: Any = None
            self.total = self.changed = 0

        def start(
            self, event: str, subject: str, period: str, remaining: int, resumed_after: int
        ) -> None:
            self.total, self.changed = remaining, 0
            resumed = f", resuming after id {resumed_after}" if resumed_after else ""
            if tty:
                self.bar = click.progressbar(
                    length=remaining, label=f"{event} {subject}s {period}", file=sys.stderr
                )
                self.bar.__enter__()
                if resumed:
                    click.echo(resumed[2:], err=True)
            else:
                click.echo(
                    f"{event} {subject}s for {period}: {remaining:,} to do{resumed}", err=True
                )

        def batch(self, info: BatchInfo) -> None:
            self.changed += info.changed
            if self.bar is not None:
                self.bar.update(info.rows)
            elif info.number % every == 0:
                rate = info.processed / info.seconds if info.seconds > 0 else 0.0
                share = f" ({100 * info.processed / self.total:.0f}%)" if self.total else ""
                click.echo(
                    f"{info.event} {info.subject}s: {info.processed:,} of {self.total:,}{share}, "
                    f"{rate:,.0f}/s, {self.changed:,} changed",
                    err=True,
                )

        def finish(self, report: SubjectReport) -> None:
            self.close()

        def close(self) -> None:
            if self.bar is not None:
                bar, self.bar = self.bar, None
                bar.__exit__(None, None, None)

    return RunProgress()
