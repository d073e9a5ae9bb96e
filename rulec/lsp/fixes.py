"""The checker's diagnostics as the editor shows them, and their quick fixes.

A diagnostic keeps its code (explained in docs/diagnostics.md), its
severity, its exact range and its suggestion (after the message, as
``rulec check`` prints it). A "did you mean 'X'?" suggestion is also a quick
fix: replace the range with X.
"""

from __future__ import annotations

import re

from lsprotocol import types

from rulec.dsl.diagnostics import Diagnostic
from rulec.dsl.nodes import label_text
from rulec.lsp.positions import Positions

__all__ = ["SOURCE", "quick_fixes", "replacement", "to_lsp"]

#: The ``source`` of every diagnostic the server publishes.
SOURCE = "rulec"

_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}

#: The suggestion of a misspelt name: "did you mean 'order_created'?", optionally
#: followed by notes in parentheses. The name meant is between the quotes.
_DID_YOU_MEAN = re.compile(r"did you mean '(?P<meant>[^'\n]+)'\?(?: \(.*\))?")


def to_lsp(d: Diagnostic, positions: Positions) -> types.Diagnostic:
    """The editor's diagnostic of ``d``."""
    fix = replacement(d, positions)
    return types.Diagnostic(
        range=positions.range(d.span),
        message=d.full_message,
        severity=_SEVERITY[d.severity],
        code=d.code,
        source=SOURCE,
        data={"replacement": fix} if fix is not None else None,
    )


def replacement(d: Diagnostic, positions: Positions) -> str | None:
    """The text a "did you mean" diagnostic's range should become, if it has one."""
    if not d.suggestion:
        return None
    m = _DID_YOU_MEAN.fullmatch(d.suggestion)
    if m is None:
        return None
    meant = m.group("meant")
    span = d.span
    if span.line != span.end_line:
        return None
    written = positions.line(span.line)[span.column - 1 : span.end_column - 1]
    if written == meant:
        return None
    # a label written quoted stays quoted; a name is written as the language spells it
    return label_text(meant) if written.startswith('"') or " " in meant else meant


def quick_fixes(
    uri: str, diagnostics: list[Diagnostic], positions: Positions, wanted: types.Range
) -> list[types.CodeAction]:
    """A quick fix for each did-you-mean diagnostic of the file whose range meets ``wanted``."""
    out = []
    for d in diagnostics:
        new = replacement(d, positions)
        if new is None:
            continue
        shown = to_lsp(d, positions)
        if not _meets(shown.range, wanted):
            continue
        written = positions.line(d.span.line)[d.span.column - 1 : d.span.end_column - 1]
        out.append(
            types.CodeAction(
                title=f"Replace '{written}' with '{new}'",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[shown],
                is_preferred=True,
                edit=types.WorkspaceEdit(changes={uri: [types.TextEdit(shown.range, new)]}),
            )
        )
    return out


def _meets(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)
