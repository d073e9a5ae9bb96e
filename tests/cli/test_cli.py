"""The ``rulec`` command: paths, exit codes, output formats, hostile input."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

import rulec
import rulec.dsl.nodes
from rulec import cli
from rulec.cli import check_cmd

ROOT = Path(__file__).parents[2]
SCHEMA = ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"
KEYS = {"path", "line", "column", "end_line", "end_column", "code", "severity", "message"}
HEADER = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<col>\d+): (?P<code>R\d{3}) (?P<msg>.+)$")

VALID = (
    "label Customer_VIP for customer\n"
    'on order_created when customer has label Customer_VIP then discount 10% "VIP"\n'
)
BAD_EVENT = (
    'label X for customer\non order_craeted when customer has label X then discount 10% "x"\n'
)
WARN_ONLY = 'on order_created when customer has label X then discount 10% "x"\n'  # R211


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def rulec_command() -> list[str]:
    script = Path(sys.executable).with_name("rulec")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from rulec.cli import main; main()"]


def run_rulec(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [*rulec_command(), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=env,
    )


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` run by this Python in the project's folder."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def codes(result: Result) -> list[str]:
    return [m["code"] for line in result.stdout.splitlines() if (m := HEADER.match(line))]


def cells(s: str) -> int:
    return sum(
        0
        if unicodedata.category(ch) in ("Mn", "Me")
        else 2
        if unicodedata.east_asian_width(ch) in ("W", "F")
        else 1
        for ch in s
    )


def under_caret(source: str, caret: str) -> str:
    """The displayed source from the caret's terminal cell onwards."""
    target = caret.index("^")
    width = 0
    for i, ch in enumerate(source):
        if width == target and cells(ch):  # combining marks belong to the cell before
            return source[i:]
        width += cells(ch)
    assert width == target, (source, caret)
    return ""


def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


