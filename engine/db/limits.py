"""Usage limits and budgets, claimed atomically in the order's own transaction.

A rule with ``limit 100 uses``, ``limit 1 use per customer`` or ``budget
1000.00 EUR`` may apply to an order only when it can claim a use. After
:func:`~rulec.engine.core.decide.decide`, :func:`enforce` claims one for
each applied rule with limits:

* a counter row per rule and scope (``total``, ``customer:KEY``,
  ``code:CODE``, ``budget:EUR``) is made if missing (``INSERT … ON CONFLICT DO NOTHING``),
  then moved by one conditional ``UPDATE`` (``SET used = used + 1 WHERE used
  < :limit``; ``SET spent_minor = spent_minor + :amount WHERE spent_minor +
  :amount <= :budget``, money in minor units, exact on every database). The
  database's row lock makes concurrent orders wait for each other on the
  row, and the ``WHERE`` is judged on the row as the one before left it: a
  limit is never exceeded. A rowcount of 0 is a refusal;
* when one claim fails, the moves the order made in this round are undone
  (in the same transaction, on rows it holds locked), the order is decided again with the
  refused rule named (``refused``: it is recorded as lost, and its coupon
  code gets ``limit_reached``, ``customer_limit_reached``,
  ``code_limit_reached`` or ``budget_spent``), and the claims are made
  again, until every claim holds;
* a claim row per (order, rule) records what was counted, so that deciding
  the order again claims nothing twice, and a decision that no longer applies
  the rule gives its use back;
* nothing commits: the counters are in the caller's transaction, so an
  order rolled back consumes nothing.

Rows of counters and claims sit in the reference models' ``usage_counters``
and ``usage_claims`` or, for a backend's own models (``Binding.records ==
"owned"``), in rulec's ``rulec_usage_counters`` and ``rulec_usage_claims``.
A rule's counters are kept by its name: renaming a rule starts its counts
afresh, editing anything else keeps them.

A cancelled order (its status set to ``cancelled``) gives back the uses and
money of the rules that say ``uses given back when cancelled``
(:func:`give_back`); the others keep theirs. A cancelled order decided again
claims nothing new and keeps what it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, Table, and_, delete, insert, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from rulec.dsl.currencies import MINOR_UNITS
from rulec.dsl.lower import Limits
from rulec.engine.core.coupons import (
    Refusal,
    budget_spent,
    code_limit_reached,
    customer_limit_reached,
    limit_reached,
    unlocking,
)
from rulec.engine.core.decision import Decision
from rulec.engine.core.rules import Rule_
from rulec.engine.db.facts.binding import Binding
from rulec.engine.db.records import later
from rulec.storage.models import UsageClaim, UsageCounter
from rulec.storage.owned import RuleUsageClaim, RuleUsageCounter

__all__ = [
    "CANCELLED",
    "Claim",
    "claims_of",
    "enforce",
    "forget_pending",
    "give_back",
    "preview",
    "usage",
]

#: The statuses of a cancelled order.
CANCELLED = frozenset({"cancelled", "canceled"})

#: ``session.info`` key: uses claimed in this flush by customers not stored yet.
_PENDING = "rulec.limits.pending_customers"

#: The most rounds of deciding again: each round refuses one more rule.
_ROUNDS = 1000


@frozen
class Claim:
    """What one order counts against one rule's limits."""

    rule: str
    #: Whether it counts in the rule's total uses.
    total: bool
    #: The customer (key as text) whose uses it counts in, or None.
    customer: str | None
    #: The currency of the budget it takes money from, or None; and how much (minor units).
    currency: str | None
    spent_minor: int
    give_back: bool
    #: The code (upper case) whose uses it counts in (``limit 1 use per code``), or None.
    code: str | None = None


def _tables(b: Binding) -> tuple[Table, Table, str]:
    if b.records == "owned":
        return RuleUsageCounter.__table__, RuleUsageClaim.__table__, "order_key"  # type: ignore[return-value]
    return UsageCounter.__table__, UsageClaim.__table__, "order_id"  # type: ignore[return-value]


def _minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(MINOR_UNITS.get(currency, 2)))


# ------------------------------------------------------------- enforcing --


