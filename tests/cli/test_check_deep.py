"""``rulec check`` runs deep lint (issue 14): ``--as-of``, ``--db`` on SQLite and
PostgreSQL, and the new codes in every output format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from rulec.storage.models import Label

from .test_cli import HEADER, ROOT, invoke, run_python, sarif_validator, write

CORPUS = ROOT / "tests" / "data" / "deeplint"
WINDOW = (
    'rule "May"\n  from 2026-05-01 until 2026-06-01\n  on order_created\n'
    '  then discount 5% "May"\nend\n'
)


def found(result) -> list[tuple[str, int]]:
    return [
        (m["code"], int(m["line"]))
        for line in result.stdout.splitlines()
        if (m := HEADER.match(line))
    ]


class TestAsOf:
    def test_the_day_decides_whether_a_window_is_closed(self, tmp_path: Path) -> None:
        f = write(tmp_path, "may.rules", WINDOW)
        open_ = invoke("check", "--as-of", "2026-05-20", str(f))
        assert open_.exit_code == 0 and open_.stdout == ""
        closed = invoke("check", "--as-of", "2026-06-02", str(f))
        assert closed.exit_code == 0  # a warning
        assert found(closed) == [("R322", 2)]
        assert "(as of 2026-06-02)" in closed.stdout
        assert invoke("check", "--strict", "--as-of", "2026-06-02", str(f)).exit_code == 1

    def test_without_it_windows_are_judged_today(self, tmp_path: Path) -> None:
        f = write(tmp_path, "old.rules", WINDOW.replace("2026-0", "2020-0"))
        assert found(invoke("check", str(f))) == [("R322", 2)]

    def test_a_malformed_day_is_a_usage_error(self, tmp_path: Path) -> None:
        f = write(tmp_path, "may.rules", WINDOW)
        result = invoke("check", "--as-of", "1 June", str(f))
        assert result.exit_code == 2
        assert "--as-of" in result.output


class TestFormats:
    BAD = CORPUS / "shadowed-exclusive.bad.rules"

    def test_text(self) -> None:
        result = invoke("check", "--as-of", "2026-12-01", str(self.BAD))
        assert found(result) == [("R320", 12)]
        assert "e.g. an order with customer labels Customer_VIP, subtotal 120.00 EUR" in (
            result.stdout
        )

    def test_json(self) -> None:
        result = invoke("check", "--format", "json", "--as-of", "2026-12-01", str(self.BAD))
        (record,) = json.loads(result.stdout)
        assert (record["code"], record["line"], record["severity"]) == ("R320", 12, "warning")
        assert "'VIP' applies and 'Spring' loses to it" in record["message"]

    def test_sarif(self) -> None:
        result = invoke("check", "--format", "sarif", "--as-of", "2026-12-01", str(self.BAD))
        log = json.loads(result.stdout)
        sarif_validator().validate(log)
        (run,) = log["runs"]
        (res,) = run["results"]
        assert res["ruleId"] == "R320" and res["level"] == "warning"
        assert res["locations"][0]["physicalLocation"]["region"]["startLine"] == 12
        assert "R320" in [r["id"] for r in run["tool"]["driver"]["rules"]]

    def test_github(self) -> None:
        result = invoke("check", "--format", "github", "--as-of", "2026-12-01", str(self.BAD))
        assert result.stdout.startswith("::warning file=")
        assert "title=R320::" in result.stdout


class TestDatabase:
    def test_the_labels_table_against_the_declarations(self, db, tmp_path: Path) -> None:
        with Session(db) as s, s.begin():
            s.add_all(
                [
                    Label(name="Customer_VIP"),
                    Label(name="Customer_Gold"),
                    Label(name="Rush", entity_type="order"),
                ]
            )
        url = db.url.render_as_string(hide_password=False)
        result = invoke("check", "--db", url, str(CORPUS / "labels.bad.rules"))
        assert result.exit_code == 0, result.output
        messages = [line for line in result.stdout.splitlines() if HEADER.match(line) is not None]
        # Rush (for orders) at the first declaration, as the file declares no order label
        assert found(result) == [("R324", 3), ("R325", 3), ("R323", 3)]
        assert "the database has the label 'Rush' for order" in messages[0]
        assert (
            "label 'Customer_VlP' is declared for customer but the database has no such"
            in (messages[1])
        )
        assert "no rule adds it: the conditions that test it can never hold" in messages[1]
        assert "'Customer_Gold' is declared for customer but no rule uses it" in messages[2]
        # Welcomed is missing too, but a rule adds it, and adding a label creates it
        assert "Welcomed" not in result.stdout

    def test_the_fixed_file_against_the_same_table_is_clean(self, db) -> None:
        with Session(db) as s, s.begin():
            s.add_all([Label(name="Customer_VIP"), Label(name="Customer_Gold")])
        url = db.url.render_as_string(hide_password=False)
        result = invoke("check", "--db", url, str(CORPUS / "labels.fixed.rules"))
        assert (result.exit_code, result.stdout) == (0, ""), result.output

    def test_an_unreachable_database_is_a_usage_error(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'missing' / 'x.db'}"
        result = invoke("check", "--db", url, str(CORPUS / "labels.fixed.rules"))
        assert result.exit_code == 2
        assert "cannot open database" in result.stderr

    def test_a_database_without_the_labels_table_is_a_usage_error(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'empty.db'}"
        result = invoke("check", "--db", url, str(CORPUS / "labels.fixed.rules"))
        assert result.exit_code == 2
        assert "cannot read the labels table: no such table: labels" in result.stderr
        assert "Traceback" not in result.output


class TestStartUp:
    @pytest.mark.parametrize("name", ["shadowed-exclusive.bad.rules", "labels.bad.rules"])
    def test_deep_lint_without_db_needs_no_database_layer(self, name: str) -> None:
        code = (
            "import sys\n"
            "from rulec.cli import main\n"
            "try:\n"
            f"    main(['check', '--as-of', '2026-12-01', {str(CORPUS / name)!r}])\n"
            "except SystemExit as e:\n"
            "    print(e.code, sorted(m for m in sys.modules\n"
            "        if m.split('.')[0] == 'sqlalchemy' or m.startswith('rulec.storage')))\n"
        )
        p = run_python(code)
        assert p.stdout.splitlines()[-1] == "0 []", p.stderr
        assert "1 warning" in p.stderr
