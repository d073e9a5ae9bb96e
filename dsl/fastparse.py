"""A fast driver for the grammar's own LALR(1) tables: the parser's fast path.

Lark builds a parse tree and then transforms it, creating a ``Token`` for
every keyword and a ``Tree`` for every reduction; for a file of 10,000 rules
that is most of ``rulec check``'s time. This module runs the very same
tables (``grammar/rules.lark`` stays the only grammar) with Lark's own
contextual scanners, but reduces straight into AST nodes through the
parser's transformer methods and creates tokens only for the terminals a
node keeps.

It reproduces Lark's tree shaping exactly: anonymous terminals are dropped,
``_rules`` are spliced into their parent, ``?rules`` pass a single child
through, and a node's position runs from the first to the last token of its
reduction, inlined children and filtered keywords included (Lark's
``propagate_positions`` "containers").

Comments are ignored text to the parser; when asked, the driver reports
each one as Lark's ``lexer_callbacks`` on the comment terminal would see it
(its text, line and column), provided the grammar's comment is ``#`` to the
end of the line, the only form it knows how to find.

It only handles input that parses cleanly. On anything else (a syntax
error, a character no terminal matches, conditions nested too deep) it
returns ``None`` and the caller uses the Lark parser, which reports the
problem. ``tests/dsl/test_fastparse.py`` checks that both give the same
items, positions and diagnostics, on the golden files and on generated and
mutated rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lark import Lark, Token
from lark.lexer import PatternStr, UnlessCallback
from lark.parsers.lalr_analysis import Shift

__all__ = ["Driver"]

#: Reductions counted as one level of condition nesting (the grammar's aliases).
_NESTING_RULES = frozenset({"or_", "not_"})
#: Reductions whose value carries the nesting of its operands.
_CONDITION_RULES = frozenset({"or_", "and_", "not_"})


class _Meta:
    """What the transformer reads of Lark's ``Meta``: a node's position."""

    __slots__ = ("column", "end_column", "end_line", "line")
    empty = False
    line: int
    column: int
    end_line: int
    end_column: int


class _EmptyMeta:
    """The position of a reduction with no tokens (Lark's empty ``Meta``)."""

    empty = True


_EMPTY = _EmptyMeta()


class _Splice(list[Any]):
    """The kept children of an inlined ``_rule``, to be spliced into the parent."""


class _Unsupported(Exception):
    """The grammar uses a Lark feature this driver does not reproduce."""


_VALUE, _SPLICE, _TOKEN = 0, 1, 2

#: The one comment terminal the driver reproduces, and the pattern it knows:
#: ``#`` to the end of the line (its newline as the character, as Lark 1.2 and
#: 1.3 hold it, or escaped).
COMMENT = "COMMENT"
_COMMENT_PATTERNS = frozenset({"#[^\n]*", r"#[^\n]*"})

#: Lark's Token constructor without its keyword-argument shim.
_new_token = getattr(Token, "_future_new", Token)


class _Reduction:
    """How to reduce one grammar rule: its size, kept children and callback name."""

    __slots__ = (
        "condition",
        "expand1",
        "goto",
        "grow",
        "keep",
        "name",
        "nesting",
        "one_token",
        "passthrough",
        "size",
        "splice",
    )

    def __init__(self, rule: Any) -> None:
        self.size = len(rule.expansion)
        self.goto = str(rule.origin.name)  # a plain str: Lark's Token compares slowly
        # (index, kind) for every child Lark keeps (anonymous terminals go):
        # a token to build, an inlined rule to splice, or a value
        self.keep = tuple(
            (i, _TOKEN if sym.is_term else _SPLICE if sym.name.startswith("_") else _VALUE)
            for i, sym in enumerate(rule.expansion)
            if not (sym.is_term and sym.filter_out)
        )
        self.splice = rule.origin.name.startswith("_")
        self.expand1 = bool(rule.options.expand1) and not rule.alias
        self.name = str(rule.alias or rule.origin.name)
        self.nesting = self.name in _NESTING_RULES
        self.condition = self.name in _CONDITION_RULES
        # "rule: TOKEN": a transformer may build these straight from the text
        self.one_token = self.size == 1 and self.keep == ((0, _TOKEN),) and not self.splice
        # "?rule: child": the child passes through with its own position
        self.passthrough = self.expand1 and self.size == 1 and self.keep == ((0, _VALUE),)
        # a left-recursive list of an inlined rule: "__x_star: __x_star item"
        self.grow = (
            self.splice
            and bool(self.keep)
            and self.keep[0] == (0, _SPLICE)
            and rule.expansion[0].name == rule.origin.name
        )
        if rule.options.keep_all_tokens or rule.options.template_source:
            raise _Unsupported(str(rule))


class _Scanner:
    """The contextual scanner of one parser state: Lark's terminals and keywords.

    One regex per state matches the ignored text (spaces, comments) before
    a token and the token itself, in Lark's order of terminals, so that a
    token costs one match instead of two.
    """

    __slots__ = ("keywords", "regex", "rest")

    def __init__(self, lexer: Any, comment: str | None) -> None:
        scanner = lexer.scanner  # builds Lark's scanner and its callbacks
        flags = lexer.g_regex_flags
        ignore = [t for t in scanner.terminals if t.name in lexer.ignore_types]
        kept = [t for t in scanner.terminals if t.name not in lexer.ignore_types]
        if len(ignore) != len(lexer.ignore_types):
            raise _Unsupported("ignored terminals missing from a state")
        skip = "|".join(t.pattern.to_regexp() for t in ignore)
        for t in kept:  # skipping first is only right if no token starts like a skip
            if any(re.match(t.pattern.to_regexp(), c, flags) for c in " \t\r\n\f#"):
                raise _Unsupported(f"terminal {t.name} may start with ignored text")
        # (?!) never matches: a state that only accepts the end of the file
        tokens = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in kept) or "(?!)"
        # atomic: the regex must not give back part of a comment to find a token in it
        self.regex = re.compile(f"(?>(?:{skip})*)(?:{tokens})", flags)
        #: what may follow the last token: ignored text only
        self.rest = re.compile(f"(?:{skip})*", flags)
        # Lark turns a NAME that spells a keyword into that keyword ("unless")
        self.keywords: dict[str, dict[str, str]] = {}
        for type_, callback in lexer.callback.items():
            if type_ == comment:
                continue  # ignored text: the driver reports comments itself
            if not isinstance(callback, UnlessCallback):
                raise _Unsupported(f"lexer callback on {type_}")
            words: dict[str, str] = {}
            for t in callback.scanner.terminals:
                if not isinstance(t.pattern, PatternStr) or t.pattern.flags:
                    raise _Unsupported(f"keyword {t.name}")
                words[t.pattern.value] = t.name
            self.keywords[type_] = words


