"""Diagnostics for people and for CI: text, json, github and sarif.

Every format serializes the same records (``Diagnostic.to_dict``), as
sqlfluff does, so the formats cannot drift apart.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence

from rulec.dsl.diagnostics import CODES, Diagnostic

__all__ = ["Format", "render"]

TOOL_URI = "https://example.invalid/rulec"  # no public home yet; SARIF wants a URI
DOCS = "docs/diagnostics.md"
_WIDTH = 160


class Format(enum.Enum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"
    SARIF = "sarif"


def _display(s: str) -> str:
    """Escape characters that would garble a terminal (controls, bidi overrides)."""
    out = []
    for ch in s:
        if ch == "\t":
            out.append(" ")
        elif not ch.isprintable():
            out.append(ascii(ch)[1:-1])
        else:
            out.append(ch)
    return "".join(out)


def render_text(diagnostics: Sequence[Diagnostic], sources: Mapping[str, str]) -> str:
    """``PATH:LINE:COL: CODE message``, then the source line and a caret."""
    lines: list[str] = []
    split: dict[str, list[str]] = {}
    for d in diagnostics:
        sev = "" if d.severity == "error" else " (warning)"
        lines.append(
            f"{_display(d.span.file)}:{d.span.line}:{d.span.column}: {d.code}{sev} "
            f"{_display(d.full_message)}"
        )
        text = sources.get(d.span.file)
        if text is not None and d.span.file not in split:
            split[d.span.file] = text.splitlines()
        file_lines = split.get(d.span.file, [])
        if 1 <= d.span.line <= len(file_lines):
            full = file_lines[d.span.line - 1]
        else:
            full = d.source_line or ""
        if not full.strip():
            continue
        shift = 0
        if len(full) > _WIDTH:  # shorten very long lines around the column
            shift = max(0, d.span.column - 1 - _WIDTH // 2)
            full = full[shift : shift + _WIDTH]
        col = max(0, min(d.span.column - 1 - shift, len(full)))
        width = 1
        if d.span.end_line == d.span.line and d.span.end_column > d.span.column:
            width = max(1, min(d.span.end_column - d.span.column, len(full) - col))
        # keep the caret aligned: escapes widen characters before the column
        prefix = _display(full[:col])
        lines.append("    " + _display(full))
        lines.append("    " + " " * len(prefix) + "^" + "~" * (width - 1))
    return "\n".join(lines) + ("\n" if lines else "")


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps([d.to_dict() for d in diagnostics], indent=2, ensure_ascii=False) + "\n"


def _gh_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostics: Sequence[Diagnostic]) -> str:
    out = []
    for d in diagnostics:
        kind = "error" if d.severity == "error" else "warning"
        props = ",".join(
            [
                f"file={_gh_property(d.span.file)}",
                f"line={d.span.line}",
                f"col={d.span.column}",
                f"endLine={d.span.end_line}",
                f"endColumn={d.span.end_column}",
                f"title={_gh_property(d.code)}",
            ]
        )
        out.append(f"::{kind} {props}::{_gh_data(d.full_message)}")
    return "\n".join(out) + ("\n" if out else "")


def render_sarif(diagnostics: Sequence[Diagnostic], version: str) -> str:
    used = sorted({d.code for d in diagnostics})
    rules = [
        {
            "id": code,
            "name": CODES[code][1].title().replace(" ", "").replace("'", ""),
            "shortDescription": {"text": CODES[code][1]},
            "helpUri": f"{TOOL_URI}/{DOCS}#{code.lower()}",
            "defaultConfiguration": {"level": CODES[code][0]},
        }
        for code in used
    ]
    index = {code: n for n, code in enumerate(used)}
    results = []
    for d in diagnostics:
        region = {
            "startLine": d.span.line,
            "startColumn": d.span.column,
            "endLine": max(d.span.end_line, d.span.line),
            "endColumn": max(d.span.end_column, 1),
        }
        if region["endLine"] == region["startLine"] and region["endColumn"] < region["startColumn"]:
            region["endColumn"] = region["startColumn"]
        results.append(
            {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": "error" if d.severity == "error" else "warning",
                "message": {"text": d.full_message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(d.span.file)},
                            "region": region,
                        }
                    }
                ],
            }
        )
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "rulec",
                        "version": version,
                        "informationUri": TOOL_URI,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _uri(path: str) -> str:
    from urllib.parse import quote

    return quote(path.replace("\\", "/"), safe="/")


def render(
    fmt: Format,
    diagnostics: Sequence[Diagnostic],
    sources: Mapping[str, str],
    version: str = "0",
) -> str:
    """Render ``diagnostics`` in ``fmt``; ``sources`` maps paths to their text."""
    if fmt is Format.TEXT:
        return render_text(diagnostics, sources)
    if fmt is Format.JSON:
        return render_json(diagnostics)
    if fmt is Format.GITHUB:
        return render_github(diagnostics)
    return render_sarif(diagnostics, version)
