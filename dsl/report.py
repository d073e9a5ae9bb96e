"""Diagnostics for people and for CI: text, json, github and sarif.

Every format serializes the same records (``Diagnostic.to_dict``), as
sqlfluff does, so the formats cannot drift apart.
"""

from __future__ import annotations

import enum
import json
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

from rulec.dsl.diagnostics import CODES, Diagnostic

__all__ = ["Format", "render", "usage_error"]

TOOL_URI = "https://example.invalid/rulec"  # no public home yet; SARIF wants a URI
DOCS = "docs/diagnostics.md"
_WIDTH = 160


class Format(enum.Enum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"
    SARIF = "sarif"


def _display(s: str) -> str:
    """Escape characters that would garble a terminal (controls, bidi overrides).

    A tab becomes one space, so every character of the source keeps one
    position and a caret computed from the column stays aligned.
    """
    out = []
    for ch in s:
        if ch == "\t":
            out.append(" ")
        elif not ch.isprintable():
            out.append(ascii(ch)[1:-1])
        else:
            out.append(ch)
    return "".join(out)


def _cell_width(s: str) -> int:
    """How many terminal cells ``s`` takes: wide (CJK, emoji) 2, combining marks 0."""
    width = 0
    for ch in s:
        if ch < "\u0300":  # ASCII and Latin-1: one cell each (the common case)
            width += 1
        elif unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me"):
            continue
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            width += 2
        else:
            width += 1
    return width


def _source_lines(text: str) -> list[str]:
    """Lines as the parser counts them: split at ``\\n`` only, a trailing ``\\r`` dropped.

    ``str.splitlines`` would also split at form feeds, ``\\x1c``-``\\x1e``,
    ``\\x85`` and U+2028, which Lark does not count as line breaks, and the
    line shown would then not be the line in the diagnostic.
    """
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def _excerpt(full: str, span_line: int, column: int, end_line: int, end_column: int) -> list[str]:
    """The source line (shortened around ``column`` when very long) and its caret line.

    The line is cut to at most :data:`_WIDTH` terminal cells as displayed,
    escapes and wide characters included, with ``…`` where it was cut.
    """
    col = min(max(0, column - 1), len(full))
    one_line = end_line == span_line and end_column > column
    end = end_column - 1 if one_line else col + 1
    # a first, cheap cut by characters (a line may be a megabyte long) ...
    start = 0
    if len(full) > _WIDTH:
        start = max(0, min(col - _WIDTH // 2, len(full) - _WIDTH))
    window = full[start : start + _WIDTH]
    col -= start
    end = max(col + 1, end - start)
    pieces = [_display(ch) for ch in window]
    widths = [_cell_width(p) for p in pieces]
    # ... then by displayed width, keeping the caret's character in view
    lo, hi = 0, len(pieces)
    left, total = sum(widths[:col]), sum(widths)
    while total > _WIDTH and hi - lo > 1:
        if (left > total - left or hi <= col + 1) and lo < col:
            left -= widths[lo]
            total -= widths[lo]
            lo += 1
        else:
            hi -= 1
            total -= widths[hi]
    head = "…" if start + lo > 0 else ""
    tail = "…" if start + hi < len(full) else ""
    line = head + "".join(pieces[lo:hi]) + tail
    pad = len(head) + left
    width = max(1, sum(widths[col : min(end, hi)]))
    return ["    " + line, "    " + " " * pad + "^" + "~" * (width - 1)]


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
            split[d.span.file] = _source_lines(text)
        file_lines = split.get(d.span.file)
        if file_lines is None:
            # no source text: the diagnostic's own (possibly shortened) line,
            # whose columns we cannot trust, so no caret
            if d.source_line and d.source_line.strip():
                lines.append("    " + _display(d.source_line))
            continue
        if not 1 <= d.span.line <= len(file_lines):
            continue
        full = file_lines[d.span.line - 1]
        if not full.strip():
            continue
        lines.extend(_excerpt(full, d.span.line, d.span.column, d.span.end_line, d.span.end_column))
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
            "name": "".join(w.capitalize() for w in re.findall(r"[A-Za-z0-9]+", CODES[code][1])),
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
    """A URI reference for ``path``: relative paths stay relative, absolute become file URIs."""
    if PurePosixPath(path).is_absolute():
        return "file://" + quote(path, safe="/")
    win = PureWindowsPath(path)
    if win.drive and win.is_absolute():  # C:\\rules\\vip.rules
        return win.as_uri()
    if os.sep == "\\":  # a backslash is a separator only on Windows
        path = path.replace("\\", "/")
    return quote(path, safe="/")


def usage_error(message: str, path: str | None = None) -> Diagnostic:
    """A usage error (a missing path, no rule files) as an R001 diagnostic, so that
    ``--format json|github|sarif`` still print a document in their format."""
    from rulec.dsl.nodes import Span

    span = Span(path or "<command line>", 1, 1, 1, 1)
    return Diagnostic("R001", message, span)


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
