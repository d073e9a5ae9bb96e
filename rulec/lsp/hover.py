"""Hover texts: what a keyword, label, entity, field, event, action or currency is.

Every text is built from what the checker knows: the vocabulary (entities,
fields and events with their descriptions), the label declarations of the
rule set, the action verbs (:mod:`rulec.dsl.verbs`), the currency table.
"""

from __future__ import annotations

from pathlib import Path

from rulec.dsl.currencies import MINOR_UNITS
from rulec.dsl.nodes import CouponFamily, GroupDecl, LabelDecl, Rule, RuleTest, Span
from rulec.dsl.resolve import file_name
from rulec.dsl.verbs import ACTIONS
from rulec.dsl.vocabulary import Entity, Event, Field, Kind, Vocabulary
from rulec.lsp.keywords import keyword_doc
from rulec.lsp.lookup import NameRef, Role, name_at, names, word_at
from rulec.lsp.project import RuleSetView

__all__ = ["entity_text", "event_text", "family_text", "field_text", "hover_text", "label_text_of"]


def hover_text(
    view: RuleSetView, path: str, line_text: str, line: int, column: int
) -> tuple[str, Span] | None:
    """The hover of ``line``:``column`` of the file ``path`` (markdown) and the span of
    the word it is about, if there is one."""
    ref = name_at(view.items(path), line, column)
    if ref is not None:
        text = _name_text(view, ref)
        assert ref.name.span is not None
        return (text, ref.name.span) if text is not None else None
    found = word_at(line_text, column)
    doc = keyword_doc(found[0]) if found else None
    if found is None or doc is None:
        return None
    return doc, Span(path, line, found[1], line, found[2])


def _name_text(view: RuleSetView, ref: NameRef) -> str | None:
    vocab = view.vocabulary
    text = ref.name.text
    if ref.role in (Role.LABEL, Role.LABEL_DECLARATION):
        return label_text_of(view, text)
    if ref.role is Role.ENTITY:
        entity = vocab.entity(text)
        return entity_text(entity) if entity else None
    if ref.role is Role.FIELD:
        entity = vocab.entity(ref.entity or "")
        f = entity.field(text) if entity else None
        return field_text(entity, f) if entity and f else None
    if ref.role is Role.EVENT:
        subject = getattr(ref.node, "subject", None)
        event = vocab.event(text, subject.text if subject is not None else None)
        if event is None and vocab.subjects(text):
            event = vocab.event(text, vocab.subjects(text)[0])
        return event_text(vocab, event) if event else None
    if ref.role is Role.ACTION:
        shape = ACTIONS.get(text)
        return f"**{text}** (action)\n\n`{text}` {shape}" if shape else None
    if ref.role in (Role.GROUP, Role.GROUP_DECLARATION):
        return group_text(view, text)
    if ref.role is Role.COUPON_FAMILY:
        return family_text(view, text)
    if ref.role is Role.CURRENCY:
        places = MINOR_UNITS.get(text)
        if places is None:
            return None
        return f"**{text}** (currency, ISO 4217)\n\namounts in {text} have {places} decimal places"
    return None


def group_text(view: RuleSetView, group: str) -> str:
    """A stacking group: where it is declared, what its base is, the rules in it."""
    decl = next(
        (i for i in view.all_items() if isinstance(i, GroupDecl) and i.name.text == group), None
    )
    if decl is None or decl.span is None:
        return f"**{group}** (stacking group)\n\nnot declared in this rule set"
    where = _shown_path(view, decl.span.file)
    parts = [f"**{group}** (stacking group), declared at {where}:{decl.span.line}"]
    if decl.after:
        after = ", ".join(a.text for a in decl.after)
        parts.append(f"its percentages are of what {after} leave of the subtotal")
    else:
        parts.append("its percentages are of the undiscounted subtotal")
    note = _comment_above(view, decl.span.file, decl.span.line)
    if note:
        parts.append(note)
    rules = [i for i in view.all_items() if isinstance(i, Rule) and i.group == group]
    parts.append(f"{len(rules)} rule{'s' if len(rules) != 1 else ''} in it")
    return "\n\n".join(parts)


def family_text(view: RuleSetView, name: str) -> str:
    """A coupon family: where it is declared and its codes and prefixes."""
    for item in view.all_items():
        if isinstance(item, CouponFamily) and item.name.text == name and item.span is not None:
            where = _shown_path(view, item.span.file)
            members = ", ".join(f"`{p.text}`" for p in item.patterns)
            return (
                f"**{name}** (coupon family), declared at {where}:{item.span.line}\n\n"
                f"codes: {members} (a trailing `*`: every code that starts so)"
            )
    return f"**{name}** (coupon family)\n\nnot declared in this rule set"


