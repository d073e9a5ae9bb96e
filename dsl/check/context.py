"""What the checker's stages share: the rule set, what earlier stages found,
and :meth:`Context.report`, the one way a stage adds a diagnostic.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from attrs import define, field

from rulec.dsl.diagnostics import CODES, Diagnostic
from rulec.dsl.nodes import (
    And,
    Condition,
    CouponFamily,
    Item,
    LabelDecl,
    Not,
    Or,
    Rule,
    Some,
    Span,
)
from rulec.dsl.resolve import file_name, rule_name
from rulec.dsl.spelling import hint
from rulec.dsl.vocabulary import Event, Vocabulary

__all__ = ["Context", "did_you_mean", "walk"]


@define
class Context:
    """The rule set under check, what the stages found so far, and the diagnostics."""

    vocabulary: Vocabulary
    items: Sequence[Item]
    diagnostics: list[Diagnostic] = field(factory=list)
    rules: list[Rule] = field(factory=list)
    labels: dict[str, dict[str, LabelDecl]] = field(factory=dict)  # label -> entity -> decl
    warned_undeclared: bool = False
    #: Coupon families by name (the first declared of each), from stage_families.
    families: dict[str, CouponFamily] = field(factory=dict)
    reported: set[tuple[str, str, Span]] = field(factory=set)
    #: id(rule) -> its event, once stage_names has resolved it (None: unknown).
    events: dict[int, Event | None] = field(factory=dict)
    #: (event name, subject) -> the event, for names resolved without a problem.
    known_events: dict[tuple[str, str | None], Event] = field(factory=dict)
    #: A file's path -> its name in the rule set (``Source.name``).
    file_names: dict[str, str] = field(factory=dict)
    #: A file's path -> its text, when the caller has it: messages that rewrite
    #: the user's own words (R312) read them there.
    texts: dict[str, str] = field(factory=dict)
    _line_starts: dict[str, list[int]] = field(factory=dict)

    def source(self, span: Span | None) -> str | None:
        """The text ``span`` covers, as written, or None when the file's text is unknown."""
        if span is None:
            return None
        text = self.texts.get(span.file)
        if text is None:
            return None
        return text[
            self.offset(span.file, span.line, span.column) : self.offset(
                span.file, span.end_line, span.end_column
            )
        ]

    def offset(self, file: str, line: int, column: int) -> int:
        """The index in ``file``'s text of 1-based ``line`` and ``column`` (its text is known)."""
        starts = self._line_starts.get(file)
        if starts is None:
            text = self.texts[file]
            starts = [0]
            at = text.find("\n")
            while at != -1:
                starts.append(at + 1)
                at = text.find("\n", at + 1)
            self._line_starts[file] = starts
        return starts[min(line, len(starts)) - 1] + column - 1

    def rule_name(self, rule: Rule) -> str:
        """The name ``rule`` gets: its block name, else ``FILE-NAME:LINE``."""
        path = rule.span.file if rule.span is not None else "<unknown>"
        return rule_name(rule, self.file_names.get(path) or file_name(path))

    def report(
        self, code: str, message: str, span: Span | None, suggestion: str | None = None
    ) -> None:
        if span is None:  # pragma: no cover - every parsed node has a span
            span = Span("<unknown>", 1, 1, 1, 1)
        message = _clip_quoted(message)
        suggestion = _clip_quoted(suggestion) if suggestion else suggestion
        # one problem, one diagnostic: a zone shared by both dates of a
        # 'between' is checked twice but reported once
        key = (code, message, span)
        if key not in self.reported:
            self.reported.add(key)
            self.diagnostics.append(Diagnostic(code, message, span, CODES[code][0], suggestion))


_QUOTED = re.compile(r"'([^'\n]*)'")


def _clip_quoted(text: str) -> str:
    """Shorten quoted user text (a name or title can be a megabyte long) in a message.

    Quotes pair from the left, so the text between two quoted names is never
    taken for a quoted one.
    """
    if len(text) <= 64:
        return text
    return _QUOTED.sub(lambda m: f"'{m[1][:60]}…'" if len(m[1]) > 60 else m[0], text)


def did_you_mean(word: str, candidates: Sequence[str]) -> str | None:
    """A suggestion naming the candidate closest to ``word``, if one is close.

    Close means in other capitals, with look-alike or invisible characters,
    or misspelt; when the closest name looks exactly like ``word``, the
    suggestion names the wrong character instead (:func:`rulec.dsl.spelling.hint`).
    """
    return hint(word, candidates)


def walk(cond: Condition | None) -> Iterator[Condition]:
    """``cond`` and every condition inside it, in the order they are written."""
    stack = [cond] if cond is not None else []
    while stack:
        c = stack.pop()
        yield c
        if isinstance(c, And | Or):
            stack.extend(reversed(c.operands))
        elif isinstance(c, Not):
            stack.append(c.operand)
        elif isinstance(c, Some):
            stack.append(c.condition)
