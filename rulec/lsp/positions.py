"""Between the syntax tree's positions and the editor's.

A :class:`~rulec.dsl.nodes.Span` is 1-based, counted in characters (code
points), with lines ended by ``\\n`` as the parser counts them. The editor
counts from 0, in the code units the client and server agreed on (UTF-16
unless the client offers another): a character outside the Basic
Multilingual Plane is one column for the parser and two for VS Code.
"""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

from rulec.dsl.nodes import Span

__all__ = ["Positions"]


class Positions:
    """The positions of one text, for one client."""

    def __init__(self, text: str, codec: PositionCodec) -> None:
        self.text = text
        self.lines = text.split("\n")
        self._units = [line + "\n" for line in self.lines]
        self.codec = codec

    def line(self, number: int) -> str:
        """Line ``number`` (1-based) without its end; empty past the end of the text."""
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def to_client(self, line: int, column: int) -> types.Position:
        """The editor's position of 1-based ``line``:``column`` (clamped to the text)."""
        line = max(1, min(line, len(self.lines)))
        column = max(1, min(column, len(self.lines[line - 1]) + 1))
        pos = ServerTextPosition(line - 1, column - 1)
        return self.codec.position_to_client_units(self._units, pos)

    def range(self, span: Span) -> types.Range:
        """The editor's range of ``span`` (clamped to the text)."""
        return types.Range(
            self.to_client(span.line, span.column), self.to_client(span.end_line, span.end_column)
        )

    def from_client(self, position: types.Position) -> tuple[int, int]:
        """The 1-based line and column (in characters) of the editor's ``position``."""
        if position.line >= len(self.lines):
            return len(self.lines), len(self.lines[-1]) + 1
        found = self.codec.position_from_client_units(self._units, position)
        return found.line + 1, min(found.character, len(self.lines[found.line])) + 1

    def end(self) -> types.Position:
        """The editor's position at the end of the text."""
        return self.to_client(len(self.lines), len(self.lines[-1]) + 1)

    def whole(self) -> types.Range:
        return types.Range(types.Position(0, 0), self.end())
