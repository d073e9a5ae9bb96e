"""The output formats: text with a caret, json, github annotations and SARIF."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import jsonschema
import pytest

import rulec
from rulec.dsl.diagnostics import Diagnostic
from rulec.dsl.nodes import Span
from rulec.dsl.report import Format, render

SCHEMA = Path(__file__).parents[1] / "data" / "sarif-schema-2.1.0.json"
KEYS = {"path", "line", "column", "end_line", "end_column", "code", "severity", "message"}
HEADER = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<col>\d+): (?P<code>R\d{3}) (?P<msg>.+)$")


def diag(
    code: str = "R202",
    message: str = "unknown action 'discont'",
    file: str = "t.rules",
    line: int = 1,
    column: int = 1,
    end_line: int | None = None,
    end_column: int | None = None,
    severity: str = "error",
    suggestion: str | None = None,
    source_line: str | None = None,
) -> Diagnostic:
    span = Span(
        file,
        line,
        column,
        line if end_line is None else end_line,
        column + 1 if end_column is None else end_column,
    )
    return Diagnostic(code, message, span, severity, suggestion, source_line)  # type: ignore[arg-type]


def cells(s: str) -> int:
    """Terminal cells of ``s`` (an implementation independent of report.py's)."""
    n = 0
    for ch in s:
        if unicodedata.category(ch) in ("Mn", "Me"):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


def under_caret(source: str, caret: str) -> str:
    """The text of the displayed ``source`` line from the caret's cell onwards."""
    target = caret.index("^")
    width = 0
    for i, ch in enumerate(source):
        if width == target and cells(ch):  # combining marks belong to the cell before
            return source[i:]
        width += cells(ch)
        if width > target:
            raise AssertionError(f"caret at cell {target} falls inside {ch!r}")
    if width == target:
        return ""
    raise AssertionError(f"caret at cell {target} is past the end of {source!r}")


def text_of(text: str, d: Diagnostic) -> list[str]:
    return render(Format.TEXT, [d], {d.span.file: text}).splitlines()


def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


class TestText:
    def test_header_source_line_and_caret(self) -> None:
        src = 'on order_created then discont 10% "x"\n'
        out = text_of(src, diag(column=23, end_column=30, suggestion="did you mean 'discount'?"))
        assert out == [
            "t.rules:1:23: R202 unknown action 'discont'; did you mean 'discount'?",
            '    on order_created then discont 10% "x"',
            "                          ^~~~~~~",
        ]
        assert HEADER.match(out[0])

    def test_warning_is_marked_and_keeps_the_header_shape(self) -> None:
        out = text_of("x\n", diag("R307", "rule can never fire", severity="warning"))
        m = HEADER.match(out[0])
        assert m and m["code"] == "R307" and m["msg"] == "(warning) rule can never fire"

    def test_empty_list_renders_nothing(self) -> None:
        assert render(Format.TEXT, [], {}) == ""

    def test_tab_before_the_column(self) -> None:
        src = 'on\torder_created\tthen\tdiscont 10% "x"'
        out = text_of(src, diag(column=23, end_column=30))
        assert "\t" not in "".join(out)
        assert under_caret(out[1][4:], out[2][4:]).startswith("discont")

    @pytest.mark.parametrize(
        "before",
        ["顧客", "🎉🎉", "e\u0301\u0301", "ｗｉｄｅ", "Ünïcödé", "\u200b", "\u202e"],
        ids=["cjk", "emoji", "combining", "fullwidth", "latin", "zero-width", "bidi"],
    )
    def test_unicode_before_the_column(self, before: str) -> None:
        src = f'rule "{before}" on order_craeted then discount 10% "x" end'
        column = src.index("order_craeted") + 1
        out = text_of(src, diag("R201", "unknown event", column=column, end_column=column + 13))
        assert under_caret(out[1][4:], out[2][4:]).startswith("order_craeted")
        assert out[2].endswith("^" + "~" * 12)

    def test_wide_characters_under_the_caret_widen_it(self) -> None:
        src = "on order_created when customer has label 顧客X then x"
        column = src.index("顧") + 1
        out = text_of(src, diag("R210", "undeclared", column=column, end_column=column + 3))
        assert out[2].strip() == "^~~~~"  # two wide characters and one narrow: 5 cells

    def test_control_characters_are_escaped_and_the_caret_follows(self) -> None:
        src = 'on order_created\x1b[31m then\x00 discount 10% "x"'
        column = src.index("\x00") + 1
        out = text_of(src, diag("R101", "unexpected character", column=column))
        assert "\x1b" not in out[1] and "\x00" not in out[1]
        assert under_caret(out[1][4:], out[2][4:]).startswith("\\x00 discount")

    def test_message_and_path_with_newlines_stay_on_one_line(self) -> None:
        d = diag("R304", "rule name 'a\nb' is already used", file="odd\nname.rules")
        out = render(Format.TEXT, [d], {})
        assert out.count("\n") == 1
        assert "a\\nb" in out and "odd\\nname.rules" in out

    def test_one_megabyte_line_is_shortened_around_the_token(self) -> None:
        src = "x" * 1_000_000 + " oops " + "y" * 1_000_000
        column = 1_000_002
        out = text_of(src, diag("R100", "unexpected 'oops'", column=column, end_column=column + 4))
        assert len(out) == 3
        assert all(len(line) < 200 for line in out)
        assert out[1].startswith("    …") and out[1].endswith("…")
        assert under_caret(out[1][4:], out[2][4:]).startswith("oops ")
        assert out[2].endswith("^~~~")

    @pytest.mark.parametrize("column", [1, 50, 159, 160, 161, 999_900, 1_000_000, 1_000_001])
    def test_long_line_caret_is_always_under_its_character(self, column: int) -> None:
        digits = "0123456789"
        src = "".join(digits[i % 10] for i in range(1_000_000))
        out = text_of(src, diag("R100", "x", column=column, end_column=column + 1))
        assert max(len(line) for line in out) < 200
        rest = under_caret(out[1][4:], out[2][4:])
        if column <= len(src):
            assert rest[0] == digits[(column - 1) % 10]
        else:  # just past the end: the caret sits after the last character
            assert rest == ""

    @pytest.mark.parametrize("filler", ["顧", "\x00", "\u202e", "🎉", "e\u0301", "\t"])
    @pytest.mark.parametrize("repeat", [0, 199, 4_999, 9_999])
    def test_long_line_is_short_as_displayed(self, filler: str, repeat: int) -> None:
        # escapes and wide characters make a line wider than its length
        src = filler * repeat + "oops" + filler * 10_000
        column = len(filler) * repeat + 1
        out = text_of(src, diag("R100", "x", column=column, end_column=column + 4))
        assert cells(out[1]) <= 4 + 160 + 2
        assert under_caret(out[1][4:], out[2][4:]).startswith("oops")
        assert out[2].endswith("^~~~")

    def test_multi_line_span_marks_only_its_first_character(self) -> None:
        src = 'rule "r"\n  on order_created\nend\n'
        out = text_of(src, diag("R304", "dup", line=1, column=1, end_line=3, end_column=4))
        assert out[1:] == ['    rule "r"', "    ^"]

    def test_span_past_the_end_of_the_line(self) -> None:
        src = "on order_created then\n"
        out = text_of(src, diag("R107", "end of file", column=22, end_column=22))
        assert under_caret(out[1][4:], out[2][4:]) == ""

    def test_line_after_the_last_newline_shows_no_source(self) -> None:
        src = "on order_created then\n"
        assert text_of(src, diag("R107", "end of file", line=2, column=1)) == [
            "t.rules:2:1: R107 end of file"
        ]

    @pytest.mark.parametrize("sep", ["\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
    def test_only_newline_breaks_lines_as_the_parser_counts_them(self, sep: str) -> None:
        # Lark counts lines at "\n" only; str.splitlines would shift every
        # later line and show the wrong source under the header
        src = f'# comment{sep}still line one\non order_created then discont 10% "x"\n'
        out = text_of(src, diag(line=2, column=23, end_column=30))
        assert out[1] == '    on order_created then discont 10% "x"'
        assert under_caret(out[1][4:], out[2][4:]).startswith("discont")

    def test_crlf_lines_show_without_carriage_return(self) -> None:
        src = '# c\r\non order_craeted then discount 10% "x"\r\n'
        out = text_of(src, diag("R201", "unknown event", line=2, column=4, end_column=17))
        assert out[1:] == ['    on order_craeted then discount 10% "x"', "       ^~~~~~~~~~~~~"]

    def test_without_source_text_the_stored_line_is_shown_without_caret(self) -> None:
        d = diag(source_line="on x then y")
        assert render(Format.TEXT, [d], {}).splitlines() == [
            "t.rules:1:1: R202 unknown action 'discont'",
            "    on x then y",
        ]

    def test_blank_source_line_is_not_shown(self) -> None:
        assert len(text_of("   \n", diag(column=2))) == 1


class TestJson:
    def test_records_have_exactly_the_contract_keys(self) -> None:
        d = diag("R301", "not 150%", line=2, column=3, end_column=9, suggestion="use 10%")
        records = json.loads(render(Format.JSON, [d], {}))
        assert records == [
            {
                "path": "t.rules",
                "line": 2,
                "column": 3,
                "end_line": 2,
                "end_column": 9,
                "code": "R301",
                "severity": "error",
                "message": "not 150%; use 10%",
            }
        ]
        assert set(records[0]) == KEYS

    def test_empty_is_an_empty_array(self) -> None:
        assert json.loads(render(Format.JSON, [], {})) == []

    def test_unicode_and_newlines_round_trip(self) -> None:
        d = diag(message="rule 'a\nb' uses 顧客", file="dir/ü.rules")
        (record,) = json.loads(render(Format.JSON, [d], {}))
        assert record["message"] == "rule 'a\nb' uses 顧客"
        assert record["path"] == "dir/ü.rules"


def parse_github(line: str) -> tuple[str, dict[str, str], str]:
    """Parse a workflow command the way the runner does (actions/toolkit)."""
    m = re.fullmatch(r"::(error|warning) ([^:]*)::(.*)", line)
    assert m, line

    def unescape(s: str) -> str:
        for a, b in (("%3A", ":"), ("%2C", ","), ("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
            s = s.replace(a, b)
        return s

    props = dict(p.split("=", 1) for p in m[2].split(","))
    return m[1], {k: unescape(v) for k, v in props.items()}, unescape(m[3])


class TestGithub:
    def test_annotation_shape(self) -> None:
        d = diag("R202", "unknown action", line=3, column=5, end_column=12)
        assert render(Format.GITHUB, [d], {}) == (
            "::error file=t.rules,line=3,col=5,endLine=3,endColumn=12,title=R202::unknown action\n"
        )

    def test_warnings_are_warnings(self) -> None:
        d = diag("R211", "labels are not declared", severity="warning")
        assert render(Format.GITHUB, [d], {}).startswith("::warning file=t.rules,")

    def test_escaping_in_message_and_properties(self) -> None:
        d = diag(
            "R301",
            "10% is fine, 150% is not:\r\nsecond line",
            file="dir,with:colon/50%.rules",
        )
        out = render(Format.GITHUB, [d], {})
        assert out == (
            "::error file=dir%2Cwith%3Acolon/50%25.rules,line=1,col=1,endLine=1,endColumn=2,"
            "title=R301::10%25 is fine, 150%25 is not:%0D%0Asecond line\n"
        )
        kind, props, message = parse_github(out.rstrip("\n"))
        assert kind == "error"
        assert props["file"] == "dir,with:colon/50%.rules"
        assert message == "10% is fine, 150% is not:\r\nsecond line"

    def test_one_line_per_diagnostic(self) -> None:
        ds = [diag(message="a\nb"), diag(message="c\rd", severity="warning", code="R307")]
        assert len(render(Format.GITHUB, ds, {}).splitlines()) == 2

    def test_empty_prints_nothing(self) -> None:
        assert render(Format.GITHUB, [], {}) == ""


class TestSarif:
    def test_validates_and_lists_each_used_code_once(self) -> None:
        ds = [
            diag("R202", "a", line=1, column=5, end_column=9),
            diag("R301", "10% or more", line=2, column=3, end_column=8),
            diag("R202", "b", line=3, column=1, end_column=4),
            diag("R211", "c", severity="warning"),
        ]
        log = json.loads(render(Format.SARIF, ds, {}, "9.9"))
        sarif_validator().validate(log)
        run = log["runs"][0]
        driver = run["tool"]["driver"]
        assert driver["name"] == "rulec" and driver["version"] == "9.9"
        ids = [r["id"] for r in driver["rules"]]
        assert sorted(ids) == ids == ["R202", "R211", "R301"]
        for rule in driver["rules"]:
            assert rule["shortDescription"]["text"] == rulec.CODES[rule["id"]][1]
            assert re.fullmatch(r"[A-Za-z0-9]+", rule["name"])
        for d, result in zip(ds, run["results"], strict=True):
            assert result["ruleId"] == d.code
            assert driver["rules"][result["ruleIndex"]]["id"] == d.code
            assert result["level"] == d.severity
            region = result["locations"][0]["physicalLocation"]["region"]
            assert region == {
                "startLine": d.span.line,
                "startColumn": d.span.column,
                "endLine": d.span.end_line,
                "endColumn": d.span.end_column,
            }
        assert run["results"][1]["message"]["text"] == "10% or more"

    def test_empty_log_is_valid(self) -> None:
        log = json.loads(render(Format.SARIF, [], {}))
        sarif_validator().validate(log)
        assert log["version"] == "2.1.0"
        assert log["runs"][0]["results"] == []
        assert log["runs"][0]["tool"]["driver"]["rules"] == []

    def test_backwards_region_is_made_valid(self) -> None:
        d = diag(line=2, column=9, end_line=1, end_column=3)
        log = json.loads(render(Format.SARIF, [d], {}))
        sarif_validator().validate(log)
        region = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
        assert region["endLine"] >= region["startLine"]
        assert region["endColumn"] >= region["startColumn"]

    @pytest.mark.parametrize(
        ("path", "uri"),
        [
            ("rules/vip.rules", "rules/vip.rules"),
            ("rules/black friday.rules", "rules/black%20friday.rules"),
            ("a,b:c.rules", "a%2Cb%3Ac.rules"),
            ("x%#?.rules", "x%25%23%3F.rules"),
            ("/srv/rules/vip.rules", "file:///srv/rules/vip.rules"),
            ("C:\\rules\\vip.rules", "file:///C:/rules/vip.rules"),
        ],
    )
    def test_artifact_uris(self, path: str, uri: str) -> None:
        log = json.loads(render(Format.SARIF, [diag(file=path)], {}))
        sarif_validator().validate(log)
        location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == uri


class TestEveryFormat:
    @pytest.mark.parametrize("fmt", list(Format))
    def test_real_diagnostics_render(self, fmt: Format) -> None:
        text = (
            "label VIP for customer\n"
            'rule "a\\nb" on order_created when customer has label VIP then discount 10% "x" end\n'
            'rule "a\\nb" on order_craeted when customer has label VPI then discount 110% "y" end\n'
        )
        ds = rulec.check_text(text, "t.rules")
        assert {d.code for d in ds} >= {"R201", "R210", "R301", "R304"}
        out = render(fmt, ds, {"t.rules": text}, rulec.__version__)
        assert out.endswith("\n")
        if fmt is Format.JSON:
            assert len(json.loads(out)) == len(ds)
        elif fmt is Format.SARIF:
            sarif_validator().validate(json.loads(out))
        elif fmt is Format.GITHUB:
            assert len(out.splitlines()) == len(ds)
            assert "110%25" in out and "'a%0Ab'" in out
        else:
            headers = [line for line in out.splitlines() if HEADER.match(line)]
            assert len(headers) == len(ds)