def _holding(
    session: Session, order: Any, binding: Binding
) -> tuple[Connection, Table, dict[str, Claim]]:
    """A connection in ``session``'s transaction, the counters' table, and the claims
    ``order`` holds (none when it is not stored yet)."""
    counters, claims, key_column = _tables(binding)
    key = binding.o.get(order, "id")
    state = inspect(order)
    new = key is None or bool(state.pending or state.transient)
    conn = session.connection({"mapper": binding.order})
    return conn, counters, {} if new else _held(conn, claims, key_column, key)


def enforce(
    session: Session,
    order: Any,
    decision: Decision,
    limited: Mapping[str, Rule_],
    binding: Binding,
    decide_again: Callable[[Mapping[str, Refusal]], Decision],
) -> Decision:
    """The decision for ``order`` once every applied rule with limits holds its
    claim: ``decision`` itself, or one made again with the refused rules named.

    ``limited``: the rule set's rules with limits, by name; ``decide_again``
    decides the order again with rules refused. Claims are written in
    ``session``'s transaction, never committed.
    """
    if not limited:
        return decision
    conn, counters, held = _holding(session, order, binding)
    if (binding.o.get(order, "status") or "") in CANCELLED:
        return decision  # a cancelled order keeps what it holds and claims nothing new
    customer, pending = _customer(order, binding)
    refused: dict[str, Refusal] = {}
    tally: dict[int, dict[str, int]] = session.info.setdefault(_PENDING, {})
    counted = tally.setdefault(id(pending), {}) if pending is not None else {}
    for _ in range(_ROUNDS):
        wanted = _wanted(decision, limited, customer, pending)
        done: list[_Move] = []  # this round's moves of counters, undone if one fails
        failed = None
        bumped: list[str] = []
        for name in sorted(set(wanted) | set(held)):
            w, h = wanted.get(name), held.get(name)
            if w == h:
                continue  # decided again the same: nothing claimed twice
            if h is not None:
                _release(conn, counters, h, done)
            if w is not None:
                why = _claim(conn, counters, w, limited[name].limits, counted, bumped, done)
                if why is not None:
                    failed = (name, why)
                    break
        if failed is None:
            break
        _undo(conn, counters, done)
        for name in bumped:  # the uses of a customer not stored yet, this round's undone
            counted[name] -= 1
        refused[failed[0]] = failed[1]
        decision = decide_again(refused)
    else:  # pragma: no cover - each round refuses one more of finitely many rules
        raise RuntimeError("usage limits did not settle")
    _write_claims(session, order, binding, held, wanted, decision.version, pending)
    return decision


def preview(
    session: Session,
    order: Any,
    decision: Decision,
    limited: Mapping[str, Rule_],
    binding: Binding,
    decide_again: Callable[[Mapping[str, Refusal]], Decision],
) -> tuple[Decision, dict[str, Refusal]]:
    """The decision :func:`enforce` would come to for ``order`` as the counters stand
    now, read and never written (a basket, ``Engine.evaluate``, ``rulec explain``),
    and the rules it refuses: a rule whose use the order does not hold yet is
    refused when its counters are spent."""
    if not limited:
        return decision, {}
    conn, counters, held = _holding(session, order, binding)
    refused: dict[str, Refusal] = {}
    if (binding.o.get(order, "status") or "") in CANCELLED:
        return decision, refused
    customer, pending = _customer(order, binding)
    for _ in range(len(limited) + 1):
        wanted = _wanted(decision, limited, customer, pending)
        why = None
        for name in sorted(wanted):
            w, h = wanted[name], held.get(name)
            if w != h:
                why = _spent(conn, counters, w, limited[name].limits, h)
                if why is not None:
                    refused[name] = why
                    break
        if why is None:
            return decision, refused
        decision = decide_again(refused)
    return decision, refused  # pragma: no cover - each round refuses one more rule


