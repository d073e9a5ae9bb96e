"""docs/tutorial.md, run step by step: its terminal output is what the tool prints.

The tutorial's blocks are taken in order, in an empty folder: a block marked
``<!-- file: PATH -->`` is written to PATH (again, when a later step changes
the file); a block marked ``<!-- terminal: rulec ARGS -->`` is ``$ rulec
ARGS`` followed by what the command prints, standard output and standard
error as a terminal shows them.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from click.testing import CliRunner

from rulec.cli import main

from .test_docs import ROOT, _cwd, blocks

TUTORIAL = ROOT / "docs" / "tutorial.md"


def test_every_step_prints_what_the_tutorial_shows(tmp_path: Path) -> None:
    steps = [b for b in blocks(TUTORIAL) if "file" in b.markers or "terminal" in b.markers]
    commands = [b for b in steps if "terminal" in b.markers]
    assert len(commands) >= 8
    shown = {shlex.split(b.markers["terminal"])[1] for b in commands}
    assert {"check", "test", "explain", "fmt"} <= shown
    for b in steps:
        if "file" in b.markers:
            path = tmp_path / b.markers["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(b.text, encoding="utf-8")
            continue
        command = shlex.split(b.markers["terminal"])
        assert command[0] == "rulec", b.where
        with _cwd(tmp_path):
            result = CliRunner().invoke(main, command[1:])
        assert result.exit_code in (0, 1), (b.where, result.output)
        assert f"$ {b.markers['terminal']}\n" + result.output == b.text, b.where
    # the tutorial ends with a rule set that is clean, tested and formatted
    with _cwd(tmp_path):
        for args in (["check", "--strict", "shop"], ["test", "shop"], ["fmt", "--check", "shop"]):
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 0, (args, result.output)
