"""docs/backtest.md shows what the commands print: its shop is built by its own script,
and its text outputs are compared with what ``rulec simulate`` and ``rulec diff --git``
print on it (issue 16)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from rulec.cli import main

from .test_docs import ROOT, blocks

DOC = ROOT / "docs" / "backtest.md"


def _run(tmp: Path, command: str) -> str:
    args = command.split()[1:]
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        result = CliRunner().invoke(main, args)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.filterwarnings("ignore")
def test_the_documented_outputs_are_the_tools(tmp_path: Path) -> None:
    found = blocks(DOC)
    script = next(b for b in found if b.info == "python")
    new_vip = next(b for b in found if b.info == "rules")
    outputs = [b for b in found if b.info == "text" and b.text.startswith("$ rulec ")]
    assert len(outputs) == 3
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(script.text, str(DOC), "exec"), {"__name__": "doc"})
    finally:
        os.chdir(cwd)

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=d", "-c", "user.email=d@example.com", *args],
            cwd=tmp_path, check=True, capture_output=True,
        )  # fmt: skip

    git("init", "-q")
    git("add", "rules")
    git("commit", "-qm", "as shipped")
    for block in outputs:
        command, _, shown = block.text.partition("\n")
        command = command[2:]
        if "new/rules" in command:
            continue  # Markdown: shown as rendered, not as a block
        if "--git" in command:
            (tmp_path / "rules" / "vip.rules").write_text(new_vip.text, encoding="utf-8")
            git("commit", "-qam", "VIP 15%, autumn sale")
        assert _run(tmp_path, command) == shown, command