def _spent(
    conn: Connection, counters: Table, c: Claim, limits: Limits | None, held: Claim | None
) -> Refusal | None:
    """Why claim ``c`` would be refused now (``held``: the order's claim, given back first)."""
    assert limits is not None

    def now(scope: str) -> tuple[int, int]:
        row = conn.execute(_counter(counters, c.rule, scope)).first()
        return (0, 0) if row is None else (int(row.used), int(row.spent_minor))

    again = int(held is not None and held.total)  # the order's own use, given back first
    if c.total and limits.uses is not None and now("total")[0] - again >= limits.uses:
        return limit_reached(limits.uses)
    if limits.per_customer is not None:
        n = limits.per_customer
        if c.customer is None:
            return customer_limit_reached(n, no_customer=True)
        mine = int(held is not None and held.customer == c.customer)
        if c.customer and now(f"customer:{c.customer}")[0] - mine >= n:
            return customer_limit_reached(n)
    if limits.per_code is not None and c.code is not None:
        mine = int(held is not None and held.code == c.code)
        if now(f"code:{c.code}")[0] - mine >= limits.per_code:
            return code_limit_reached(limits.per_code, c.code)
    if c.currency is not None:
        budget = limits.budget(c.currency)
        assert budget is not None
        back = held.spent_minor if held is not None and held.currency == c.currency else 0
        if now(f"budget:{c.currency}")[1] - back + c.spent_minor > _minor(budget, c.currency):
            return budget_spent(budget, c.currency)
    return None


def _customer(order: Any, b: Binding) -> tuple[str | None, Any]:
    """The order's customer key as text, or the customer not stored yet (or neither)."""
    key = b.o.get(order, "customer_id")
    if key is not None:
        return str(key), None
    customer = b.o.get(order, "customer")
    if customer is None:
        return None, None
    key = b.entity("customer").get(customer, "id")
    return (str(key), None) if key is not None else (None, customer)


def _wanted(
    d: Decision, limited: Mapping[str, Rule_], customer: str | None, pending: Any
) -> dict[str, Claim]:
    """A claim per applied rule with limits: what the decision needs it to count.
    A customer not stored yet is written ``""`` (its key comes with the flush)."""
    amounts: dict[str, Decimal] = {}
    for a in d.applied:
        if a.rule in limited:
            amounts[a.rule] = amounts.get(a.rule, Decimal(0)) + a.amount
    whose = customer if customer is not None else ("" if pending is not None else None)
    out = {}
    for name, amount in amounts.items():
        limits = limited[name].limits
        assert limits is not None
        budget = limits.budget(d.currency)
        out[name] = Claim(
            name,
            limits.uses is not None,
            whose if limits.per_customer is not None else None,
            d.currency if budget is not None else None,
            _minor(amount, d.currency) if budget is not None else 0,
            limits.give_back,
            _code(d, limited[name]) if limits.per_code is not None else None,
        )
    return out


def _code(d: Decision, rule: Rule_) -> str | None:
    """The code entered that ``rule``'s condition accepts (the first in alphabetical
    order), whose uses a limit per code counts; None when the rule applied without one."""
    return unlocking(d, (rule,)).get(rule.name)


def _claim(
    conn: Connection,
    counters: Table,
    c: Claim,
    limits: Limits | None,
    counted: dict[str, int],
    bumped: list[str],
    done: list[_Move],
) -> Refusal | None:
    """Claim ``c``'s use; the refusal when a limit is reached (nothing is undone here)."""
    assert limits is not None
    if (
        c.total
        and limits.uses is not None
        and not _take(conn, counters, c.rule, "total", limits.uses, done)
    ):
        return limit_reached(limits.uses)
    if limits.per_customer is not None:
        n = limits.per_customer
        if c.customer is None:
            return customer_limit_reached(n, no_customer=True)
        if c.customer == "":  # a customer not stored yet: its uses in this flush
            if counted.get(c.rule, 0) >= n:
                return customer_limit_reached(n)
            counted[c.rule] = counted.get(c.rule, 0) + 1
            bumped.append(c.rule)
        elif not _take(conn, counters, c.rule, f"customer:{c.customer}", n, done):
            return customer_limit_reached(n)
    if (
        limits.per_code is not None
        and c.code is not None
        and not _take(conn, counters, c.rule, f"code:{c.code}", limits.per_code, done)
    ):
        return code_limit_reached(limits.per_code, c.code)
    if c.currency is not None:
        budget = limits.budget(c.currency)
        assert budget is not None
        scope = f"budget:{c.currency}"
        if not _spend(
            conn, counters, c.rule, scope, c.spent_minor, _minor(budget, c.currency), done
        ):
            return budget_spent(budget, c.currency)
    return None