def label_text_of(view: RuleSetView, label: str) -> str:
    """A label: where it is declared, for which entity, the comment above it, its uses."""
    declared = view.declarations.get(label, [])
    if not declared:
        return f"**{label}** (label)\n\nnot declared in this rule set"
    parts = []
    for decl, name in declared:
        span = name.span
        assert span is not None and decl.span is not None
        where = _shown_path(view, span.file)
        parts.append(
            f"**{label}** (label for **{decl.entity.text}**), declared at {where}:{span.line}"
        )
        note = _comment_above(view, span.file, decl.span.line)
        if note:
            parts.append(note)
    uses = _uses(view, label)
    if uses:
        parts.append("used by " + ", ".join(uses))
    return "\n\n".join(parts)


def _shown_path(view: RuleSetView, path: str) -> str:
    if view.folder is not None:
        try:
            return Path(path).relative_to(view.folder).as_posix()
        except ValueError:
            pass
    return file_name(path)


def _comment_above(view: RuleSetView, path: str, line: int) -> str | None:
    """The comment lines right above line ``line`` of ``path``, as one text."""
    comments = {c.span.line: c.text for c in view.analysis.comments.get(path, ()) if c.span}
    lines = view.texts.get(path, "").split("\n")
    found: list[str] = []
    at = line - 1
    while at in comments and lines[at - 1].lstrip().startswith("#"):
        found.append(comments[at].lstrip("#").strip())
        at -= 1
    return " ".join(reversed(found)) or None


def _uses(view: RuleSetView, label: str) -> list[str]:
    """How many rules and tests use ``label`` (not counting its declarations)."""
    rules = tests = 0
    for item in view.all_items():
        if isinstance(item, LabelDecl):
            continue
        used = any(r.role is Role.LABEL and r.name.text == label for r in names([item]))
        if used and isinstance(item, Rule):
            rules += 1
        elif used and isinstance(item, RuleTest):
            tests += 1
    out = []
    if rules:
        out.append(f"{rules} rule{'s' if rules != 1 else ''}")
    if tests:
        out.append(f"{tests} test{'s' if tests != 1 else ''}")
    return out


def entity_text(entity: Entity) -> str:
    lines = [f"**{entity.name}** (entity)"]
    if entity.description:
        lines.append(entity.description)
    if entity.labelled:
        lines.append(f"carries labels: `{entity.name} has label NAME`")
    if entity.fields:
        lines.append("fields: " + ", ".join(f"`{f.name}` ({f.type.value})" for f in entity.fields))
    return "\n\n".join(lines)


def field_text(entity: Entity, f: Field) -> str:
    lines = [f"**{entity.name} {f.name}** (field of {entity.name}): {f.type.value}"]
    if f.description:
        lines.append(f.description)
    if f.values:
        lines.append("values: " + ", ".join(f"`{v}`" for v in f.values))
    if f.aliases:
        lines.append("also written: " + ", ".join(f"`{a}`" for a in f.aliases))
    if f.settable:
        lines.append(f"rules may set it: `set {entity.name} {f.name} to VALUE`")
    return "\n\n".join(lines)


_KINDS = {
    Kind.ORDER: "an order event: discounts, labels and status of one order",
    Kind.LABEL: "a label event: a label was linked to or unlinked from an entity",
    Kind.SCHEDULED: "a scheduled event: a periodic run over every entity of its subject",
    Kind.LISTING: "a listing event: whether a candidate is shown (show / hide)",
}


def event_text(vocab: Vocabulary, event: Event) -> str:
    title = event.name if event.subject is None else f"{event.name} for {event.subject}"
    lines = [f"**{title}** (event)"]
    if event.description:
        lines.append(event.description)
    lines.append(_KINDS[event.kind])
    shown = []
    for name in event.entities:
        notes = [
            w
            for w, on in (("optional", name in event.optional), ("list", name in event.many))
            if on
        ]
        shown.append(f"`{name}`" + (f" ({', '.join(notes)})" if notes else ""))
    if shown:
        lines.append("entities: " + ", ".join(shown))
    if event.includes:
        lines.append("also runs the rules of: " + ", ".join(f"`{e}`" for e in event.includes))
    others = vocab.subjects(event.name)
    if len(others) > 1:
        lines.append("for: " + ", ".join(f"`{s}`" for s in others))
    return "\n\n".join(lines)
