"""The checker: an ordered list of named stages that turn parsed rules into diagnostics.

Every stage walks the rule set and adds diagnostics through
:meth:`Context.report`; none stops at the first problem. The checker is
handed a :class:`Vocabulary` value and knows nothing of databases or of the
engine. One module per family of stages:

* :mod:`.limits`: rule count and name lengths (R112, R114);
* :mod:`.families`: coupon code families declared once, of valid members,
  each tested (R233 to R236);
* :mod:`.names`: label declarations, events, entities, fields, operators,
  labels and action verbs (R2xx);
* :mod:`.types`: values against their fields' types (R206 to R209, R219, R306), and
  time zones written as abbreviations (R314, a warning);
* :mod:`.actions`: discount amounts, caps and currencies (R301 to R303);
* :mod:`.ruleset`: rule names, settings, windows, labels added and removed
  (R304, R305, R309, R310);
* :mod:`.groups`: stacking groups, declared once and without a cycle, and the
  rules' ``in group`` (R240, R309, R360 to R362);
* :mod:`.tests`: the tests written beside the rules, checked as rules are,
  and their own shape (R340 to R342);
* :mod:`.satisfiability` (R307), :mod:`.optional` (R311), :mod:`.precedence`
  ('and' and 'or' mixed without parentheses, R312) and :mod:`.money` (an
  amount compared without its currency, R313), the lints: they only warn,
  run last and are skipped by ``check(..., lint=False)``.

Deep lint (R320 to R326) is not a stage: it needs the day windows are judged
at and, to confirm each finding with an example order, the engine, which the
dsl may not import. :mod:`.deep` (with :mod:`.implication`, built on R307's
normal form) finds its candidates; ``rulec.tools.deeplint`` confirms them and
is called by ``rulec check`` only, so neither a load nor ``check()`` pays for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from attrs import frozen

from rulec.dsl.check import (
    actions,
    families,
    groups,
    limits,
    money,
    names,
    optional,
    precedence,
    ruleset,
    satisfiability,
    tests,
    types,
    usage,
)
from rulec.dsl.check.context import Context
from rulec.dsl.check.limits import MAX_LABEL_NAME, MAX_RULE_NAME, MAX_RULES
from rulec.dsl.check.names import ACTIONS, OPERATORS, spelled
from rulec.dsl.diagnostics import Diagnostic
from rulec.dsl.nodes import Item, Rule
from rulec.dsl.vocabulary import Vocabulary

__all__ = [
    "ACTIONS",
    "LINT_STAGES",
    "MAX_LABEL_NAME",
    "MAX_RULES",
    "MAX_RULE_NAME",
    "OPERATORS",
    "STAGES",
    "Stage",
    "check",
    "spelled",
]


@frozen
class Stage:
    """One named step of the checker."""

    name: str
    run: Callable[[Context], None]
    #: The stage only ever warns (a lint): ``check(..., lint=False)`` skips it.
    lint: bool = False


#: The checker's stages, in the order they run. A stage may read what an
#: earlier one left in the context (``names`` resolves each rule's event).
STAGES: tuple[Stage, ...] = (
    Stage("limits", limits.stage_limits),
    Stage("declarations", names.stage_declarations),
    Stage("coupon_families", families.stage_families),
    Stage("names", names.stage_names),
    Stage("types", types.stage_types),
    Stage("actions", actions.stage_actions),
    Stage("usage", usage.stage_usage),
    Stage("rule_set", ruleset.stage_rule_set),
    Stage("groups", groups.stage_groups),
    Stage("tests", tests.stage_tests),
    Stage("satisfiability", satisfiability.stage_satisfiability, lint=True),
    Stage("optional", optional.stage_optional, lint=True),
    Stage("precedence", precedence.stage_precedence, lint=True),
    Stage("money", money.stage_money, lint=True),
)

#: The stages that only ever warn (lints: R307, R311, R312, R313). They come last, so no
#: other stage depends on them; loading a rule set, which keeps only errors,
#: skips them (about 40 % of the check of a large file).
LINT_STAGES = frozenset(s for s in STAGES if s.lint)


def check(
    items: Sequence[Item],
    vocabulary: Vocabulary,
    *,
    lint: bool = True,
    file_names: Mapping[str, str] | None = None,
    texts: Mapping[str, str] | None = None,
) -> list[Diagnostic]:
    """Check parsed items (from one or more files) against ``vocabulary``.

    Returns every diagnostic found, sorted by file and position; with
    ``lint=False``, without running :data:`LINT_STAGES` (every error is
    still found, some warnings are not). ``file_names`` maps a file's path to its
    name in the rule set (``Source.name``), which names its one-line rules;
    by default, its base name. ``texts`` maps a file's path to its text, the
    text it was parsed from: messages that rewrite the user's own words
    (R312's two readings of a condition) take them from it.
    """
    ctx = Context(vocabulary, items, file_names=dict(file_names or {}), texts=dict(texts or {}))
    ctx.rules = [i for i in items if isinstance(i, Rule)]
    for stage in STAGES:
        if lint or not stage.lint:
            stage.run(ctx)
    ctx.diagnostics.sort(key=lambda d: (d.span.file, d.span.line, d.span.column, d.code))
    return ctx.diagnostics