class Driver:
    """Parses clean input with a Lark LALR parser's tables, reducing into the AST."""

    def __init__(self, lark: Lark) -> None:
        frontend = lark.parser
        terminal = next((d for d in lark.terminals if d.name == COMMENT), None)
        comment: str | None = None
        if terminal is not None and COMMENT in lark.ignore_tokens:
            if terminal.pattern.to_regexp() not in _COMMENT_PATTERNS or terminal.pattern.flags:
                raise _Unsupported(f"comment pattern {terminal.pattern.to_regexp()}")
            comment = COMMENT
        #: the comment terminal the driver reports, if the grammar has one
        self.comment = comment
        table = frontend.parser.parser.parse_table
        self.start = table.start_states["start"]
        self.end = table.end_states["start"]
        # the table with each Reduce's rule replaced by its _Reduction: a
        # Lark Rule hashes and compares slowly, and this is looked up per token
        reductions: dict[Any, _Reduction] = {}
        self.actions: dict[Any, dict[str, tuple[bool, Any]]] = {}
        for state, row in table.states.items():
            mine: dict[str, tuple[bool, Any]] = {}
            for symbol, (action, arg) in row.items():
                symbol = str(symbol)
                if action is Shift:
                    mine[symbol] = (True, arg)
                else:
                    if arg not in reductions:
                        reductions[arg] = _Reduction(arg)
                    mine[symbol] = (False, reductions[arg])
            self.actions[state] = mine
        self.reductions = tuple(reductions.values())
        lexers = frontend.lexer.lexers
        by_lexer: dict[int, _Scanner] = {}
        self.scanners: dict[Any, _Scanner] = {}
        for state, lexer in lexers.items():
            if id(lexer) not in by_lexer:
                by_lexer[id(lexer)] = _Scanner(lexer, comment)
            self.scanners[state] = by_lexer[id(lexer)]

    def parse(
        self,
        text: str,
        transformer: Any,
        max_nesting: int,
        comments: list[tuple[str, int, int]] | None = None,
    ) -> Any | None:
        """The transformer's result for ``text``, or None when the fast path does not apply.

        ``max_nesting`` bounds the or/not levels below an item's top
        condition; deeper input returns None (the Lark path reports it).
        ``comments``, when given, receives each comment's ``(text, line,
        column)`` in the order of the file (the text as Lark's token has it).
        """
        states = self.actions
        scanners = self.scanners
        end_state = self.end
        callbacks: dict[str, Callable[..., Any] | None] = {}
        for r in self.reductions:
            if r.name not in callbacks:
                method = getattr(transformer, r.name, None)
                # call the method itself, not Lark's v_args wrapper around it
                callbacks[r.name] = getattr(method, "base_func", method)
        limit = max_nesting + 1
        new_token = _new_token
        # rules of one token the transformer builds from (text, line, column)
        # without a Token object: most of a file's names
        builders: dict[str, Callable[[str, int, int], Any]] = getattr(
            transformer, "token_builders", dict
        )()
        direct: dict[str, Callable[[str, int, int], Any]] = {
            r.name: builders[r.name] for r in self.reductions if r.one_token and r.name in builders
        }
        # or/and/not nesting of the condition values built so far, by id
        depth: dict[int, int] = {}

        state_stack: list[Any] = [self.start]
        values: list[Any] = []
        extents: list[tuple[int, int, int, int] | None] = []

        pos, end = 0, len(text)
        line, line_start = 1, 0
        value_text = ""
        # the next '#' at or after pos (end + 1: none, or comments not wanted):
        # one comparison per token instead of a search of every gap
        if self.comment is None:
            comments = None
        hash_at = text.find("#") if comments is not None else -1
        if hash_at < 0:
            hash_at = end + 1
        while True:
            state = state_stack[-1]
            if pos < end:
                scanner = scanners[state]
                m = scanner.regex.match(text, pos)
                if m is None:
                    # only spaces and comments left, or a character no terminal takes
                    if scanner.rest.fullmatch(text, pos) is None:
                        return None
                    if hash_at < end and comments is not None:
                        _comments_in(text, pos, end, line, line_start, comments)
                    pos = end
                    type_ = "$END"
                else:
                    type_ = m.lastgroup  # type: ignore[assignment]
                    start_pos = m.start(type_)  # type: ignore[arg-type]
                    if hash_at < start_pos and comments is not None:
                        _comments_in(text, pos, start_pos, line, line_start, comments)
                    newlines = text.count("\n", pos, start_pos)
                    if newlines:
                        line += newlines
                        line_start = text.rindex("\n", pos, start_pos) + 1
                    pos = m.end()
                    if hash_at < pos:  # past a comment, or a '#' inside a quoted text
                        hash_at = text.find("#", pos)
                        if hash_at < 0:
                            hash_at = end + 1
                    value_text = m.group(type_)  # type: ignore[arg-type]
                    if "\n" in value_text:  # pragma: no cover - tokens are one line long
                        return None
                    words = scanner.keywords.get(type_)  # type: ignore[arg-type]
                    if words is not None:
                        type_ = words.get(value_text, type_)
            else:
                type_ = "$END"
            action_table = states[state]
            # reduce as long as the table says so, then shift the token
            while True:
                step = action_table.get(type_)  # type: ignore[arg-type]
                if step is None:
                    return None
                shift, arg = step
                if shift:
                    break
                red: _Reduction = arg
                size = red.size
                if red.passthrough:  # ?rule: child  -- nothing changes but the state
                    del state_stack[-1]
                    state_stack.append(states[state_stack[-1]][red.goto][1])
                    action_table = states[state_stack[-1]]
                    continue
                if red.one_token:
                    build = direct.get(red.name)
                    if build is not None:
                        _, v, _, ln, col = values[-1]
                        values[-1] = build(v, ln, col)
                        # then on, as a "?rule: child": only the state changes
                        # (the file is accepted on reducing 'start', never here)
                        del state_stack[-1]
                        state_stack.append(states[state_stack[-1]][red.goto][1])
                        action_table = states[state_stack[-1]]
                        continue
                if size:
                    kids = values[-size:]
                    exts = extents[-size:]
                    del state_stack[-size:], values[-size:], extents[-size:]
                    first, last = exts[0], exts[-1]
                    if first is None or last is None:
                        first = next((e for e in exts if e is not None), None)
                        last = next((e for e in reversed(exts) if e is not None), None)
                    extent = (
                        None
                        if first is None or last is None
                        else (first[0], first[1], last[2], last[3])
                    )
                else:
                    kids, extent = [], None
                keep = red.keep
                if red.grow:
                    # "_list: _list item": add to the child's list in place (it
                    # is on no one else's stack); copying it made long files
                    # quadratic
                    kept = kids[0]
                    keep = keep[1:]
                else:
                    kept = _Splice() if red.splice else []
                for i, kind in keep:
                    if kind == _VALUE:
                        kept.append(kids[i])
                    elif kind == _SPLICE:
                        kept.extend(kids[i])
                    else:  # a shifted token: (type, text, start, line, column)
                        t, v, start, ln, col = kids[i]
                        n = len(v)
                        kept.append(new_token(t, v, start, ln, col, ln, col + n, start + n))
                if red.splice:
                    value: Any = kept
                elif red.expand1 and len(kept) == 1:
                    value = kept[0]
                else:
                    callback = callbacks[red.name]
                    if callback is None:  # pragma: no cover - every rule has a method
                        return None
                    if extent is None:
                        value = callback(_EMPTY, *kept)
                    else:
                        meta = _Meta()
                        meta.line, meta.column, meta.end_line, meta.end_column = extent
                        value = callback(meta, *kept)
                if red.condition:
                    d = max([depth.get(id(k), 0) for k in kept])
                    if red.nesting:
                        d += 1
                        if d > limit:
                            return None
                    depth[id(value)] = d
                state_stack.append(states[state_stack[-1]][red.goto][1])
                values.append(value)
                extents.append(extent)
                if type_ == "$END" and state_stack[-1] == end_state:
                    return values[-1]
                action_table = states[state_stack[-1]]
            if type_ == "$END":  # pragma: no cover - the table accepts by reducing
                return None
            state_stack.append(arg)
            n = len(value_text)
            column = start_pos - line_start + 1
            values.append((type_, value_text, start_pos, line, column))
            extents.append((line, column, line, column + n))


def _comments_in(
    text: str, start: int, stop: int, line: int, line_start: int, out: list[tuple[str, int, int]]
) -> None:
    """The comments in ``text[start:stop]``, ignored text between two tokens.

    ``line`` is the line of ``start`` and ``line_start`` that line's offset.
    Ignored text is spaces and comments, so a ``#`` in it starts a comment,
    which runs to the end of its line.
    """
    i = text.find("#", start, stop)
    while i >= 0:
        newlines = text.count("\n", start, i)
        if newlines:
            line += newlines
            line_start = text.rindex("\n", start, i) + 1
        j = text.find("\n", i, stop)
        if j < 0:
            j = stop
        out.append((text[i:j], line, i - line_start + 1))
        start = j
        i = text.find("#", j, stop)
