"""The checker's diagnostics as the editor shows them, and their quick fixes.

A diagnostic keeps its code (explained in docs/diagnostics.md), its
severity, its exact range and its suggestion (after the message, as
``rulec check`` prints it). A "did you mean 'X'?" suggestion is also a quick
fix: replace the range with X.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lsprotocol import types

from rulec.dsl.diagnostics import Diagnostic
from rulec.dsl.nodes import Item, LabelDecl, label_text
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
    uri: str,
    diagnostics: list[Diagnostic],
    positions: Positions,
    wanted: types.Range,
    items: Sequence[Item] = (),
) -> list[types.CodeAction]:
    """The quick fixes of the file's diagnostics whose range meets ``wanted``: a
    did-you-mean replaced by the name meant, and an undeclared label (R210 without a
    close declared one) declared in the file, after its other declarations."""
    out = []
    for d in diagnostics:
        shown = to_lsp(d, positions)
        if not _meets(shown.range, wanted):
            continue
        new = replacement(d, positions)
        if new is not None:
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
        m = _DECLARE.fullmatch(d.suggestion or "") if d.code == "R210" else None
        if m is not None:
            out.append(
                types.CodeAction(
                    title=f"Declare {m.group('declaration')}",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[shown],
                    edit=types.WorkspaceEdit(
                        changes={uri: [_declaration(m.group("declaration"), items, positions)]}
                    ),
                )
            )
    return out


#: R210's suggestion when no declared label is close: the declaration to write.
_DECLARE = re.compile(r"declare it with '(?P<declaration>label .+ for \w+)'")


def _declaration(text: str, items: Sequence[Item], positions: Positions) -> types.TextEdit:
    """An edit adding the declaration ``text`` after the file's last one, or at its top
    (below its opening comments)."""
    lines = positions.lines
    ends = [i.span.end_line for i in items if isinstance(i, LabelDecl) and i.span is not None]
    if ends:
        at = max(ends)  # the 0-based line after the last declaration
        if at >= len(lines):  # the file ends on it, without a line end
            end = positions.end()
            return types.TextEdit(types.Range(end, end), "\n" + text)
        return types.TextEdit(
            types.Range(types.Position(at, 0), types.Position(at, 0)), text + "\n"
        )
    at = 0
    while at < len(lines) and lines[at].lstrip().startswith("#"):
        at += 1
    if 0 < at < len(lines) and not lines[at].strip():
        at += 1  # the header's blank line stays between it and the declaration
    blank = "\n" if at < len(lines) and lines[at].strip() else ""
    start = types.Position(at, 0)
    return types.TextEdit(types.Range(start, start), text + "\n" + blank)


def _meets(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)
