"""`rulec fmt`: files laid out the canonical way, checked in CI, shown as a diff."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import rulec
from rulec.cli import main

MESSY = (
    "label VIP for customer\n"
    'on  order_created  when customer has label VIP then discount 10% "VIP"  # hi\n'
)
TIDY = (
    "label VIP for customer\n"
    'on order_created when customer has label VIP then discount 10% "VIP"  # hi\n'
)


def run(*args: str):
    return CliRunner().invoke(main, ["fmt", *args])


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


class TestFmt:
    def test_formats_in_place_and_says_how_many(self, tmp_path):
        messy, tidy = write(tmp_path, "a.rules", MESSY), write(tmp_path, "b.rules", TIDY)
        got = run(str(tmp_path))
        assert got.exit_code == 0, got.output
        assert messy.read_text(encoding="utf-8") == TIDY == tidy.read_text(encoding="utf-8")
        assert got.stderr.strip() == "1 file reformatted, 1 left unchanged"
        again = run(str(tmp_path))
        assert again.stderr.strip() == "0 files reformatted, 2 left unchanged"

    def test_check_changes_nothing_and_fails_when_a_file_would_change(self, tmp_path):
        messy = write(tmp_path, "a.rules", MESSY)
        got = run("--check", str(tmp_path))
        assert got.exit_code == 1
        assert f"would reformat {messy}" in got.stderr
        assert messy.read_text(encoding="utf-8") == MESSY
        write(tmp_path, "a.rules", TIDY)
        assert run("--check", str(tmp_path)).exit_code == 0

    def test_diff(self, tmp_path):
        messy = write(tmp_path, "a.rules", MESSY)
        got = run("--diff", str(messy))
        assert got.exit_code == 0
        assert got.stdout.splitlines()[:2] == [f"--- a/{messy}", f"+++ b/{messy}"]
        assert "-on  order_created  when" in got.stdout and "+on order_created when" in got.stdout
        assert messy.read_text(encoding="utf-8") == MESSY

    def test_a_file_with_syntax_errors_is_left_alone(self, tmp_path):
        bad = write(tmp_path, "bad.rules", "on order_created when then\n")
        got = run(str(tmp_path))
        assert got.exit_code == 1
        assert f"{bad}:2:1: R107" in got.stdout
        assert bad.read_text(encoding="utf-8") == "on order_created when then\n"
        assert "1 with syntax errors" in got.stderr

    def test_the_shipped_rules_are_formatted(self):
        assert run("--check", str(rulec.shipped_rules())).exit_code == 0

    def test_a_missing_path_is_a_usage_error(self, tmp_path):
        assert run(str(tmp_path / "nope")).exit_code == 2
