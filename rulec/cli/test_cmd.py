"""``rulec test``: run the tests written beside the rules, with coverage."""

from __future__ import annotations

import sys

import click

from rulec.cli.common import (
    EXIT_ERROR,
    EXIT_FAIL,
    EXIT_SUCCESS,
    analysis_errors_exit,
    guard,
    vocabulary_for,
)


@click.command(name="test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit"]),
    default="text",
    show_default=True,
    help="How to print the results (junit: JUnit XML, for CI).",
)
@click.option("--coverage", "show_coverage", is_flag=True, help="Report what the tests exercised.")
@click.option(
    "--coverage-threshold",
    type=click.FloatRange(0, 100),
    default=None,
    metavar="N",
    help="Fail when coverage is under N percent (implies --coverage).",
)
@click.option("-v", "--verbose", is_flag=True, help="List the tests that passed too.")
@guard
def test(
    paths: tuple[str, ...],
    fmt: str,
    show_coverage: bool,
    coverage_threshold: float | None,
    verbose: bool,
) -> None:
    """Run the tests of rule files (folders: every *.rules inside; default: rules/).

    A test is a block in a .rules file: an event, the facts of an example
    order, and what its decision must be. Tests see every rule of the paths
    given. Results go to stdout, the summary to stderr. Exit status: 0 every
    test passed, 1 a test failed or was an error (or the rules have errors,
    or coverage is under --coverage-threshold), 2 usage error or unreadable
    path, 123 internal error.
    """
    from rulec.dsl.sources import analyze, read_sources
    from rulec.engine.core.load import from_analysis
    from rulec.tools.coverage import coverage
    from rulec.tools.ruletest import run_tests
    from rulec.tools.testreport import as_json, as_junit, as_text, summary_line

    paths = paths or ("rules",)
    sources = read_sources(paths)
    vocabulary = vocabulary_for(paths)
    if not sources:
        click.echo("rulec: no .rules files found", err=True)
        sys.exit(EXIT_ERROR)
    analysis = analyze(sources, vocabulary, lint=False)
    if not analysis.ok:
        analysis_errors_exit(analysis, "no test was run")
    rules = from_analysis(analysis, vocabulary)
    runs = run_tests(analysis, rules, vocabulary)
    wanted = show_coverage or coverage_threshold is not None
    cover = coverage(rules, runs) if wanted else None
    if fmt == "json":
        click.echo(as_json(runs, cover), nl=False)
    elif fmt == "junit":
        click.echo(as_junit(runs), nl=False)
    else:
        click.echo(as_text(runs, cover, verbose=verbose), nl=False)
    click.echo(summary_line(runs), err=True)
    if not runs:
        click.echo("rulec: no tests found; write a 'test \"…\" … end' block", err=True)
    failed = any(r.status != "pass" for r in runs)
    if cover is not None and coverage_threshold is not None and cover.percent < coverage_threshold:
        click.echo(
            f"rulec: coverage {cover.percent:.1f}% is under the threshold of "
            f"{coverage_threshold:g}%",
            err=True,
        )
        failed = True
    sys.exit(EXIT_FAIL if failed else EXIT_SUCCESS)
