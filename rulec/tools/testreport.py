"""``rulec test``'s results as text, JSON or JUnit XML (what CI systems read)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from xml.etree import ElementTree as ET

from rulec.tools.coverage import Coverage
from rulec.tools.ruletest import ERROR, FAIL, PASS, TestRun, summary

__all__ = ["as_json", "as_junit", "as_text"]


def as_text(runs: Sequence[TestRun], cover: Coverage | None, *, verbose: bool = False) -> str:
    """Failures and errors with their lines (every test with ``verbose``), then coverage."""
    lines = []
    for r in runs:
        if r.status == PASS and not verbose:
            continue
        lines.append(f"{r.status.upper()} {r.file}:{r.line}: {r.name}")
        for f in r.failures:
            lines.append(f"  {r.file}:{f.line}:{f.column}: {f.text()}")
        if r.error is not None:
            lines.append(f"  {r.error}")
    if cover is not None:
        lines.append(
            f"coverage: {cover.percent:.1f}% ({cover.seen} of {cover.total} outcomes seen)"
        )
        lines.extend(f"  {g.text()}" for g in cover.gaps)
    return "".join(line + "\n" for line in lines)


def summary_line(runs: Sequence[TestRun]) -> str:
    s = summary(runs)
    tests = f"{s['tests']} test{'s' if s['tests'] != 1 else ''}"
    return f"{tests}: {s['passed']} passed, {s['failed']} failed, {s['errors']} errors"


def as_json(runs: Sequence[TestRun], cover: Coverage | None) -> str:
    doc: dict[str, Any] = {
        "summary": summary(runs),
        "tests": [
            {
                "name": r.name,
                "file": r.file,
                "line": r.line,
                "event": r.event,
                "status": r.status,
                "failures": [
                    {
                        "line": f.line,
                        "column": f.column,
                        "expected": f.expected,
                        "actual": f.actual,
                    }
                    for f in r.failures
                ],
                "error": r.error,
                "seconds": round(r.seconds, 6),
            }
            for r in runs
        ],
    }
    if cover is not None:
        doc["coverage"] = {
            "percent": round(cover.percent, 2),
            "seen": cover.seen,
            "total": cover.total,
            "rules": {
                name: {"seen": seen, "total": total}
                for name, (seen, total) in sorted(cover.rules.items())
            },
            "not_seen": [
                {
                    "file": g.file,
                    "line": g.line,
                    "column": g.column,
                    "rule": g.rule,
                    "part": g.part,
                    "never": g.never,
                    "message": g.text(),
                }
                for g in cover.gaps
            ],
        }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def as_junit(runs: Sequence[TestRun]) -> str:
    """One ``<testsuite>`` per file, a ``<testcase>`` per test; failures and errors as JUnit
    has them (``<failure>``, ``<error>``), with the file and line."""
    root = ET.Element("testsuites", name="rulec test")
    by_file: dict[str, list[TestRun]] = {}
    for r in runs:
        by_file.setdefault(r.file, []).append(r)
    s = summary(runs)
    root.set("tests", str(s["tests"]))
    root.set("failures", str(s["failed"]))
    root.set("errors", str(s["errors"]))
    for file, group in by_file.items():
        g = summary(group)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=file,
            tests=str(g["tests"]),
            failures=str(g["failed"]),
            errors=str(g["errors"]),
            skipped="0",
            time=f"{sum(r.seconds for r in group):.6f}",
        )
        for r in group:
            case = ET.SubElement(
                suite,
                "testcase",
                name=r.name,
                classname=file,
                file=file,
                line=str(r.line),
                time=f"{r.seconds:.6f}",
            )
            if r.status == FAIL:
                text = "\n".join(f"{file}:{f.line}:{f.column}: {f.text()}" for f in r.failures)
                first = r.failures[0].text()
                ET.SubElement(case, "failure", message=first, type="expectation").text = text
            elif r.status == ERROR:
                ET.SubElement(case, "error", message=r.error or "", type="error").text = r.error
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
