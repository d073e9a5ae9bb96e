"""Code objects made from a compiled one: its constants, names and positions replaced.

Most rules of a big rule set share a handful of condition shapes:
``customer has label X`` compiles to the same bytecode whatever X is, and
so does ``order subtotal >= N and customer has label X``. The compiler
compiles the first rule of each shape with ``compile()`` (from ``ast``
nodes, as always) and makes the others' code objects from that one with
``CodeType.replace``, which costs about a microsecond. What differs between
two rules of one shape is replaced:

- the constants (``co_consts``): labels, texts, whole numbers, fact keys;
- the module-level names they read (``co_names``): hoisted Decimals and
  datetimes, ``_k12``;
- the function's name and qualified name (``rule_0042``, and
  ``rule_0042.<locals>.<lambda>`` for an ``any item …`` test);
- the positions: the first line (``co_firstlineno``) and the location
  table (``co_linetable``, CPython's format of ``Objects/locations.md``,
  the same since 3.11), so that a traceback names the rule's own line and
  columns.

Nothing here sees rule text as anything but values: a :class:`Template` puts
the values it is given where the template had its own, and refuses (``of``
returns None) a code object holding a constant, a name or a position it
cannot account for, or whose location table it cannot write back byte for
byte; the compiler then compiles those rules one by one instead.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Sequence
from types import CodeType
from typing import Any

__all__ = ["Template", "pattern"]


def pattern(values: Iterable[Hashable]) -> tuple[int, ...]:
    """Which of ``values`` are equal: each one's rank among the distinct ones, by first use.

    Equality is by type and value, as ``compile()`` merges constants (``1``
    and ``True`` stay apart). Two lists with the same pattern put equal
    values at the same places, so a code object made for one (whose
    constants ``compile()`` merged) fits the other.
    """
    seen: dict[tuple[type, Hashable], int] = {}
    return tuple([seen.setdefault((type(v), v), len(seen)) for v in values])


#: Entries of a decoded location table: (code units, line, end line, column,
#: end column). Lines and columns are indices into the ``lines`` and
#: ``columns`` a template was made with; -1 stands for "none" (a column
#: CPython does not know), and a line of None for an entry with no location.
_Entry = tuple[int, int | None, int, int, int]

#: Marks of the recipe of ``co_consts``: the value of one of the caller's
#: constants (by index), the template's own value, or a nested code object.
_SLOT, _KEEP, _CODE = 0, 1, 2


class Template:
    """A compiled code object, and how to make others like it.

    Made by :meth:`of` from a code object and the values the caller knows
    it holds; :meth:`make` returns a code object that holds other values in
    their place. A template refuses what it cannot account for, so a code
    object it makes differs from the template only where the caller said.
    """

    __slots__ = ("_code", "_consts", "_entries", "_first", "_names", "_suffix", "_tables")

    def __init__(
        self,
        code: CodeType,
        consts: list[tuple[int, Any]],
        names: list[tuple[int, Any]],
        first: int,
        entries: list[_Entry],
        suffix: str,
    ) -> None:
        self._code = code
        self._consts = consts
        self._names = names
        self._first = first
        self._entries = entries
        self._suffix = suffix
        #: Location tables already written, by relative position (see ``make``).
        self._tables: dict[tuple[tuple[int, ...], tuple[int, ...]], bytes] = {}

    @classmethod
    def of(
        cls,
        code: CodeType,
        consts: Sequence[Any],
        names: Sequence[str],
        lines: Sequence[int],
        columns: Sequence[int],
        fixed_names: Collection[str] = (),
    ) -> Template | None:
        """A template of ``code``, or None when ``code`` holds anything unaccounted for.

        ``consts`` are the values that vary from one use of the template to
        the next, as the caller lists them (repeats allowed); every constant
        of ``code`` (and of the code objects nested in it) must be one of
        them, or None. ``names`` likewise for ``co_names``, apart from
        ``fixed_names``. Every line of ``code``'s positions must be one of
        ``lines``, every column one of ``columns``.
        """
        const_index: dict[tuple[type, Any], int] = {}
        for n, v in enumerate(consts):
            const_index.setdefault((type(v), v), n)
        name_index: dict[str, int] = {}
        for n, name in enumerate(names):
            name_index.setdefault(name, n)
        if code.co_qualname != code.co_name:
            return None  # only module-level functions are made by name
        return cls._of(
            code, const_index, name_index, list(lines), list(columns), set(fixed_names), ""
        )

    @classmethod
    def _of(
        cls,
        code: CodeType,
        const_index: dict[tuple[type, Any], int],
        name_index: dict[str, int],
        lines: list[int],
        columns: list[int],
        fixed_names: set[str],
        suffix: str,
    ) -> Template | None:
        recipe: list[tuple[int, Any]] = []
        for c in code.co_consts:
            if isinstance(c, CodeType):
                prefix = code.co_qualname + "."
                if not c.co_qualname.startswith(prefix):
                    return None
                nested = cls._of(
                    c,
                    const_index,
                    name_index,
                    lines,
                    columns,
                    fixed_names,
                    suffix + c.co_qualname[len(code.co_qualname) :],
                )
                if nested is None:
                    return None
                recipe.append((_CODE, nested))
            elif (type(c), c) in const_index:
                recipe.append((_SLOT, const_index[type(c), c]))
            elif c is None:
                recipe.append((_KEEP, c))
            else:
                return None
        names: list[tuple[int, Any]] = []
        for name in code.co_names:
            if name in name_index:
                names.append((_SLOT, name_index[name]))
            elif name in fixed_names:
                names.append((_KEEP, name))
            else:
                return None
        if code.co_firstlineno not in lines:
            return None
        entries = _decode(code.co_linetable, code.co_firstlineno, lines, columns)
        if entries is None:
            return None
        first = lines.index(code.co_firstlineno)
        if _encode(entries, lines, columns, first) != code.co_linetable:
            return None  # a location table this module does not write the same
        return cls(code, recipe, names, first, entries, suffix)

    def make(
        self,
        consts: Sequence[Any],
        names: Sequence[str],
        name: str,
        lines: Sequence[int],
        columns: Sequence[int],
    ) -> CodeType:
        """A code object like the template, holding ``consts``, ``names`` and positions.

        The arguments correspond one to one to those the template was made
        with, and must have the same :func:`pattern` (equal where those were
        equal): the caller's shape key includes the patterns.
        """
        where = (tuple(x - lines[0] for x in lines), tuple(columns))
        return self._make(consts, names, name, lines, columns, where)

    def _make(
        self,
        consts: Sequence[Any],
        names: Sequence[str],
        name: str,
        lines: Sequence[int],
        columns: Sequence[int],
        where: tuple[tuple[int, ...], tuple[int, ...]],
    ) -> CodeType:
        table = self._tables.get(where)
        if table is None:
            table = self._tables[where] = _encode(self._entries, lines, columns, self._first)
        co_consts = []
        for how, value in self._consts:
            if how == _SLOT:
                co_consts.append(consts[value])
            elif how == _KEEP:
                co_consts.append(value)
            else:
                co_consts.append(value._make(consts, names, name, lines, columns, where))
        co_names = tuple(names[value] if how == _SLOT else value for how, value in self._names)
        return self._code.replace(
            co_consts=tuple(co_consts),
            co_names=co_names,
            # a nested function keeps its own name (<lambda>), under the rule's
            co_name=self._code.co_name if self._suffix else name,
            co_qualname=name + self._suffix,
            co_firstlineno=lines[self._first],
            co_linetable=table,
        )


# ------------------------------------------------------- location tables ---
# The format of CPython's Objects/locations.md (3.11 and later): one entry
# per run of code units, a first byte 0b1CCCCLLL (code C, length L + 1), then
# the position in one of five forms. Lines are deltas from the previous
# entry's line (the first from co_firstlineno), columns absolute, 0-based.

_SHORT_MAX = 9  # codes 0-9: short form, same line, column < 80
_ONE_LINE = 10  # codes 10-12: line delta 0-2, columns < 128 in one byte each
_NO_COLUMN = 13
_LONG = 14
_NONE = 15


def _decode(
    table: bytes, first_line: int, lines: list[int], columns: list[int]
) -> list[_Entry] | None:
    """The entries of a location table, lines and columns as indices; None if foreign."""
    out: list[_Entry] = []
    line = first_line
    i = 0
    n = len(table)

    def varint() -> int:
        nonlocal i
        b = table[i]
        i += 1
        value = b & 63
        shift = 0
        while b & 64:
            b = table[i]
            i += 1
            shift += 6
            value |= (b & 63) << shift
        return value

    def svarint() -> int:
        u = varint()
        return -(u >> 1) if u & 1 else u >> 1

    try:
        while i < n:
            head = table[i]
            i += 1
            if not head & 0x80:
                return None
            code = (head >> 3) & 15
            length = (head & 7) + 1
            if code == _NONE:
                out.append((length, None, -1, -1, -1))
                continue
            if code == _LONG:
                line += svarint()
                end_line = line + varint()
                column = varint() - 1
                end_column = varint() - 1
            elif code == _NO_COLUMN:
                line += svarint()
                end_line, column, end_column = line, -1, -1
            elif code >= _ONE_LINE:
                line += code - _ONE_LINE
                end_line, column, end_column = line, table[i], table[i + 1]
                i += 2
            else:
                second = table[i]
                i += 1
                end_line = line
                column = code * 8 + ((second >> 4) & 7)
                end_column = column + (second & 15)
            if line not in lines or end_line not in lines:
                return None
            if (column != -1 and column not in columns) or (
                end_column != -1 and end_column not in columns
            ):
                return None
            out.append(
                (
                    length,
                    lines.index(line),
                    lines.index(end_line),
                    -1 if column == -1 else columns.index(column),
                    -1 if end_column == -1 else columns.index(end_column),
                )
            )
    except IndexError:  # a truncated entry
        return None
    return out


def _encode(
    entries: list[_Entry], lines: Sequence[int], columns: Sequence[int], first: int
) -> bytes:
    """A location table for ``entries`` at ``lines`` and ``columns``, as CPython writes it.

    The form of each entry is chosen as ``compile()`` chooses it
    (``write_location_info_entry`` in CPython's compiler), so a table made
    here for a rule equals the one compiling the rule would give.
    """
    out = bytearray()
    previous = lines[first]
    for length, li, eli, ci, eci in entries:
        head = 0x80 | (length - 1)
        if li is None:
            out.append(head | _NONE << 3)
            continue
        line = lines[li]
        end_line = lines[eli]
        column = -1 if ci == -1 else columns[ci]
        end_column = -1 if eci == -1 else columns[eci]
        delta = line - previous
        if column < 0 or end_column < 0:
            if end_line == line:
                out.append(head | _NO_COLUMN << 3)
                _write_svarint(out, delta)
                previous = line
                continue
        elif end_line == line:
            if delta == 0 and column < 80 and 0 <= end_column - column < 16:
                out.append(head | (column >> 3) << 3)
                out.append((column & 7) << 4 | (end_column - column))
                continue
            if 0 <= delta < 3 and column < 128 and end_column < 128:
                out.append(head | (_ONE_LINE + delta) << 3)
                out.append(column)
                out.append(end_column)
                previous = line
                continue
        out.append(head | _LONG << 3)
        _write_svarint(out, delta)
        _write_varint(out, end_line - line)
        _write_varint(out, column + 1)
        _write_varint(out, end_column + 1)
        previous = line
    return bytes(out)


def _write_varint(out: bytearray, value: int) -> None:
    while value >= 64:
        out.append(64 | (value & 63))
        value >>= 6
    out.append(value)


def _write_svarint(out: bytearray, value: int) -> None:
    _write_varint(out, (-value) << 1 | 1 if value < 0 else value << 1)