def _ensure(conn: Connection, counters: Table, rule: str, scope: str) -> None:
    """The counter row of (rule, scope), made at zero when missing, race-free."""
    values = {"rule": rule, "scope": scope, "used": 0, "spent_minor": 0}
    name = conn.dialect.name
    if name == "postgresql":
        conn.execute(postgresql.insert(counters).values(values).on_conflict_do_nothing())
    elif name == "sqlite":
        conn.execute(sqlite.insert(counters).values(values).on_conflict_do_nothing())
    else:  # pragma: no cover - the two databases rulec supports
        if conn.execute(_counter(counters, rule, scope)).first() is None:
            conn.execute(insert(counters).values(values))


def _count_new_customer(conn: Connection, counters: Table, rule: str, scope: str) -> None:
    """One use of a customer stored in this flush (the limit was counted in memory)."""
    values = {"rule": rule, "scope": scope, "used": 1, "spent_minor": 0}
    name = conn.dialect.name
    if name in ("postgresql", "sqlite"):
        dialect = postgresql if name == "postgresql" else sqlite
        conn.execute(
            dialect.insert(counters)
            .values(values)
            .on_conflict_do_update(
                index_elements=[counters.c.rule, counters.c.scope],
                set_={"used": counters.c.used + 1},
            )
        )
        return
    _ensure(conn, counters, rule, scope)  # pragma: no cover - the two databases rulec supports
    _move(conn, counters, rule, scope, 1, 0)  # pragma: no cover


def _counter(counters: Table, rule: str, scope: str) -> Any:
    return select(counters.c.used, counters.c.spent_minor).where(
        and_(counters.c.rule == rule, counters.c.scope == scope)
    )


#: One move of a counter: (rule, scope, uses, money in minor units) added.
_Move = tuple[str, str, int, int]


def _take(
    conn: Connection, counters: Table, rule: str, scope: str, limit: int, done: list[_Move]
) -> bool:
    """One more use of (rule, scope) when fewer than ``limit`` are used (its counter
    row made first when the update finds none: one statement when it is there)."""
    c = counters.c
    statement = (
        update(counters)
        .where(c.rule == rule, c.scope == scope, c.used < limit)
        .values(used=c.used + 1)
    )
    if conn.execute(statement).rowcount != 1:
        _ensure(conn, counters, rule, scope)
        if conn.execute(statement).rowcount != 1:
            return False
    done.append((rule, scope, 1, 0))
    return True


def _spend(
    conn: Connection,
    counters: Table,
    rule: str,
    scope: str,
    amount: int,
    budget: int,
    done: list[_Move],
) -> bool:
    """``amount`` more spent of (rule, scope) when it stays within ``budget``."""
    c = counters.c
    statement = (
        update(counters)
        .where(c.rule == rule, c.scope == scope, c.spent_minor + amount <= budget)
        .values(used=c.used + 1, spent_minor=c.spent_minor + amount)
    )
    if conn.execute(statement).rowcount != 1:
        _ensure(conn, counters, rule, scope)
        if conn.execute(statement).rowcount != 1:
            return False
    done.append((rule, scope, 1, amount))
    return True


def _move(conn: Connection, counters: Table, rule: str, scope: str, uses: int, money: int) -> None:
    col = counters.c
    conn.execute(
        update(counters)
        .where(col.rule == rule, col.scope == scope)
        .values(used=col.used + uses, spent_minor=col.spent_minor + money)
    )


def _release(conn: Connection, counters: Table, c: Claim, done: list[_Move] | None = None) -> None:
    """Give back what claim ``c`` counted."""
    scopes = []
    if c.total:
        scopes.append(("total", 0))
    if c.customer:
        scopes.append((f"customer:{c.customer}", 0))
    if c.code is not None:
        scopes.append((f"code:{c.code}", 0))
    if c.currency is not None:
        scopes.append((f"budget:{c.currency}", c.spent_minor))
    for scope, amount in scopes:
        _move(conn, counters, c.rule, scope, -1, -amount)
        if done is not None:
            done.append((c.rule, scope, -1, -amount))