class TestPaths:
    def test_shipped_rules_pass(self) -> None:
        result = invoke("check", str(ROOT / "rules"))
        assert result.exit_code == 0, result.output
        assert result.stdout == ""
        assert "0 errors" in result.stderr

    def test_default_path_is_rules_in_the_current_folder(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write(tmp_path, "rules/a.rules", VALID)
        write(tmp_path, "rules/deep/er/b.rules", BAD_EVENT)
        write(tmp_path, "rules/deep/notes.txt", "on nothing at all")
        write(tmp_path, "elsewhere.rules", "garbage garbage")
        monkeypatch.chdir(tmp_path)
        result = invoke("check")
        assert result.exit_code == 1
        assert codes(result) == ["R201"]
        assert result.stdout.startswith(os.path.join("rules", "deep", "er", "b.rules") + ":2:4:")
        assert result.stderr.startswith("2 files, 2 rules: 1 error, 0 warnings")

    def test_shipped_rules_pass_as_the_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(ROOT)
        result = invoke("check")
        assert result.exit_code == 0, result.output

    def test_no_default_folder_is_a_usage_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        result = invoke("check")
        assert result.exit_code == 2
        assert result.stderr == "rulec: rules: no such file or folder\n"

    def test_files_and_folders_together(self, tmp_path: Path) -> None:
        labels = write(tmp_path, "labels.rules", "label X for customer\n")
        write(
            tmp_path,
            "more/one.rules",
            'on order_created when customer has label X then discount 1% "a"\n',
        )
        write(
            tmp_path,
            "more/two.rules",
            'on order_created when customer has label Y then discount 2% "b"\n',
        )
        result = invoke("check", str(labels), str(tmp_path / "more"))
        # labels declared in one file serve every file: Y is undeclared, X is not
        assert result.exit_code == 1
        assert codes(result) == ["R210"]
        assert "two.rules:1:" in result.stdout
        assert result.stderr.startswith("3 files, 2 rules: 1 error")

    def test_a_file_named_twice_is_checked_once(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.rules", VALID)
        result = invoke("check", str(f), str(f), str(tmp_path))
        assert result.exit_code == 0
        assert result.stderr.startswith("1 file, 1 rule:")

    def test_missing_path_exits_2_naming_it(self, tmp_path: Path) -> None:
        good = write(tmp_path, "a.rules", VALID)
        missing = tmp_path / "nope.rules"
        result = invoke("check", str(good), str(missing))
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr == f"rulec: {missing}: no such file or folder\n"

    def test_unreadable_file_exits_2(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        f = write(tmp_path, "locked.rules", VALID)
        real = Path.read_bytes

        def read_bytes(self: Path) -> bytes:
            if self.name == "locked.rules":
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
        result = invoke("check", str(f))
        assert result.exit_code == 2
        assert result.stderr == f"rulec: {f}: cannot read file: Permission denied\n"

    def test_path_with_a_newline_is_reported_on_one_line(self, tmp_path: Path) -> None:
        result = invoke("check", str(tmp_path / "a\nb.rules"))
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1
        assert "a\\nb.rules" in result.stderr

    def test_empty_folder_is_a_usage_error(self, tmp_path: Path) -> None:
        result = invoke("check", str(tmp_path))
        assert result.exit_code == 2  # issue 21: it used to pass, checking nothing
        assert result.stderr == f"rulec: {tmp_path}: no .rules files found\n"
        assert result.stdout == ""


class TestExitCodes:
    def test_errors_exit_1(self, tmp_path: Path) -> None:
        result = invoke("check", str(write(tmp_path, "a.rules", BAD_EVENT)))
        assert result.exit_code == 1
        assert codes(result) == ["R201"]

    def test_warnings_only_exit_0_and_1_with_strict(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.rules", WARN_ONLY)
        result = invoke("check", str(f))
        assert result.exit_code == 0
        assert codes(result) == ["R211"]
        assert "0 errors, 1 warning" in result.stderr
        strict = invoke("check", "--strict", str(f))
        assert strict.exit_code == 1
        assert strict.stdout == result.stdout

    def test_strict_on_a_clean_file_exits_0(self, tmp_path: Path) -> None:
        assert invoke("check", "--strict", str(write(tmp_path, "a.rules", VALID))).exit_code == 0

    def test_contradiction_is_a_warning(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.rules",
            "label X for customer\non order_created when customer has label X and "
            'customer lacks label X then discount 10% "x"\n',
        )
        result = invoke("check", str(f))
        assert result.exit_code == 0
        assert codes(result) == ["R307"]
        assert invoke("check", "--strict", str(f)).exit_code == 1

    @pytest.mark.parametrize(
        "args",
        [
            ["check", "--nope"],
            ["check", "--format", "xml"],
            ["check", "--format"],
            ["frobnicate"],
            ["compile"],
        ],
    )
    def test_usage_errors_exit_2(self, args: list[str]) -> None:
        result = invoke(*args)
        assert result.exit_code == 2
        assert "Error:" in result.stderr
        assert result.stdout == ""

    def test_internal_failure_exits_123_with_one_line(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def boom(*args: object, **kwargs: object) -> str:
            raise RuntimeError("boom\nsecond line")

        monkeypatch.setattr(check_cmd, "render", boom)
        result = invoke("check", str(write(tmp_path, "a.rules", VALID)))
        assert result.exit_code == 123
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("rulec: internal error: RuntimeError: boom\\nsecond line")
        assert "Traceback" not in result.stderr

    def test_recursion_error_exits_123(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def deep(*args: object, **kwargs: object) -> None:
            raise RecursionError("maximum recursion depth exceeded")

        monkeypatch.setattr(check_cmd, "analyze_paths", deep)
        result = invoke("check", "whatever")
        assert result.exit_code == 123
        assert result.stderr.count("\n") == 1

    def test_compile_internal_failure_exits_123(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def boom(*args: object, **kwargs: object) -> None:
            raise KeyError("x")

        monkeypatch.setattr(check_cmd, "analyze_paths", boom)
        result = invoke("compile", "whatever")
        assert result.exit_code == 123
        assert result.stderr.startswith("rulec: internal error: KeyError")

    def test_exit_code_constants(self) -> None:
        assert (cli.EXIT_SUCCESS, cli.EXIT_FAIL, cli.EXIT_ERROR, cli.EXIT_INTERNAL) == (
            0,
            1,
            2,
            123,
        )


class TestSubprocess:
    """The real console script: exit codes and streams, never a traceback."""

    def test_clean(self) -> None:
        p = run_rulec("check", cwd=ROOT)
        assert (p.returncode, p.stdout) == (0, "")
        shipped = sorted((ROOT / "rules").glob("*.rules"))
        rules = sum(
            1
            for f in shipped
            for item in rulec.parse(f.read_text(encoding="utf-8"), str(f))
            if isinstance(item, rulec.dsl.nodes.Rule)
        )
        assert f"{len(shipped)} files, {rules} rules: 0 errors, 0 warnings" in p.stderr

    def test_errors(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.rules", BAD_EVENT)
        p = run_rulec("check", str(f))
        assert p.returncode == 1
        assert p.stdout.startswith(f"{f}:2:4: R201 unknown event 'order_craeted'")
        assert "1 error" in p.stderr and "R201" not in p.stderr

    def test_missing_path(self, tmp_path: Path) -> None:
        p = run_rulec("check", str(tmp_path / "gone"))
        assert p.returncode == 2
        assert p.stderr == f"rulec: {tmp_path / 'gone'}: no such file or folder\n"

    def test_usage_error(self) -> None:
        p = run_rulec("check", "--format", "yaml")
        assert p.returncode == 2
        assert "Invalid value for '--format'" in p.stderr
        assert "Traceback" not in p.stderr

    def test_internal_failure(self) -> None:
        code = (
            "import rulec.cli.check_cmd as c\n"
            "from rulec.cli import main\n"
            "def boom(*a, **k): raise ZeroDivisionError('division by zero')\n"
            "c.analyze_paths = boom\n"
            "main(['check'])\n"
        )
        p = run_python(code)
        assert p.returncode == 123
        assert "Traceback" not in p.stderr
        assert p.stderr.splitlines() == [
            "rulec: internal error: ZeroDivisionError: division by zero"
            " (this is a bug in rulec; please report it)"
        ]

    def test_check_starts_without_the_database_layer(self) -> None:
        # linting rule files in CI needs neither SQLAlchemy nor the storage
        # models: importing them tripled the command's start-up time
        code = (
            "import sys\n"
            "from rulec.cli import main\n"
            "try:\n"
            "    main(['check', 'rules'])\n"
            "except SystemExit as e:\n"
            "    print(e.code, sorted(m for m in sys.modules\n"
            "        if m.split('.')[0] == 'sqlalchemy' or m.startswith('rulec.storage')))\n"
        )
        p = run_python(code)
        assert p.stdout == "0 []\n", p.stderr
        assert "0 errors, 0 warnings" in p.stderr

    def test_unencodable_output_does_not_crash(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.rules",
            'label 顧客 for customer\non order_craeted then discount 1% "顧客"\n',
        )
        env = dict(os.environ, PYTHONIOENCODING="latin-1")
        p = subprocess.run(
            [*rulec_command(), "check", str(f)], capture_output=True, env=env, timeout=120
        )
        assert p.returncode == 1
        assert b"Traceback" not in p.stderr
        assert b"R201" in p.stdout


def _hostile() -> list[tuple[str, bytes, int, str | None]]:
    """(name, content, expected exit, expected first code)."""
    rng = random.Random(20261125)
    one_mb = "x" * 1_000_000
    return [
        ("invalid-utf8", b'on order_created then discount 10% "caf\xe9"\n', 1, "R102"),
        ("random-binary", rng.randbytes(64 * 1024), 1, "R102"),
        (
            "random-utf8-noise",
            "".join(chr(rng.randrange(32, 0x3000)) for _ in range(20_000)).encode(),
            1,
            None,
        ),
        ("nul-byte", b'on order_created then\x00 discount 10% "x"\n', 1, "R101"),
        ("only-nul", b"\x00" * 1000, 1, "R101"),
        ("1mb-valid-line", f'on order_created then discount 10% "{one_mb}"\n'.encode(), 0, None),
        ("1mb-comment", f"# {one_mb}\n".encode(), 0, None),
        (
            "1mb-line-error-at-end",
            f'on order_created then discount 10% "{one_mb}" oops\n'.encode(),
            1,
            "R100",
        ),
        ("1mb-name", f'on {one_mb} then discount 10% "x"\n'.encode(), 1, "R201"),
        ("1mb-unterminated", f'on order_created then discount 10% "{one_mb}\n'.encode(), 1, "R106"),
        (
            "5000-parens",
            (
                "label X for customer\non order_created when "
                + "(" * 5000
                + "customer has label X"
                + ")" * 5000
                + ' then discount 10% "x"\n'
            ).encode(),
            1,
            "R111",
        ),
        ("5000-unclosed-parens", ("on order_created when " + "(" * 5000).encode(), 1, None),
        (
            "5000-nots",
            (
                "label X for customer\non order_created when "
                + "not " * 5000
                + 'customer has label X then discount 10% "x"\n'
            ).encode(),
            1,
            "R111",
        ),
        ("empty", b"", 0, None),
        ("only-comments", b"# one\n   # two\n#\n", 0, None),
        ("only-whitespace", b" \t\r\n\n\x0c\n", 0, None),
        ("bom-crlf", ("\ufeff" + VALID.replace("\n", "\r\n")).encode(), 0, None),
        ("bom-only", b"\xef\xbb\xbf", 0, None),
        ("utf16", VALID.encode("utf-16"), 1, "R102"),
        ("lone-cr-lines", VALID.replace("\n", "\r").encode(), 0, None),
        (
            "bidi-and-controls",
            b'on order_created then discount 10% "\xe2\x80\xae\x1b[2J"\n',
            0,
            None,
        ),
        ("many-errors", b'on order_created then discount 10 "x"\n' * 500, 1, "R104"),
    ]


HOSTILE = _hostile()


class TestHostileFiles:
    @pytest.mark.parametrize(
        ("name", "content", "exit_code", "first"), HOSTILE, ids=[h[0] for h in HOSTILE]
    )
    def test_in_process(
        self, tmp_path: Path, name: str, content: bytes, exit_code: int, first: str | None
    ) -> None:
        f = write(tmp_path, f"{name}.rules", content)
        for fmt in ("text", "json", "github", "sarif"):
            result = invoke("check", "--format", fmt, str(f))
            assert result.exception is None or isinstance(result.exception, SystemExit)
            assert result.exit_code == exit_code, (fmt, result.output[:2000])
            assert len(result.stdout) < 100_000  # nothing echoes a megabyte back
            assert "Traceback" not in result.output
            if fmt == "json":
                records = json.loads(result.stdout)
                assert all(set(r) == KEYS for r in records)
                if first:
                    assert records[0]["code"] == first
            if fmt == "text" and first:
                assert codes(result)[0] == first
            if fmt == "text":
                assert all(len(line) < 400 for line in result.stdout.splitlines())

    @pytest.mark.parametrize(
        ("name", "content", "exit_code", "first"), HOSTILE, ids=[h[0] for h in HOSTILE]
    )
    def test_as_a_real_process(
        self, tmp_path: Path, name: str, content: bytes, exit_code: int, first: str | None
    ) -> None:
        f = write(tmp_path, f"{name}.rules", content)
        p = run_rulec("check", str(f))
        assert "Traceback" not in p.stdout + p.stderr
        assert p.returncode == exit_code, p.stderr
        assert p.stderr.startswith("1 file, ")

    def test_all_hostile_files_together(self, tmp_path: Path) -> None:
        for name, content, _, _ in HOSTILE:
            write(tmp_path, f"{name}.rules", content)
        p = run_rulec("check", "--format", "sarif", str(tmp_path))
        assert p.returncode == 1
        assert "Traceback" not in p.stderr
        sarif_validator().validate(json.loads(p.stdout))
        assert p.stderr.startswith(f"{len(HOSTILE)} files, ")

    def test_long_line_error_is_short_and_the_caret_is_under_the_token(
        self, tmp_path: Path
    ) -> None:
        f = write(
            tmp_path,
            "a.rules",
            'on order_created then discount 10% "' + "x" * 1_000_000 + '" oops\n',
        )
        result = invoke("check", str(f))
        out = result.stdout.splitlines()
        assert len(out) == 3
        assert HEADER.match(out[0])
        assert max(len(line) for line in out) < 200
        assert under_caret(out[1][4:], out[2][4:]).startswith("oops")

    def test_deep_nesting_error_points_at_the_limit(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.rules", "on order_created when " + "(" * 5000 + "x")
        result = invoke("check", str(f))
        assert result.exit_code == 1
        assert len(result.stdout) < 2000


class TestTextFormat:
    def test_header_source_and_caret(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        write(
            tmp_path, "vip.rules", 'label V for customer\non order_created then discont 10% "VIP"\n'
        )
        result = invoke("check", "vip.rules")
        assert result.exit_code == 1
        assert result.stdout.splitlines() == [
            "vip.rules:2:23: R202 unknown action 'discont'; did you mean 'discount'?",
            '    on order_created then discont 10% "VIP"',
            "                          ^~~~~~~",
        ]
        assert result.stderr == "1 file, 1 rule: 1 error, 0 warnings\n"

    @pytest.mark.parametrize(
        ("text", "token"),
        [
            ('label V for customer\non\torder_created\tthen\t\tdiscont 10% "x"\n', "discont"),
            (
                "label 顧客 for customer\n"
                'on order_created when customer has label 顧客 then discont 10% "x"\n',
                "discont",
            ),
            (
                'rule "🎉🎉 e\u0301 ｗｉｄｅ" on order_craeted then discount 10% "x" end\n',
                "order_craeted",
            ),
            (
                'label V for customer\n# form\x0cfeed\non order_created then discont 10% "x"\n',
                "discont",
            ),
            ('label V for customer\r\non order_created then\x0b discont 10% "x"\r\n', "\\x0b"),
        ],
        ids=["tabs", "cjk", "emoji-combining-fullwidth", "form-feed-line", "vertical-tab"],
    )
    def test_caret_is_under_the_offending_token(
        self, tmp_path: Path, text: str, token: str
    ) -> None:
        f = write(tmp_path, "a.rules", text)
        out = invoke("check", str(f)).stdout.splitlines()
        assert HEADER.match(out[0]), out
        assert under_caret(out[1][4:], out[2][4:]).startswith(token), out

    def test_diagnostics_sorted_by_file_line_and_column(self, tmp_path: Path) -> None:
        write(
            tmp_path,
            "a.rules",
            'on order_craeted then discont 10% "x"\non order_created then discount 150% "y"\n',
        )
        write(tmp_path, "b.rules", "label X for customer\nlabel X for customer\n")
        result = invoke("check", str(tmp_path))
        found = [
            (Path(m["path"]).name, int(m["line"]), int(m["col"]))
            for line in result.stdout.splitlines()
            if (m := HEADER.match(line))
        ]
        assert found == sorted(found)
        assert len(found) >= 4


class TestJsonFormat:
    def test_records(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.rules", BAD_EVENT)
        result = invoke("check", "--format", "json", str(f))
        assert result.exit_code == 1
        records = json.loads(result.stdout)
        assert records == [
            {
                "path": str(f),
                "line": 2,
                "column": 4,
                "end_line": 2,
                "end_column": 17,
                "code": "R201",
                "severity": "error",
                "message": "unknown event 'order_craeted'; did you mean 'order_created'?",
            }
        ]
        assert result.stderr.startswith("1 file, 1 rule: 1 error")

    def test_clean_is_an_empty_array(self) -> None:
        result = invoke("check", "--format", "json", str(ROOT / "rules"))
        assert result.exit_code == 0
        assert json.loads(result.stdout) == []

    def test_warnings_carry_their_severity(self, tmp_path: Path) -> None:
        result = invoke("check", "--format", "json", str(write(tmp_path, "a.rules", WARN_ONLY)))
        assert [r["severity"] for r in json.loads(result.stdout)] == ["warning"]


class TestGithubFormat:
    def test_annotations_with_escaping(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        write(
            tmp_path,
            "a,b:c.rules",
            "label X for customer\n"
            'rule "Line\\nbreak" on order_created then discount 10% "x" end\n'
            'rule "Line\\nbreak" on order_created then discount 110% "y" end\n'
            "on order_created when customer has label X and customer lacks label X "
            'then discount 1% "z"\n',
        )
        result = invoke("check", "--format", "github", "a,b:c.rules")
        assert result.exit_code == 1
        lines = result.stdout.splitlines()
        assert lines == [
            "::error file=a%2Cb%3Ac.rules,line=3,col=1,endLine=3,endColumn=63,title=R304::"
            "rule name 'Line%0Abreak' is already used at a,b:c.rules:2; "
            "give each rule its own name",
            "::error file=a%2Cb%3Ac.rules,line=3,col=42,endLine=3,endColumn=59,title=R301::"
            "a percentage discount must be above 0%25 and at most 100%25, not 110%25",
            "::warning file=a%2Cb%3Ac.rules,line=4,col=23,endLine=4,endColumn=70,title=R307::"
            + lines[2].split("::")[-1],
        ]
        assert "%" not in lines[2].split("::")[-1].replace("%25", "")

    def test_clean_prints_nothing(self) -> None:
        result = invoke("check", "--format", "github", str(ROOT / "rules"))
        assert (result.exit_code, result.stdout) == (0, "")


class TestSarifFormat:
    def test_validates_with_rules_and_regions(self, tmp_path: Path) -> None:
        write(tmp_path, "a.rules", BAD_EVENT + 'on order_created then discount 0% "x"\n')
        write(tmp_path, "sub/b.rules", WARN_ONLY.replace("label X", "label Y"))
        result = invoke("check", "--format", "sarif", str(tmp_path))
        assert result.exit_code == 1
        log = json.loads(result.stdout)
        sarif_validator().validate(log)
        (run,) = log["runs"]
        rules = run["tool"]["driver"]["rules"]
        results = run["results"]
        assert (
            {r["ruleId"] for r in results} == {r["id"] for r in rules} == {"R201", "R301", "R210"}
        )
        for r in results:
            assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        first = results[0]
        assert first["ruleId"] == "R201"
        assert first["level"] == "error"
        loc = first["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == (tmp_path / "a.rules").as_uri()
        assert loc["region"] == {"startLine": 2, "startColumn": 4, "endLine": 2, "endColumn": 17}

    def test_clean_log_is_valid(self) -> None:
        result = invoke("check", "--format", "sarif", str(ROOT / "rules"))
        assert result.exit_code == 0
        log = json.loads(result.stdout)
        sarif_validator().validate(log)
        assert log["runs"][0]["results"] == []

    def test_relative_paths_stay_relative(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        write(tmp_path, "rules/x y.rules", BAD_EVENT)
        log = json.loads(invoke("check", "--format", "sarif").stdout)
        loc = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "rules/x%20y.rules"


class TestCompile:
    def test_prints_the_generated_module(self) -> None:
        result = invoke("compile", str(ROOT / "rules" / "vip.rules"))
        assert result.exit_code == 0, result.output
        assert "def shape_1(c0):" in result.stdout
        assert "RULES = (" in result.stdout
        assert "(shape_1, ('Customer_VIP',), ('rule_0001', " in result.stdout
        assert "VIP New Order Discount" in result.stdout
        compile(result.stdout, "vip.py", "exec")  # it is Python

    def test_errors_exit_1_with_diagnostics(self, tmp_path: Path) -> None:
        result = invoke("compile", str(write(tmp_path, "a.rules", BAD_EVENT)))
        assert result.exit_code == 1
        assert codes(result) == ["R201"]
        assert "def shape_" not in result.stdout

    def test_warnings_do_not_stop_compilation(self, tmp_path: Path) -> None:
        result = invoke("compile", str(write(tmp_path, "a.rules", WARN_ONLY)))
        assert result.exit_code == 0
        assert "def shape_1(" in result.stdout

    def test_hostile_title_stays_a_string(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.rules",
            "on order_created then discount 10% \"__import__('os').system('x')\"\n",
        )
        result = invoke("compile", str(f))
        assert result.exit_code == 0
        assert "__import__('os')" not in result.stdout.replace("\"__import__('os')", "")

    def test_missing_file_exits_2(self, tmp_path: Path) -> None:
        result = invoke("compile", str(tmp_path / "none.rules"))
        assert result.exit_code == 2
        assert result.stderr == f"rulec: {tmp_path / 'none.rules'}: no such file or folder\n"

    def test_binary_file_exits_1(self, tmp_path: Path) -> None:
        result = invoke("compile", str(write(tmp_path, "a.rules", b"\xff\xfe\x00")))
        assert result.exit_code == 1
        assert codes(result) == ["R102"]

    def test_real_process(self) -> None:
        p = run_rulec("compile", "rules/vip.rules", cwd=ROOT)
        assert p.returncode == 0
        assert "def shape_1(c0):" in p.stdout


def read_simple_yaml_list(text: str) -> list[dict[str, str]]:
    """Just enough YAML for .pre-commit-hooks.yaml: a list of flat mappings."""
    items: list[dict[str, str]] = []
    for raw in text.splitlines():
        line = raw.split(" #")[0].rstrip()
        if not line or line.lstrip().startswith("#"):
            continue
        if line.startswith("- "):
            items.append({})
            line = "  " + line[2:]
        assert line.startswith("  ") and not line.startswith("   "), raw
        key, sep, value = line.strip().partition(":")
        assert sep and key.replace("_", "").isalnum(), raw
        items[-1][key] = value.strip()
    return items


class TestPreCommitHook:
    def test_hook_runs_rulec_check(self) -> None:
        hook, *_ = read_simple_yaml_list((ROOT / ".pre-commit-hooks.yaml").read_text())
        assert hook["id"] == "rulec-check"
        assert hook["entry"] == "rulec check"
        assert hook["language"] == "python"
        assert {"name", "description"} <= hook.keys()
        files = re.compile(hook["files"])
        assert files.search("rules/vip.rules")
        assert not files.search("rules/vip.rules.bak") and not files.search("x.py")

    def test_the_format_hook_checks_the_changed_files(self, tmp_path: Path) -> None:
        _, hook, *_ = read_simple_yaml_list((ROOT / ".pre-commit-hooks.yaml").read_text())
        assert (hook["id"], hook["entry"], hook["language"]) == (
            "rulec-fmt",
            "rulec fmt --check",
            "python",
        )
        assert "pass_filenames" not in hook  # the changed files are formatted one by one
        messy = tmp_path / "messy.rules"
        messy.write_text('on  order_created then discount 1% "x"\n')
        p = run_rulec(*hook["entry"].split()[1:], str(messy), cwd=tmp_path)
        assert p.returncode == 1 and "would reformat" in p.stderr

    def test_the_test_hook_runs_the_whole_rule_sets_tests(self, tmp_path: Path) -> None:
        *_, hook = read_simple_yaml_list((ROOT / ".pre-commit-hooks.yaml").read_text())
        assert (hook["id"], hook["entry"], hook["pass_filenames"]) == (
            "rulec-test",
            "rulec test",
            "false",
        )
        assert hook["args"].strip("[]").split(",") == ["rules/"]
        (tmp_path / "rules").mkdir()
        (tmp_path / "rules" / "r.rules").write_text(
            'on order_created then discount 10% "Ten"\n'
            'test "t" on order_created given order subtotal is 10.00 and order currency is EUR '
            "expect amount 2.00 end\n"
        )
        p = run_rulec(
            *hook["entry"].split()[1:], *hook["args"].strip("[]").split(","), cwd=tmp_path
        )
        assert p.returncode == 1 and "expected a discount of 2.00 EUR" in p.stdout

    def test_entry_is_a_console_script(self) -> None:
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        assert project["scripts"]["rulec"] == "rulec.cli:main"

    def test_hook_checks_the_whole_rule_set(self, tmp_path: Path) -> None:
        # Labels declared in one file and used in another: checking only the
        # changed file would report a false R210, so the hook takes no file names.
        hook, *_ = read_simple_yaml_list((ROOT / ".pre-commit-hooks.yaml").read_text())
        assert hook["pass_filenames"] == "false"
        args = hook["args"].strip("[]").split(",")
        assert args == ["rules/"]
        (tmp_path / "rules").mkdir()
        (tmp_path / "rules" / "labels.rules").write_text("label Customer_VIP for customer\n")
        (tmp_path / "rules" / "vip.rules").write_text(
            "label Loyal for customer\n"
            'on order_created when customer has label Customer_VIP then discount 10% "VIP"\n'
            "on order_created when customer has label Loyal\n"
            "then add label Customer_VIP to customer\n"
        )
        p = run_rulec(*hook["entry"].split()[1:], *args, cwd=tmp_path)
        assert (p.returncode, p.stdout.count("R210")) == (0, 0), p.stdout
        alone = run_rulec("check", "rules/vip.rules", cwd=tmp_path)  # what a file list gives
        assert (alone.returncode, "R210" in alone.stdout) == (1, True)


class TestPackage:
    """The names ``rulec`` exports, those imported on first use included."""

    def test_every_exported_name_is_there(self) -> None:
        namespace: dict[str, object] = {}
        exec("from rulec import *", namespace)
        assert set(rulec.__all__) <= set(namespace)
        assert all(namespace[name] is getattr(rulec, name) for name in rulec.__all__)
        assert set(rulec.__all__) <= set(dir(rulec))

    def test_names_on_first_use_are_the_engine_layer_s(self) -> None:
        from rulec.engine.core.decision import Verdict
        from rulec.engine.db.attach import Engine
        from rulec.engine.db.basket import basket

        assert (rulec.Engine, rulec.basket, rulec.Verdict) == (Engine, basket, Verdict)

    def test_an_unknown_name_is_an_attribute_error(self) -> None:
        with pytest.raises(AttributeError, match="module 'rulec' has no attribute 'Engin'"):
            rulec.Engin  # noqa: B018
