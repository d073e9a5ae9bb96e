"""``rulec check`` and ``rulec compile``: lint rule files, show what they compile to."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from rulec import __version__
from rulec.api import analyze_paths
from rulec.cli.common import (
    EXIT_FAIL,
    EXIT_SUCCESS,
    guard,
    open_db,
    vocabulary_for,
)
from rulec.dsl.diagnostics import has_errors
from rulec.dsl.nodes import Rule
from rulec.dsl.report import Format, render, usage_error
from rulec.dsl.sources import RulesInputError
from rulec.tools.deeplint import with_deep_lint


@click.command()
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
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The day validity windows are judged at (default: today, UTC).",
)
@click.option(
    "--db",
    "url",
    default=None,
    help="Database URL: compare its labels table with the declared labels.",
)
@guard
def check(
    paths: tuple[str, ...], fmt: str, strict: bool, as_of: datetime | None, url: str | None
) -> None:
    """Check rule files (folders: every *.rules inside; default: rules/).

    Diagnostics go to stdout, the summary to stderr. Exit status: 0 clean,
    1 errors (or warnings with --strict), 2 usage error (no rule files, a
    missing or unreadable path: still a document in the format asked for),
    123 internal error.
    """
    paths = paths or ("rules",)
    try:
        vocabulary = vocabulary_for(paths)
        analysis = analyze_paths(paths, vocabulary)
    except RulesInputError as e:
        if fmt != Format.TEXT.value:  # the message goes to stderr too (guard)
            click.echo(
                render(Format(fmt), [usage_error(str(e), e.path)], {}, __version__), nl=False
            )
        raise
    diagnostics = with_deep_lint(
        analysis,
        vocabulary,
        as_of=as_of.date() if as_of is not None else None,
        db=(lambda: open_db(url)) if url else None,
    )
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
    failed = has_errors(diagnostics) or (strict and warnings > 0)
    sys.exit(EXIT_FAIL if failed else EXIT_SUCCESS)


@click.command(name="compile")
@click.argument("path", type=click.Path(path_type=str))
@guard
def compile_(path: str) -> None:
    """Print the Python module generated for the rule file PATH."""
    from rulec.dsl.compiler import compile_rules

    vocabulary = vocabulary_for([path])
    analysis = analyze_paths([path], vocabulary)
    if has_errors(analysis.diagnostics):
        errors = [d for d in analysis.diagnostics if d.severity == "error"]
        click.echo(render(Format.TEXT, errors, analysis.texts()), nl=False)
        sys.exit(EXIT_FAIL)
    for s in analysis.sources:
        module = compile_rules(analysis.items[s.path], vocabulary, s.path, s.name)
        click.echo(module.source, nl=False)