def _undo(conn: Connection, counters: Table, done: list[_Move]) -> None:
    """Undo a round's moves, last first. The rows they moved are this transaction's to
    change until it ends (the database locked them), so the undoing is exact; it is
    done by hand rather than with a SAVEPOINT, which SQLite's Python driver would
    commit when no transaction was begun before it."""
    for rule, scope, uses, money in reversed(done):
        _move(conn, counters, rule, scope, -uses, -money)


# ---------------------------------------------------------------- claims --


def _held(conn: Connection, claims: Table, key_column: str, key: Any) -> dict[str, Claim]:
    c = claims.c
    rows = conn.execute(
        select(c.rule, c.total, c.customer, c.currency, c.spent_minor, c.give_back, c.code).where(
            c[key_column] == key
        )
    )
    return {r.rule: Claim(*r) for r in rows}


def _write_claims(
    session: Session,
    order: Any,
    b: Binding,
    held: Mapping[str, Claim],
    wanted: Mapping[str, Claim],
    version: str,
    pending: Any,
) -> None:
    """Make the order's claim rows what it now holds (for a new order, once it has a key)."""
    gone = [name for name in held if wanted.get(name) != held[name]]
    new = [c for name, c in wanted.items() if held.get(name) != c]
    if not gone and not new:
        return
    counters, claims, key_column = _tables(b)

    def write(s: Session, key: Any) -> None:
        conn = s.connection({"mapper": b.order})
        if gone:
            conn.execute(delete(claims).where(claims.c[key_column] == key, claims.c.rule.in_(gone)))
        if not new:
            return
        rows = []
        for c in new:
            customer = c.customer
            if customer == "":  # the customer is stored now: its counter too
                customer = str(b.entity("customer").get(pending, "id"))
                _count_new_customer(conn, counters, c.rule, f"customer:{customer}")
            rows.append(
                {
                    key_column: key,
                    "rule": c.rule,
                    "total": c.total,
                    "customer": customer,
                    "currency": c.currency,
                    "spent_minor": c.spent_minor,
                    "give_back": c.give_back,
                    "code": c.code,
                    "rule_set_version": version,
                    **({"created_at": _now()} if key_column == "order_id" else {}),
                }
            )
        conn.execute(insert(claims), rows)

    key = b.o.get(order, "id")
    state = inspect(order)
    if key is None or state.pending or state.transient:
        later(session, order, write)
    else:
        write(session, key)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def forget_pending(session: Session) -> None:
    """Forget the uses counted for customers not stored yet (a flush begins or ended)."""
    session.info.pop(_PENDING, None)


def give_back(session: Session, order: Any, binding: Binding) -> int:
    """Give back the uses and money of ``order``'s claims whose rule says so (the
    order is cancelled); the number of claims given back."""
    key = binding.o.get(order, "id")
    if key is None:
        return 0
    counters, claims, key_column = _tables(binding)
    conn = session.connection({"mapper": binding.order})
    back = [c for c in _held(conn, claims, key_column, key).values() if c.give_back]
    for c in sorted(back, key=lambda c: c.rule):
        _release(conn, counters, c)
    if back:
        conn.execute(
            delete(claims).where(
                claims.c[key_column] == key, claims.c.rule.in_([c.rule for c in back])
            )
        )
    return len(back)


def claims_of(session: Session, order: Any, binding: Binding) -> dict[str, Claim]:
    """The claims ``order`` holds, by rule name (none for an order not stored yet)."""
    key = binding.o.get(order, "id")
    if key is None:
        return {}
    _, claims, key_column = _tables(binding)
    return _held(session.connection({"mapper": binding.order}), claims, key_column, key)


def usage(
    session: Session, rule: str, binding: Binding, scope: str = "total"
) -> tuple[int, Decimal | int]:
    """How much of ``rule``'s ``scope`` is used: (uses, money spent in minor units)."""
    counters, _, _ = _tables(binding)
    row = (
        session.connection({"mapper": binding.order})
        .execute(_counter(counters, rule, scope))
        .first()
    )
    return (0, 0) if row is None else (int(row.used), int(row.spent_minor))
