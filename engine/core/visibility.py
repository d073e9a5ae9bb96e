"""The visibility policy: which prices, items or services a viewer may see.

A listing event (``price_listed``, ``item_listed``, ``service_listed``) is
fired once per candidate, conceptually; here it is decided for a whole list
at once. Its rules ``show`` or ``hide`` the candidate::

    label Season_2027 for price
    on price_listed when price has label Season_2027 and viewer wedding year != 2027
      then hide price

**The decision for one candidate.**

1. The rules that can decide are the enabled rules of the event with a
   ``show``/``hide`` action for the candidate, whose validity window holds
   at ``now`` (by default the current UTC time).
2. Of those whose conditions hold, the one with the highest ``priority``
   decides.
3. At equal priority ``hide`` wins over ``show`` (deny overrides); a rule
   with both actions hides.
4. When no rule decides, the candidate is **shown**: listings are open by
   default, and a rule set without listing rules hides nothing.
5. A rule that raises is reported in the verdict's ``errors``. If it is a
   ``hide`` rule, the candidate is hidden (what an eligibility rule guards
   must not leak because the rule could not be evaluated); a ``show`` rule
   that raises is skipped. ``raise_errors=True`` raises RuleRuntimeError.

The deciding rules are tried in that order by the one candidate loop
(:mod:`rulec.engine.core.match`), found through the labels of the candidate
and of the shared entities like any event's rules, and the first that holds
decides. :mod:`rulec.engine.core.listing` decides a whole list from plain
facts, ``rulec.engine.db.listing`` from the database.
"""

from __future__ import annotations

from collections.abc import Sequence

from rulec.engine.core.decision import RuleFailure, Verdict
from rulec.engine.core.rules import Rule_, Visibility_

__all__ = ["deciding", "hides", "rank", "verdict_of"]


def _votes(rule: Rule_, subject: str) -> list[bool]:
    return [a.show for a in rule.actions if isinstance(a, Visibility_) and a.entity == subject]


def deciding(rule: Rule_, subject: str) -> bool:
    """Whether ``rule`` can decide a ``subject`` candidate: it shows or hides one."""
    return bool(_votes(rule, subject))


def hides(rule: Rule_, subject: str) -> bool:
    """Whether ``rule`` hides the candidate (a rule that both shows and hides hides)."""
    return not all(_votes(rule, subject))


def rank(rule: Rule_, position: int, subject: str) -> tuple[int, bool, int]:
    """The order of 2 and 3: priority (higher first), hide before show, source order."""
    return (-rule.priority, not hides(rule, subject), position)


_SHOWN = Verdict(True)


def verdict_of(held: Sequence[Rule_], failures: Sequence[RuleFailure], subject: str) -> Verdict:
    """The verdict, from the rules that held in decision order (a ``hide`` rule that
    raised among them: it fails closed) and the failures met on the way."""
    errors = tuple(failures)
    if not held:
        return Verdict(True, errors=errors) if errors else _SHOWN
    r = held[0]
    return Verdict(not hides(r, subject), r.name, r.file, r.line, errors)
