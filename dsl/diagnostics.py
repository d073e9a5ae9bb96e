"""Diagnostics: stable codes, the :class:`Diagnostic` value and error classes.

Codes are grouped: ``R0xx`` usage (a command's input as a whole), ``R1xx``
syntax and input, ``R2xx`` names and types, ``R3xx`` semantics, ``R4xx``
runtime. A code keeps its meaning forever;
``docs/diagnostics.md`` has a bad and a fixed example of each.
"""

from __future__ import annotations

from typing import Literal

from attrs import field, frozen

from rulec.dsl.nodes import Span

__all__ = [
    "CODES",
    "Diagnostic",
    "RuleRuntimeError",
    "RulesCheckError",
    "RulesError",
    "RulesSyntaxError",
    "Severity",
    "has_errors",
]

Severity = Literal["error", "warning"]

#: Every code the tool can emit, with its default severity and a short title.
CODES: dict[str, tuple[Severity, str]] = {
    # R0xx: usage (reported by a command, in the format asked for, with exit 2)
    "R001": ("error", "no rule files to read"),
    # R1xx: syntax and input
    "R100": ("error", "syntax error"),
    "R101": ("error", "unexpected character"),
    "R102": ("error", "file is not valid UTF-8"),
    "R103": ("error", "missing 'then' before the actions"),
    "R104": ("error", "missing '%' or currency after an amount"),
    "R105": ("error", "description is not quoted"),
    "R106": ("error", "unterminated string"),
    "R107": ("error", "unexpected end of file"),
    "R108": ("error", "invalid escape sequence in a string"),
    "R110": ("error", "file too large"),
    "R111": ("error", "nesting too deep"),
    "R112": ("error", "too many rules"),
    "R113": ("error", "too many syntax errors"),
    "R114": ("error", "name too long"),
    "R115": ("error", "character pasted from a document"),
    "R116": ("error", "currency symbol instead of a code"),
    "R117": ("error", "operator of another language"),
    "R118": ("error", "keyword in other capitals or misspelt"),
    "R119": ("error", "wording the language does not use"),
    "R120": ("error", "number written as elsewhere"),
    "R121": ("error", "name written as two words"),
    # R2xx: names and types
    "R201": ("error", "unknown event"),
    "R202": ("error", "unknown action"),
    "R203": ("error", "unknown entity"),
    "R204": ("error", "unknown field"),
    "R205": ("error", "unknown operator"),
    "R206": ("error", "type mismatch"),
    "R207": ("error", "invalid date or time"),
    "R208": ("error", "unknown time zone"),
    "R209": ("error", "unknown currency"),
    "R210": ("error", "undeclared label"),
    "R211": ("warning", "labels are not declared"),
    "R212": ("error", "label declared for another entity"),
    "R213": ("error", "entity has no labels"),
    "R214": ("error", "malformed action"),
    "R215": ("error", "entity not available for this event"),
    "R216": ("error", "action not available for this event"),
    "R217": ("error", "scheduled event without a valid subject"),
    "R218": ("error", "list entity used without 'any', or 'any' on a single entity"),
    "R219": ("error", "value not among the field's values"),
    "R220": ("error", "entity cannot be compared as a whole"),
    "R230": ("error", "entity has no coupon codes"),
    "R231": ("error", "not a coupon code"),
    "R232": ("error", "unknown coupon family"),
    "R233": ("error", "coupon family declared twice"),
    "R234": ("error", "not a coupon code pattern"),
    "R235": ("warning", "coupon family member listed twice or covered by a prefix"),
    "R236": ("warning", "coupon family not tested by any rule"),
    "R240": ("error", "undeclared stacking group"),
    # R3xx: semantics
    "R301": ("error", "percentage out of range"),
    "R302": ("error", "amount must be positive"),
    "R303": ("error", "cap must be positive"),
    "R304": ("error", "duplicate rule name"),
    "R305": ("error", "validity window ends before it starts"),
    "R306": ("error", "between bounds are reversed"),
    "R307": ("warning", "rule can never fire"),
    "R308": ("warning", "duplicate label declaration"),
    "R309": ("error", "conflicting rule settings"),
    "R310": ("warning", "label both added and removed"),
    "R311": ("warning", "condition never holds when an optional entity is missing"),
    "R312": ("warning", "'and' and 'or' mixed without parentheses"),
    "R313": ("warning", "amount compared without its currency"),
    "R314": ("warning", "time zone written as an abbreviation or a legacy name"),
    # R320 to R326: deep lint (rulec check; rulec.tools.deeplint)
    "R320": ("warning", "rule can never win"),
    "R321": ("warning", "rules conflict"),
    "R322": ("warning", "validity window already closed"),
    "R323": ("warning", "label declared but never used"),
    "R324": ("warning", "label in the database not declared"),
    "R325": ("warning", "declared label missing from the database"),
    "R326": ("warning", "deep lint stopped at its limit"),
    # R332 to R338: usage limits and budgets (R330, R331 reserved)
    "R332": ("error", "usage limit is not a whole number above zero"),
    "R333": ("error", "budget must be above zero"),
    "R334": ("error", "usage limit per something other than a customer or a code"),
    "R335": ("error", "usage limit on a rule without a discount"),
    "R336": ("warning", "uses given back without a limit"),
    "R337": ("warning", "limit per customer never binds"),
    "R338": ("error", "limit per code on a rule that tests no code"),
    "R340": ("error", "a test's given is not a plain fact"),
    "R341": ("error", "duplicate test name"),
    "R342": ("error", "test names an unknown rule"),
    "R343": ("error", "unknown coupon outcome in a test"),
    "R344": ("error", "a test refuses a rule a use it cannot be refused"),
    "R350": ("error", "tiers do not go up"),
    "R351": ("error", "buy counts are not whole numbers above zero"),
    "R352": ("error", "cap per line on a discount of the whole order"),
    "R353": ("warning", "higher tier gives less"),
    # R360 to R362: stacking groups
    "R360": ("error", "group declared twice"),
    "R361": ("error", "groups after each other in a circle"),
    "R362": ("warning", "group without a rule"),
    # R4xx: runtime (reported by the engine)
    "R401": ("error", "rule failed at run time"),
}


