"""``rulec check``'s usage errors (issue 21): exit 2 with a message, and under
``--format json|github|sarif`` a document in that format on stdout (R001)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from rulec import cli
from rulec.dsl.diagnostics import CODES

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


def cases(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Each usage error: its path argument and what the message says."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.txt").write_text("no rules here")
    return {
        "missing": (str(tmp_path / "gone"), f"{tmp_path / 'gone'}: no such file or folder"),
        "empty": (str(empty), f"{empty}: no .rules files found"),
    }


@pytest.mark.parametrize("which", ["missing", "empty"])
class TestUsageErrors:
    def test_text(self, tmp_path: Path, which: str) -> None:
        path, said = cases(tmp_path)[which]
        result = invoke("check", path)
        assert result.exit_code == 2
        assert result.stderr == f"rulec: {said}\n"
        assert result.stdout == ""

    def test_json(self, tmp_path: Path, which: str) -> None:
        path, said = cases(tmp_path)[which]
        result = invoke("check", path, "--format", "json")
        assert result.exit_code == 2
        records = json.loads(result.stdout)
        assert [(r["code"], r["path"], r["severity"], r["message"]) for r in records] == [
            ("R001", path, "error", said)
        ]
        assert result.stderr == f"rulec: {said}\n"

    def test_sarif(self, tmp_path: Path, which: str) -> None:
        path, said = cases(tmp_path)[which]
        result = invoke("check", path, "--format", "sarif")
        assert result.exit_code == 2
        log = json.loads(result.stdout)
        jsonschema.validate(log, SCHEMA)
        (res,) = log["runs"][0]["results"]
        assert (res["ruleId"], res["level"], res["message"]["text"]) == ("R001", "error", said)
        rule = log["runs"][0]["tool"]["driver"]["rules"][0]
        assert rule["shortDescription"]["text"] == CODES["R001"][1]

    def test_github(self, tmp_path: Path, which: str) -> None:
        path, said = cases(tmp_path)[which]
        result = invoke("check", path, "--format", "github")
        assert result.exit_code == 2
        assert result.stdout.startswith("::error file=")
        assert "title=R001::" in result.stdout
        assert result.stdout.rstrip("\n").endswith(f"::{said}")


def test_no_paths_and_no_rules_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "--format", "json")
    assert result.exit_code == 2
    (record,) = json.loads(result.stdout)
    assert (record["code"], record["path"]) == ("R001", "rules")
    assert record["message"] == "rules: no such file or folder"
