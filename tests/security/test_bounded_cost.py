"""Bounded cost: every limit gives its code, at the right place, through ``rulec check``.

The language has no loops or recursion, so checking and evaluating are
linear in the size of the rule set; these limits bound that size: file size
(R110), nesting depth (R111), rule count (R112), syntax errors per file
(R113). The parser and checker tests hold the limits through the API; here
the real command reports each one, in text and in json, with exit status 1.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from rulec import cli
from rulec.dsl import parser
from rulec.dsl.check import limits

HEADER = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<col>\d+): (?P<code>R\d{3}) (?P<msg>.+)$")


def check(path: Path) -> list[tuple[str, int, int]]:
    """``(code, line, column)`` from ``rulec check`` in text and json (they must agree)."""
    text = CliRunner().invoke(cli.main, ["check", str(path)])
    assert text.exit_code == 1, text.output[-2000:]
    assert "Traceback" not in text.output
    assert max(len(line) for line in text.stdout.splitlines()) < 400  # nothing echoes a megabyte
    got = [
        (m["code"], int(m["line"]), int(m["col"]))
        for line in text.stdout.splitlines()
        if (m := HEADER.match(line))
    ]
    js = CliRunner().invoke(cli.main, ["check", "--format", "json", str(path)])
    assert js.exit_code == 1
    assert [(r["code"], r["line"], r["column"]) for r in json.loads(js.stdout)] == got
    return got


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "limit.rules"
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_r110_a_file_over_16_mib(tmp_path: Path) -> None:
    size = parser.MAX_FILE_BYTES + 1
    assert size == 16 * 1024 * 1024 + 1
    got = check(write(tmp_path, b"#" * size))
    assert got == [("R110", 1, 1)]


def test_r110_a_file_of_exactly_16_mib_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, b"#" * parser.MAX_FILE_BYTES)
    result = CliRunner().invoke(cli.main, ["check", str(path)])
    assert result.exit_code == 0, result.output[-500:]


@pytest.mark.parametrize(
    ("opener", "column"),
    [
        ("(", 23 + 33),  # the 33rd level starts inside the 33rd parenthesis
        ("not ", 23 + 4 * 32),  # the 33rd 'not'
        ("not (", 23 + 5 * 16),  # 16 'not (' are 32 levels; the 17th 'not' is the 33rd
    ],
)
def test_r111_five_thousand_levels(tmp_path: Path, opener: str, column: int) -> None:
    cond = opener * 5000 + "customer has label X" + ")" * (5000 * opener.count("("))
    text = f'label X for customer\non order_created when {cond} then discount 10% "x"\n'
    started = time.perf_counter()
    assert check(write(tmp_path, text)) == [("R111", 2, column)]
    assert time.perf_counter() - started < 30


def test_r112_too_many_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_RULES", 3)  # 200,001 real rules take a minute
    text = "label A for customer\n" + "".join(
        f'on order_created then discount {n}% "x"\n' for n in range(1, 6)
    )
    assert check(write(tmp_path, text)) == [("R112", 5, 1)]  # the 4th rule, after the label


def test_r113_too_many_syntax_errors(tmp_path: Path) -> None:
    text = 'on order_created then discount 10 "x"\n' * 30
    got = check(write(tmp_path, text))
    assert got == [("R104", n, 35) for n in range(1, 21)] + [("R113", 21, 1)]


def test_one_megabyte_line_reports_the_token_at_its_column(tmp_path: Path) -> None:
    head = 'on order_created then discount 10% "' + "x" * 1_000_000 + '" '
    assert check(write(tmp_path, head + "oops\n")) == [("R100", 1, len(head) + 1)]


def test_a_hundred_thousand_unclosed_parentheses(tmp_path: Path) -> None:
    # linear, but about 10 µs a token through Lark: a megabyte of them takes ~10 s
    text = "on order_created when " + "(" * 100_000 + "\n"
    assert check(write(tmp_path, text)) == [("R107", 2, 1)]
