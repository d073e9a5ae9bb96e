"""``rulec fmt``: lay rule files out the one canonical way."""

from __future__ import annotations

import sys

import click

from rulec.cli.common import (
    EXIT_FAIL,
    EXIT_SUCCESS,
    guard,
)
from rulec.dsl.report import Format, render
from rulec.dsl.sources import RulesInputError


@click.command(name="fmt")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--check", "check_only", is_flag=True, help="Change nothing; exit 1 if a file would change."
)
@click.option("--diff", is_flag=True, help="Change nothing; print what would change as a diff.")
@guard
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
