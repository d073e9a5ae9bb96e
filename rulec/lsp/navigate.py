"""Go to a label's declaration, find its uses, and the outline of a file."""

from __future__ import annotations

from collections.abc import Callable

from lsprotocol import types
from pygls.uris import from_fs_path

from rulec.dsl.nodes import CouponFamily, GroupDecl, LabelDecl, Rule, RuleTest, Span, label_text
from rulec.dsl.resolve import rule_name
from rulec.lsp.lookup import Role, name_at, names
from rulec.lsp.positions import Positions
from rulec.lsp.project import RuleSetView

__all__ = [
    "definition",
    "document_symbols",
    "folding_ranges",
    "label_range",
    "references",
    "rename",
    "workspace_symbols",
]

#: The positions of a file of the rule set, by path.
PositionsOf = Callable[[str], Positions]


def _uri(path: str) -> str:
    return from_fs_path(path) or path


def _location(span: Span, positions: PositionsOf) -> types.Location:
    return types.Location(_uri(span.file), positions(span.file).range(span))


def _label_at(view: RuleSetView, path: str, line: int, column: int) -> str | None:
    ref = name_at(view.items(path), line, column)
    if ref is None or ref.role not in (Role.LABEL, Role.LABEL_DECLARATION):
        return None
    return ref.name.text


def definition(
    view: RuleSetView, path: str, line: int, column: int, positions: PositionsOf
) -> list[types.Location]:
    """Where the label (or the stacking group, or the coupon family) at
    ``line``:``column`` is declared, in any file of the rule set."""
    ref = name_at(view.items(path), line, column)
    if ref is not None and ref.role in (Role.GROUP, Role.GROUP_DECLARATION):
        return [
            _location(i.name.span, positions)
            for i in view.all_items()
            if isinstance(i, GroupDecl) and i.name.text == ref.name.text and i.name.span
        ]
    if ref is not None and ref.role is Role.COUPON_FAMILY:
        return [
            _location(item.name.span, positions)
            for item in view.all_items()
            if isinstance(item, CouponFamily)
            and item.name.text == ref.name.text
            and item.name.span is not None
        ]
    label = _label_at(view, path, line, column)
    if label is None:
        return []
    return [
        _location(name.span, positions)
        for _decl, name in view.declarations.get(label, [])
        if name.span is not None
    ]


def references(
    view: RuleSetView,
    path: str,
    line: int,
    column: int,
    positions: PositionsOf,
    include_declaration: bool = True,
) -> list[types.Location]:
    """Every use of the label at ``line``:``column`` in the rule set."""
    label = _label_at(view, path, line, column)
    if label is None:
        return []
    wanted = {Role.LABEL, Role.LABEL_DECLARATION} if include_declaration else {Role.LABEL}
    out = []
    for file, items in view.analysis.items.items():
        del file
        for ref in names(items):
            if ref.role in wanted and ref.name.text == label and ref.name.span is not None:
                out.append(_location(ref.name.span, positions))
    return out


def label_range(
    view: RuleSetView, path: str, line: int, column: int, positions: Positions
) -> types.Range | None:
    """The range of the label at ``line``:``column``, if a label is there (to rename it)."""
    ref = name_at(view.items(path), line, column)
    if ref is None or ref.role not in (Role.LABEL, Role.LABEL_DECLARATION):
        return None
    assert ref.name.span is not None
    return positions.range(ref.name.span)


def rename(
    view: RuleSetView, path: str, line: int, column: int, new: str, positions: PositionsOf
) -> types.WorkspaceEdit | None:
    """The edit renaming the label at ``line``:``column`` to ``new`` everywhere in the rule set:
    its declarations and every rule and test using it (quoted when the name needs it)."""
    found = references(view, path, line, column, positions)
    if not found:
        return None
    changes: dict[str, list[types.TextEdit]] = {}
    for loc in found:
        changes.setdefault(loc.uri, []).append(types.TextEdit(loc.range, label_text(new)))
    return types.WorkspaceEdit(changes=changes)


def document_symbols(
    view: RuleSetView, path: str, positions: Positions
) -> list[types.DocumentSymbol]:
    """The outline of a file: each rule, each declared label and group, each test."""
    names_of = {s.path: s.name for s in view.analysis.sources}
    out = []
    for item in view.items(path):
        if item.span is None:
            continue
        whole = positions.range(item.span)
        if isinstance(item, Rule):
            pick = item.event.span or item.span
            out.append(
                types.DocumentSymbol(
                    name=rule_name(item, names_of.get(path, path)),
                    kind=types.SymbolKind.Function,
                    range=whole,
                    selection_range=positions.range(pick),
                    detail=_rule_detail(item),
                )
            )
        elif isinstance(item, LabelDecl):
            for name in item.names:
                if name.span is None:
                    continue
                out.append(
                    types.DocumentSymbol(
                        name=name.text,
                        kind=types.SymbolKind.Constant,
                        range=whole,
                        selection_range=positions.range(name.span),
                        detail=f"label for {item.entity.text}",
                    )
                )
        elif isinstance(item, GroupDecl):
            after = ", ".join(a.text for a in item.after)
            out.append(
                types.DocumentSymbol(
                    name=item.name.text,
                    kind=types.SymbolKind.Namespace,
                    range=whole,
                    selection_range=positions.range(item.name.span or item.span),
                    detail="stacking group" + (f" after {after}" if after else ""),
                )
            )
        elif isinstance(item, RuleTest):
            pick = item.event.span or item.span
            out.append(
                types.DocumentSymbol(
                    name=item.name or "(unnamed test)",
                    kind=types.SymbolKind.Method,
                    range=whole,
                    selection_range=positions.range(pick),
                    detail=f"test on {item.event.text}",
                )
            )
    return out


def _rule_detail(rule: Rule) -> str:
    event = rule.event.text
    if rule.subject is not None:
        event += f" for {rule.subject.text}"
    title = next((getattr(a, "title", None) for a in rule.actions if hasattr(a, "title")), None)
    return f"on {event}" + (f": {title}" if title and title != rule.name else "")


def workspace_symbols(
    view: RuleSetView, query: str, positions: PositionsOf
) -> list[types.WorkspaceSymbol]:
    """The rules, labels and tests of every file of the rule set whose name or detail (a
    one-line rule's event and discount title) holds ``query``."""
    wanted = query.casefold()
    out = []
    for path in view.analysis.items:
        for s in document_symbols(view, path, positions(path)):
            if wanted in f"{s.name} {s.detail or ''}".casefold():
                out.append(
                    types.WorkspaceSymbol(
                        name=s.name,
                        kind=s.kind,
                        location=types.Location(_uri(path), s.selection_range),
                        container_name=s.detail,
                    )
                )
    return out


def folding_ranges(view: RuleSetView, path: str) -> list[types.FoldingRange]:
    """A block rule, a test, a rule written over several lines, and a run of comment lines."""
    out = []
    for item in view.items(path):
        if item.span is not None and item.span.end_line > item.span.line:
            out.append(types.FoldingRange(item.span.line - 1, item.span.end_line - 1))
    lines = view.texts.get(path, "").split("\n")
    run: list[int] = []
    for n, line in enumerate([*lines, ""]):
        if line.lstrip().startswith("#"):
            run.append(n)
            continue
        if len(run) > 1:
            out.append(types.FoldingRange(run[0], run[-1], kind=types.FoldingRangeKind.Comment))
        run = []
    return sorted(out, key=lambda r: r.start_line)
