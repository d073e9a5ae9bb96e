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

It reports no syntax errors itself. A run (:meth:`Driver.run`) parses a
region of the text item by item (``start: _item*``: declarations, rules,
blocks) and stops at the first token the table rejects, or at a character
no terminal matches; it says where each item began, how many of the
transformer's diagnostics and of the comments came before it, which items
are nested too deep, and where it stopped. The parser
(:mod:`rulec.dsl.parser`) hands only the region around a failure to the
Lark parser, which reports the problem, and resumes here after it.
``tests/dsl/test_fastparse.py`` checks that both give the same items,
positions, comments and diagnostics, on the golden files and on generated,
mutated and damaged rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lark import Lark, Token
from lark.lexer import PatternStr, UnlessCallback
from lark.parsers.lalr_analysis import Shift

__all__ = ["Driver", "Run"]

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
        "items",
        "keep",
        "name",
        "nesting",
        "one_token",
        "passthrough",
        "size",
        "splice",
    )

    def __init__(self, rule: Any, items: str | None) -> None:
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
        #: reduces the list of a file's items: the next token starts an item
        self.items = self.splice and rule.origin.name == items
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
    """Parses with a Lark LALR parser's tables, reducing into the AST, up to a syntax error."""

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
        items = _items_rule(lark.rules)
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
                        reductions[arg] = _Reduction(arg, items)
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

    def run(
        self,
        text: str,
        transformer: Any,
        max_nesting: int,
        comments: list[tuple[str, int, int]] | None = None,
        start: int = 0,
        stop: int | None = None,
    ) -> Run:
        """Parse ``text[start:stop]`` as a file of its own, up to its first syntax error.

        The text outside the region is as if blank: positions are the
        file's. ``max_nesting`` bounds the or/not levels below an item's top
        condition; a deeper item is parsed and marked (:attr:`Run.deep`).
        ``comments``, when given, receives each comment's ``(text, line,
        column)`` in the order of the file (the text as Lark's token has it),
        up to where the run stopped.
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
        diagnostics: list[Any] = transformer.diagnostics

        state_stack: list[Any] = [self.start]
        values: list[Any] = []
        extents: list[tuple[int, int, int, int] | None] = []
        result = Run(start)
        starts, diagnostic_marks, comment_marks = (
            result.starts,
            result.diagnostic_marks,
            result.comment_marks,
        )
        # the next token to shift starts an item
        item_start = True

        pos = start
        end = len(text) if stop is None else stop
        line = text.count("\n", 0, pos) + 1
        line_start = text.rfind("\n", 0, pos) + 1
        value_text = ""
        # the next '#' at or after pos (end + 1: none, or comments not wanted):
        # one comparison per token instead of a search of every gap
        if self.comment is None:
            comments = None
        hash_at = text.find("#", pos, end) if comments is not None else -1
        if hash_at < 0:
            hash_at = end + 1
        while True:
            state = state_stack[-1]
            if pos < end:
                scanner = scanners[state]
                m = scanner.regex.match(text, pos, end)
                if m is None:
                    # only spaces and comments left, or a character no terminal takes
                    if scanner.rest.fullmatch(text, pos, end) is None:
                        return result.stopped(
                            values, state_stack, scanner.rest.match(text, pos, end)
                        )
                    if hash_at < end and comments is not None:
                        _comments_in(text, pos, end, line, line_start, comments)
                    pos = start_pos = end
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
                        hash_at = text.find("#", pos, end)
                        if hash_at < 0:
                            hash_at = end + 1
                    value_text = m.group(type_)  # type: ignore[arg-type]
                    if "\n" in value_text:  # pragma: no cover - tokens are one line long
                        return result.stopped(values, state_stack, start_pos)
                    words = scanner.keywords.get(type_)  # type: ignore[arg-type]
                    if words is not None:
                        type_ = words.get(value_text, type_)
            else:
                type_ = "$END"
                start_pos = end
            action_table = states[state]
            # reduce as long as the table says so, then shift the token
            while True:
                step = action_table.get(type_)  # type: ignore[arg-type]
                if step is None:
                    return result.stopped(values, state_stack, start_pos)
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
                        t, v, tok_start, ln, col = kids[i]
                        n = len(v)
                        kept.append(new_token(t, v, tok_start, ln, col, ln, col + n, tok_start + n))
                if red.splice:
                    value: Any = kept
                    if red.items:  # an item is complete: the next token starts one
                        item_start = True
                elif red.expand1 and len(kept) == 1:
                    value = kept[0]
                else:
                    callback = callbacks[red.name]
                    if callback is None:  # pragma: no cover - every rule has a method
                        return result.stopped(values, state_stack, start_pos)
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
                            result.deep.add(len(starts) - 1)
                    depth[id(value)] = d
                state_stack.append(states[state_stack[-1]][red.goto][1])
                values.append(value)
                extents.append(extent)
                if type_ == "$END" and state_stack[-1] == end_state:
                    result.items = values[-1]
                    return result
                action_table = states[state_stack[-1]]
            if type_ == "$END":  # pragma: no cover - the table accepts by reducing
                return result.stopped(values, state_stack, start_pos)
            if item_start:
                item_start = False
                starts.append(start_pos)
                diagnostic_marks.append(len(diagnostics))
                comment_marks.append(len(comments) if comments is not None else 0)
            state_stack.append(arg)
            n = len(value_text)
            column = start_pos - line_start + 1
            values.append((type_, value_text, start_pos, line, column))
            extents.append((line, column, line, column + n))


class Run:
    """What one :meth:`Driver.run` parsed: its items, and where it stopped if it did.

    ``starts[i]`` is the offset of item ``i``'s first token;
    ``diagnostic_marks[i]`` and ``comment_marks[i]`` are how many of the
    transformer's diagnostics and of the comments came before that token (so
    ``diagnostics[marks[i]:marks[i + 1]]`` are item ``i``'s own). After a
    syntax error, the item it is in is not among :attr:`items` but has a
    start (the last), unless the error is at the region's first token.
    """

    __slots__ = (
        "comment_marks",
        "deep",
        "diagnostic_marks",
        "failed_at",
        "items",
        "start",
        "starts",
    )

    def __init__(self, start: int) -> None:
        #: where the region begins
        self.start = start
        #: the items parsed, whole (the deep ones too)
        self.items: list[Any] = []
        self.starts: list[int] = []
        self.diagnostic_marks: list[int] = []
        self.comment_marks: list[int] = []
        #: the indexes of the items nested deeper than the limit
        self.deep: set[int] = set()
        #: None when the region parsed to its end; else the offset of the token
        #: the table rejects, of the character no terminal takes, or of the
        #: region's end where more was expected
        self.failed_at: int | None = None

    def stopped(self, values: list[Any], state_stack: list[Any], at: Any) -> Run:
        """This run, stopped by a syntax error at ``at`` (an offset, or the match
        of the ignored text before a character no terminal takes)."""
        self.failed_at = at if isinstance(at, int) else at.end()
        # the items parsed so far are the list on the bottom of the stack,
        # once the first one is complete (the items' rule is left-recursive)
        if len(state_stack) > 1 and isinstance(values[0], _Splice):
            self.items = values[0]
        return self


def _items_rule(rules: Any) -> str:
    """The name of the rule that lists a file's items (``start: _item*``).

    The driver notes where each item starts, so the grammar's start rule
    must be a list of items: ``start: X`` (and empty), ``X: _item | X _item``.
    """
    starts = [r for r in rules if r.origin.name == "start"]
    lists = [r.expansion[0].name for r in starts if len(r.expansion) == 1]
    if len(lists) != 1 or any(len(r.expansion) > 1 for r in starts):
        raise _Unsupported("the start rule is not a list of items")
    name = str(lists[0])
    grows = [r for r in rules if r.origin.name == name]
    shapes = sorted(len(r.expansion) for r in grows)
    if (
        not name.startswith("_")
        or shapes != [1, 2]
        or not any(r.expansion[0].name == name for r in grows)
    ):
        raise _Unsupported("the start rule is not a list of items")
    return name


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