@frozen
class Diagnostic:
    """One problem found in a rule file."""

    code: str = field()
    message: str
    span: Span
    severity: Severity = "error"
    suggestion: str | None = None
    #: The source line the span starts on, for display (may be shortened).
    source_line: str | None = field(default=None, eq=False, repr=False)

    @code.validator
    def _known(self, _attr: object, value: str) -> None:
        if value not in CODES:
            raise ValueError(f"unknown diagnostic code {value!r}")

    def check_tuple(self) -> tuple[str, int, int]:
        """``(code, line, column)``: short enough for a test to assert on."""
        return (self.code, self.span.line, self.span.column)

    @property
    def full_message(self) -> str:
        """The message with the suggestion appended, as users read it."""
        if self.suggestion:
            return f"{self.message}; {self.suggestion}"
        return self.message

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.span.file,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "code": self.code,
            "severity": self.severity,
            "message": self.full_message,
        }


def has_errors(diagnostics: object) -> bool:
    return any(d.severity == "error" for d in diagnostics)  # type: ignore[attr-defined]


class RulesError(Exception):
    """Base of every error the rulec library raises."""


class _WithDiagnostics(RulesError):
    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> None:
        self.diagnostics = tuple(diagnostics)
        first = self.diagnostics[0] if self.diagnostics else None
        text = f"{first.span}: {first.code} {first.full_message}" if first else "invalid rules"
        more = len([d for d in self.diagnostics if d.severity == "error"]) - 1
        if more > 0:
            text += f" (and {more} more error{'s' if more > 1 else ''})"
        super().__init__(text)


class RulesSyntaxError(_WithDiagnostics):
    """The text could not be parsed. ``.diagnostics`` holds the syntax errors."""


class RulesCheckError(_WithDiagnostics):
    """The rules parsed but did not check. ``.diagnostics`` holds all of them."""


class RuleRuntimeError(RulesError):
    """A rule raised while it was evaluated."""

    def __init__(self, rule: str, span: Span | None, message: str) -> None:
        self.rule = rule
        self.span = span
        super().__init__(f"{span}: rule {rule!r} failed: {message}" if span else message)
