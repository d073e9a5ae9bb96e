"""What each keyword of the language means, for hover and completion.

The keywords themselves come from the grammar (:func:`rulec.dsl.parser.keywords`);
this table only explains them, and a test holds it to exactly that list, so a
keyword added to the grammar without a text here fails the tests rather than
going unexplained.
"""

from __future__ import annotations

from rulec.dsl.parser import keywords

__all__ = ["KEYWORD_DOCS", "keyword_doc", "keywords"]

#: Keyword → one or two sentences in the words of docs/language.md, and an example.
KEYWORD_DOCS: dict[str, tuple[str, str]] = {
    "amount": (
        "In a test, `expect amount N [CURRENCY]`: the order's discount amount.",
        "expect amount 12.00 EUR",
    ),
    "and": (
        "Both conditions must hold; also separates actions. `and` binds tighter than `or`; "
        "mixing them without parentheses warns (R312).",
        "when customer has label Customer_VIP and order subtotal >= 50.00",
    ),
    "any": (
        "A condition on a list entity (an order's items) holds when it holds for one of them; "
        "after `has`/`lacks`, `any label of` takes a list of labels.",
        "when any item has label Fragile",
    ),
    "applied": (
        'In a test, `expect applied "RULE"`: the rule applied (`expect not applied` for '
        "the opposite).",
        'expect applied "VIP New Order Discount"',
    ),
    "at": (
        "In a test, `at DATE`: the moment validity windows are judged at.",
        "at 2026-04-01 10:00 Europe/Paris",
    ),
    "between": (
        "A field between two values, both included (`not between` for outside them).",
        "when order subtotal between 50.00 and 100.00",
    ),
    "combinable": (
        "A block rule setting: this rule's discount may be added on top of other "
        "combinable discounts.",
        'rule "Newsletter bonus"\n  combinable\n  …\nend',
    ),
    "coupon": (
        "`order has coupon CODE`: the customer entered the code on the order (case does "
        "not matter); `order lacks coupon CODE`: they did not; `order has coupon in FAMILY`: "
        "one of a `coupon family`'s codes.",
        'when order has coupon "SPRING10"',
    ),
    "family": (
        '`coupon family NAME is "CODE", "PREFIX-*"`: codes named once per rule set (a '
        "trailing `*` takes every code that starts with the prefix); rules test them with "
        "`order has coupon in NAME`.",
        'coupon family Partner is "PARTNER-*", "FRIENDS"',
    ),
    "description": (
        "A block rule setting: a longer text for people (reports, the admin); in a test, "
        '`expect description "TEXT"`: the order\'s discount description.',
        'description "A small thank-you on a customer\'s very first order"',
    ),
    "disabled": (
        "A block rule setting: the rule is checked and compiled but never applied.",
        'rule "Summer sale"\n  disabled\n  …\nend',
    ),
    "discount": (
        "In a test, `expect no discount`: no discount applied. Elsewhere `discount` is the "
        'discount action (`discount 10% "…"`, `discount 5.00 EUR "…"`).',
        "expect no discount",
    ),
    "enabled": (
        "A block rule setting: the rule is enabled (the default; writing it changes nothing).",
        'rule "Spring"\n  enabled\n  …\nend',
    ),
    "end": ('Ends a block rule (`rule "…" … end`) or a test.', 'rule "Spring"\n  …\nend'),
    "exclusive": (
        "A block rule setting: when this rule's discount applies, no other discount does.",
        'rule "VIP price"\n  exclusive\n  …\nend',
    ),
    "expect": (
        "In a test, what the decision must be: `applied`, `lost`, `not applied`, `amount`, "
        "`total`, `description`, `no discount`, an action or `no` ACTION.",
        "expect total 108.00 EUR",
    ),
    "for": (
        "In a label declaration, the entity the labels are for; after a scheduled event, "
        "the subject it runs over.",
        "label Customer_VIP for customer\non daily for customer …",
    ),
    "free": (
        "In `buy N get M free`: of every N + M matching units, M are free (the cheapest), "
        'as often as the basket allows. `free shipping "…"` takes the whole shipping '
        "charge off.",
        'buy 2 get 1 free on items with label Socks "3 for 2"',
    ),
    "from": (
        "A block rule's validity window starts (`from START until END`); in "
        "`remove label NAME from ENTITY`, the entity; in a tiered discount, a tier's "
        "threshold (`10.00 EUR from 100.00 EUR`).",
        "from 2026-11-27 until 2026-11-30 Europe/Paris",
    ),
    "get": (
        "In `buy N get M free`: how many units are free in every group.",
        'buy 2 get 1 free on items "3 for 2"',
    ),
    "given": (
        "In a test, facts of the example order, as conditions that hold.",
        "given customer has label Customer_VIP",
    ),
    "has": (
        "`ENTITY has label NAME`: the entity carries the label; `has any label of A, B`: "
        "one of them.",
        "when customer has label Customer_VIP",
    ),
    "in": (
        "A field is one of a list of values (`not in` for none of them); in a block rule, "
        "`in group NAME` puts the rule in a stacking group; "
        "`order has coupon in FAMILY`: a code of a coupon family.",
        "when order currency in (EUR, USD)",
    ),
    "is": (
        "A field or an entity equals a value (`is not` for the opposite); for a text, a name "
        "or a yes/no value.",
        "when order status is paid",
    ),
    "item": (
        "In `discount AMOUNT CURRENCY per item`: that amount off every unit of the lines.",
        'discount 2.00 EUR per item on items with label Socks "Socks deal"',
    ),
    "limit": (
        "A block rule setting: how often the rule may apply, in all (`limit 100 uses`), "
        "per customer (`limit 1 use per customer`) or per code entered (`limit 1 use per "
        "code`); claimed atomically with each order.",
        'rule "Spring code"\n  limit 100 uses\n  limit 1 use per customer\n  …\nend',
    ),
    "use": (
        "In a limit: `limit 1 use per customer`.",
        "limit 1 use per customer",
    ),
    "uses": (
        "In a limit (`limit 100 uses`), and in `uses given back when cancelled`: a cancelled "
        "order gives its use, and its budget money, back.",
        "uses given back when cancelled",
    ),
    "group": (
        "`group NAME [after G, …]` declares a stacking group: its discounts compete (the "
        "best applies) and stack with other groups'; `after` takes its percentages of what "
        "those groups leave. In a block rule, `in group NAME` puts the rule in it.",
        "group Seasonal after Loyalty",
    ),
    "after": (
        "In `group NAME after G, …`: the group's percentages are of the subtotal less the "
        "discounts of those groups (and of the groups they come after).",
        "group Seasonal after Loyalty",
    ),
    "budget": (
        "A block rule setting: the discount money the rule may give in all, per currency "
        "(`budget 1000.00 EUR`); an order it would overspend is refused the rule.",
        "budget 1000.00 EUR",
    ),
    "back": (
        "In `uses given back when cancelled`: a cancelled order returns its uses.",
        "uses given back when cancelled",
    ),
    "cancelled": (
        "In `uses given back when cancelled`: a cancelled order returns its uses.",
        "uses given back when cancelled",
    ),
    "items": (
        "`on items` (every line) or `on items with label NAME`: the order's lines a discount, "
        "or `buy`, is on. A line's labels are its own and its catalog item's.",
        'discount 20% on items with label Clearance "Clearance sale"',
    ),
    "label": (
        "`label NAME, … for ENTITY` declares labels; in a condition, `has label NAME`; in an "
        "action, `add label NAME to ENTITY`, `remove label NAME from ENTITY`.",
        "label Customer_VIP for customer",
    ),
    "lacks": (
        "`ENTITY lacks label NAME`: the entity does not carry the label.",
        "when customer lacks label Customer_Trial",
    ),
    "line": (
        "In `up to AMOUNT CURRENCY per line`: the cap is on each line's part of a discount "
        "on items (R352 elsewhere).",
        'discount 20% on items up to 5.00 EUR per line "Clearance sale"',
    ),
    "lost": (
        'In a test, `expect lost "RULE" [to "RULE"]`: the rule\'s condition held but it lost.',
        'expect lost "Spring" to "VIP New Order Discount"',
    ),
    "no": (
        "In a test, `expect no discount` or `expect no ACTION`: it did not happen. Elsewhere "
        "`no` is the value no.",
        "expect no add label Loyal to customer",
    ),
    "not": (
        "Negates a condition; also `is not`, `not in`, `not between`, and in a test "
        "`expect not applied`.",
        "when not customer has label Customer_Trial",
    ),
    "of": (
        "In `has any label of A, B`: the labels, one of which is enough.",
        "when customer has any label of Gold, Silver",
    ),
    "on": (
        "Starts a rule (or a test's event): the event it runs on; in a discount, `on items`: "
        "the lines it is on.",
        'on order_created when … then discount 10% "…"',
    ),
    "or": (
        "One of the conditions must hold. Mixing `and` and `or` without parentheses warns (R312).",
        "when customer has label Gold or customer has label Silver",
    ),
    "per": (
        "In `discount AMOUNT CURRENCY per item` (off every unit) and `up to AMOUNT CURRENCY "
        "per line` (a cap on each line's part).",
        'discount 2.00 EUR per item on items with label Socks "Socks deal"',
    ),
    "priority": (
        "A block rule setting: a whole number; a higher number is considered first (default 0).",
        'rule "Big basket"\n  priority 20\n  …\nend',
    ),
    "rule": (
        "Starts a named block rule with settings, one clause a line, up to `end`.",
        'rule "Black Friday VIP"\n  priority 10\n  on order_created\n  then discount 15% "…"\nend',
    ),
    "test": (
        "Starts a test: an example order and what its decision must be (`rulec test`).",
        'test "a VIP gets 10%"\n  on order_created\n  given …\n  expect …\nend',
    ),
    "then": (
        "Separates a rule's conditions from its actions.",
        'on order_created then discount 1% "Clearance"',
    ),
    "to": (
        "In `add label NAME to ENTITY`, `set ENTITY FIELD to VALUE`, a cap `up to AMOUNT "
        'CURRENCY`, and a test\'s `expect lost "A" to "B"`.',
        "add label Loyal to customer",
    ),
    "shipping": (
        'Off the order\'s shipping charge, apart from its discounts: `free shipping "…"` '
        '(all of it), `discount 50% on shipping "…"`, `discount 4.95 EUR on shipping "…"`; '
        "in a test, `expect shipping discount N [CURRENCY]`.",
        'free shipping "Free shipping over 50"',
    ),
    "total": (
        "In a test, `expect total N [CURRENCY]`: the order's total (its shipping, less the "
        "shipping discount, included).",
        "expect total 108.00 EUR",
    ),
    "until": (
        "A block rule's validity window ends (`until END`, or `from START until END`).",
        "until 2026-12-31 Europe/Paris",
    ),
    "up": (
        "`up to AMOUNT CURRENCY` caps a percentage discount.",
        'discount 15% up to 30.00 EUR "Black Friday VIP"',
    ),
    "when": ("Starts a rule's conditions.", "on order_created when order subtotal >= 50.00 then …"),
    "with": (
        "In `on items with label NAME`: only the lines whose item has that label.",
        'discount 20% on items with label Clearance "Clearance sale"',
    ),
}


def keyword_doc(word: str) -> str | None:
    """The hover text of a keyword (markdown), or None when ``word`` is none."""
    found = KEYWORD_DOCS.get(word)
    if found is None or word not in keywords():
        return None
    text, example = found
    return f"**{word}** (keyword)\n\n{text}\n\n```rules\n{example}\n```"
