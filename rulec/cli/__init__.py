"""The ``rulec`` command: what analysts and CI run.

One module per command; this one only makes the group and adds them.
"""

from __future__ import annotations

import io
import sys

import click

from rulec import __version__
from rulec.cli.check_cmd import check, compile_
from rulec.cli.common import EXIT_ERROR, EXIT_FAIL, EXIT_INTERNAL, EXIT_SUCCESS
from rulec.cli.db_cmd import db, demo
from rulec.cli.explain_cmd import explain
from rulec.cli.fmt_cmd import fmt_
from rulec.cli.import_cmd import import_legacy
from rulec.cli.lsp_cmd import lsp
from rulec.cli.playground_cmd import playground
from rulec.cli.run_cmd import run
from rulec.cli.test_cmd import test

__all__ = ["EXIT_ERROR", "EXIT_FAIL", "EXIT_INTERNAL", "EXIT_SUCCESS", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rulec")
@click.option(
    "--config",
    type=click.Path(path_type=str, dir_okay=False),
    default=None,
    help="The schema file (vocabulary) rules are written against. Default: the closest "
    "rulec.toml, .rulec.toml or pyproject.toml with [tool.rulec] at or above the rules.",
)
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """rulec: check, compile and run business rules for order backends."""
    ctx.obj = {"config": config}
    # A terminal or CI log that cannot show a character (a latin-1 locale, say)
    # gets an escape instead of a UnicodeEncodeError and exit 123.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


_COMMANDS = (check, compile_, test, explain, fmt_, demo, db, run, import_legacy, playground, lsp)
for _command in _COMMANDS:
    main.add_command(_command)
