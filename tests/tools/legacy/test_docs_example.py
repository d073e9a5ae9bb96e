"""The example of docs/adopting.md is what the command prints and writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from rulec import cli
from rulec.storage.session import make_engine

from .example import example_db

DOC = Path(__file__).resolve().parents[3] / "docs" / "adopting.md"


def test_the_example_output_is_true(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = DOC.read_text(encoding="utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        example_db().write(conn)
    engine.dispose()
    monkeypatch.chdir(tmp_path)
    command = "rulec import-legacy --db sqlite:///old.db --check-orders"
    result = CliRunner().invoke(cli.main, command.split()[1:])
    assert result.exit_code == 1, result.stderr
    shown = re.search(r"```text\n\$ " + re.escape(command) + r"\n(.*?)```", text, re.S)
    assert shown is not None
    assert result.stdout + result.stderr == shown[1]
    files = re.findall(r"<!-- import-legacy: (\S+) -->\n```rules\n(.*?)```", text, re.S)
    assert [name for name, _ in files] == [
        "labels.rules",
        "discount_vip.rules",
        "pricing_trigger_2026_2027.rules",
    ]
    for name, body in files:
        assert (tmp_path / "rules" / "imported" / name).read_text(encoding="utf-8") == body, name
