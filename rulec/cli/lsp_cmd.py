"""``rulec lsp``: the language server editors start (docs/editors.md)."""

from __future__ import annotations

import sys

import click

from rulec.cli.common import EXIT_ERROR


@click.command(name="lsp")
@click.option(
    "--stdio",
    is_flag=True,
    help="Talk over standard input and output (the default, and the only transport; "
    "accepted because editors' clients pass it).",
)
@click.pass_context
def lsp(ctx: click.Context, stdio: bool) -> None:
    """Run the language server for rule files over standard input and output.

    Editors start it (docs/editors.md): it checks rule files as they are typed,
    with the whole rule set of their folder and the project's vocabulary, and
    offers hover, completion, go to definition, the outline, formatting and
    quick fixes.
    """
    del stdio
    try:
        from rulec.lsp.server import create_server
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in ("pygls", "lsprotocol", "cattrs"):
            raise
        click.echo("rulec lsp needs pygls: pip install 'rulec[lsp]'", err=True)
        sys.exit(EXIT_ERROR)

    config = (ctx.obj or {}).get("config")
    create_server(config).start_io()
