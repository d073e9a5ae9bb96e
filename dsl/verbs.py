"""The action verbs of the language and what each takes.

One text per verb, for every message about an action's shape: the
checker's (an action written with another verb's shape, R214) and the
parser's (an action whose shape the grammar does not know, R214; a verb that
is none of these, R202).
"""

from __future__ import annotations

__all__ = ["ACTIONS"]

#: Action verbs and what follows each.
ACTIONS = {
    "discount": "a percentage (10%) or an amount with its currency (5.00 EUR), then a quoted text",
    "free": "shipping, then a quoted text, e.g. 'free shipping \"Free shipping over 50\"'",
    "buy": "a count, then 'get N free' or 'for N', e.g. 'buy 2 get 1 free on items \"3 for 2\"'",
    "add": "label NAME to ENTITY",
    "remove": "label NAME from ENTITY",
    "set": "ENTITY FIELD to VALUE, e.g. 'set order status to confirmed'",
    "show": "the listed entity, e.g. 'show price'",
    "hide": "the listed entity, e.g. 'hide price'",
}
