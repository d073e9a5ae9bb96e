"""A loaded rule as data: its record, its actions and its condition.

The loader (``rulec.engine.core.load``) makes these from lowered rules; the
decision core reads them. A condition is a function (``test``, made by its
shape's factory) and the lowered condition it was made from (``lowered``,
for the tracing interpreter); everything else is plain, frozen data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from attrs import field, frozen

from rulec.dsl.lower import Limits
from rulec.dsl.lowered import Condition
from rulec.dsl.shapes import Lowered
from rulec.engine.core.money import payable

__all__ = [
    "DISCOUNTS",
    "Action",
    "BuyGet_",
    "FixedDiscount_",
    "ItemsPercent_",
    "LabelChange_",
    "PerItem_",
    "PercentDiscount_",
    "Rule_",
    "SetField_",
    "ShippingDiscount_",
    "Tier_",
    "Tiered_",
    "Visibility_",
]


@frozen
class PercentDiscount_:
    """``discount 10% [up to 20.00 EUR] "title"``: a percentage of the subtotal."""

    percent: Decimal
    title: str
    cap: Decimal | None = None
    cap_currency: str | None = None

    kind = "percentage"

    def __attrs_post_init__(self) -> None:
        if self.cap is not None and self.cap_currency is not None:
            payable(self.cap, self.cap_currency, "discount cap")  # MoneyError: 20.005 EUR


@frozen
class FixedDiscount_:
    """``discount 5.00 EUR "title"``: a fixed amount, for orders in that currency."""

    amount: Decimal
    currency: str
    title: str

    kind = "fixed"

    def __attrs_post_init__(self) -> None:
        payable(self.amount, self.currency, "discount amount")  # MoneyError: 5.005 EUR


@frozen
class ItemsPercent_:
    """``discount 20% on items [with label L] [up to 5.00 EUR [per line]] "title"``: a
    percentage of each matching line (``label`` None: every line); a cap per line,
    or on the rule's whole discount."""

    percent: Decimal
    title: str
    label: str | None = None
    cap: Decimal | None = None
    cap_currency: str | None = None
    per_line: bool = False

    kind = "line_percentage"

    def __attrs_post_init__(self) -> None:
        if self.cap is not None and self.cap_currency is not None:
            payable(self.cap, self.cap_currency, "discount cap")


@frozen
class PerItem_:
    """``discount 2.00 EUR per item [on items with label L] "title"``: that amount off
    each unit of the matching lines, never more than a line costs."""

    amount: Decimal
    currency: str
    title: str
    label: str | None = None

    kind = "line_fixed"

    def __attrs_post_init__(self) -> None:
        payable(self.amount, self.currency, "discount amount")


@frozen
class BuyGet_:
    """``buy 2 get 1 free [on items with label L] "title"`` (``buy 3 for 2`` is the
    same): of every ``paid + free`` matching units, ``free`` are free, as often as the
    basket allows; the free ones are the cheapest."""

    paid: int
    free: int
    title: str
    label: str | None = None

    kind = "buy_get"


@frozen
class Tier_:
    """One tier: from ``threshold`` (in ``currency``), ``percent`` or ``amount``."""

    threshold: Decimal
    currency: str
    percent: Decimal | None = None
    amount: Decimal | None = None
    amount_currency: str | None = None


@frozen
class Tiered_:
    """``discount 10.00 EUR from 100.00 EUR, 25.00 EUR from 200.00 EUR "title"``: the
    highest tier the order's subtotal reaches applies, to the whole order."""

    title: str
    tiers: tuple[Tier_, ...]

    kind = "tiered"


@frozen
class ShippingDiscount_:
    """``free shipping "title"`` (``percent`` and ``amount`` None: the whole charge),
    ``discount 50% on shipping "title"`` or ``discount 4.95 EUR on shipping "title"``:
    off the order's shipping charge, apart from its discounts (:mod:`.shipping`)."""

    title: str
    percent: Decimal | None = None
    amount: Decimal | None = None
    currency: str | None = None

    @property
    def kind(self) -> str:
        """``free_shipping``, ``shipping_percentage`` or ``shipping_fixed``."""
        if self.percent is not None:
            return "shipping_percentage"
        return "free_shipping" if self.amount is None else "shipping_fixed"

    def __attrs_post_init__(self) -> None:
        if self.amount is not None and self.currency is not None:
            payable(self.amount, self.currency, "discount amount")  # MoneyError: 4.955 EUR


@frozen
class LabelChange_:
    """``add label X to customer`` / ``remove label X from customer``."""

    entity: str
    label: str
    add: bool


@frozen
class SetField_:
    """``set order status to confirmed``."""

    entity: str
    field: str
    value: str


@frozen
class Visibility_:
    """``show price`` / ``hide price`` on a listing event."""

    entity: str
    show: bool


Action = (
    PercentDiscount_
    | FixedDiscount_
    | ItemsPercent_
    | PerItem_
    | BuyGet_
    | Tiered_
    | ShippingDiscount_
    | LabelChange_
    | SetField_
    | Visibility_
)

#: The actions that are discounts (each has a ``title``).
DISCOUNTS = (
    PercentDiscount_,
    FixedDiscount_,
    ItemsPercent_,
    PerItem_,
    BuyGet_,
    Tiered_,
    ShippingDiscount_,
)


@frozen
class Rule_:
    """A loaded rule: its test function, its lowered condition and its actions as data."""

    id: str
    name: str
    file: str
    line: int
    column: int
    event: str
    test: Callable[[Mapping[str, Any]], bool]
    actions: tuple[Action, ...]
    priority: int = 0
    enabled: bool = True
    exclusive: bool = False
    combinable: bool = False
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    description: str | None = None
    #: ``(entity, label)`` pairs of which one must be present, or None (scan).
    labels: tuple[tuple[str, str], ...] | None = None
    #: The facts the rule's condition reads (``"customer.labels"``, …).
    facts: tuple[str, ...] = ()
    #: The line of each action, in the order of ``actions`` (a block rule's
    #: actions may be on other lines than the rule's first).
    action_lines: tuple[int, ...] = ()
    #: The lowered condition ``test`` was made from (None: no condition, it holds).
    lowered: Lowered | None = None
    #: Its usage limits and budgets (claimed by ``rulec.engine.db.limits``), or None.
    limits: Limits | None = None
    #: Its stacking group (``in group X``), or None: the default group.
    group: str | None = None
    #: The groups its group comes after, directly or not, sorted: its percentages
    #: are of the subtotal less their discounts (:mod:`rulec.engine.core.discount`).
    after: tuple[str, ...] = ()
    #: Whether it changes labels or sets fields (worked out from ``actions``).
    effects: bool = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        effects = any(type(a) is LabelChange_ or type(a) is SetField_ for a in self.actions)
        object.__setattr__(self, "effects", effects)  # frozen: set once, here

    @property
    def condition(self) -> Condition | None:
        """The lowered condition as a tree, for ``rulec.dsl.trace.evaluate``."""
        return None if self.lowered is None else self.lowered.condition

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    def valid_at(self, when: datetime | None) -> bool:
        """Whether ``when`` falls in the rule's validity window ``[from, until)``."""
        if when is None:
            return self.valid_from is None and self.valid_until is None
        if self.valid_from is not None and when < self.valid_from:
            return False
        return not (self.valid_until is not None and when >= self.valid_until)
