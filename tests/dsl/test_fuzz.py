"""Property tests: generated valid rule files, and random damage to them.

Valid files come from a strategy that follows the grammar and the default
vocabulary (order subtotal: money, order currency: currency code, order
created: date-time, customer order count: whole number), using only the
labels the file declares. They must parse, check without errors, compile,
and evaluate on random facts exactly as a small reference interpreter of the
AST says. Damaged files (tokens deleted, duplicated or swapped, random
characters or bytes, invalid UTF-8, huge and deeply nested input) must only
ever produce diagnostics inside the file or ``rulec.RulesError``s, render in
every output format, and never make ``rulec check`` fail. ``bench/fuzz.py``
runs :func:`check_input` over :func:`inputs` at length.
"""

from __future__ import annotations

import json
import operator
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rulec
from rulec import cli
from rulec.dsl.nodes import (
    And,
    Between,
    Compare,
    DateValue,
    HasAnyLabel,
    HasLabel,
    Ident,
    In,
    LabelDecl,
    Not,
    Number,
    Or,
    Rule,
    Some,
    String,
    walk,
)
from rulec.dsl.report import Format, render
from rulec.dsl.sources import analyze
from rulec.dsl.values import Instant, parse_date

SETTINGS = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe"]
CURRENCIES = ["EUR", "USD", "GBP", "JPY", "CHF", "KWD"]
EVENTS = ["order_created", "order_updated"]
#: Labels of the order's lines (declared in every generated file).
ITEM_LABELS = ["Fragile", "Bulky", "Gift"]

# ------------------------------------------------------------ valid files ---

label_names = st.from_regex(r"[A-Z][A-Za-z0-9_]{0,7}", fullmatch=True) | st.sampled_from(
    ["Customer_VIP", "Stammkunde", "Größe", "Élite", "顧客", "Ω_1"]
)


def quote(text: str) -> str:
    """A rule-language string literal for ``text``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


titles = st.text(  # no CR (a line break) and no NUL (refused: databases cannot store it)
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\r\x00"), max_size=30
)
money = st.decimals(min_value=-1000, max_value=100_000, places=2, allow_nan=False).map(
    lambda d: format(d, "f")
)
counts = st.integers(min_value=0, max_value=1000)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@st.composite
def date_literals(draw) -> str:
    """A date, date-time, with seconds, a UTC offset, Z or a time zone."""
    text = draw(days).isoformat()
    kind = draw(st.sampled_from(["date", "time", "seconds", "offset", "z"]))
    if kind != "date":
        sep = draw(st.sampled_from([" ", "T"]))
        text += f"{sep}{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}"
        if kind == "seconds":
            text += f":{draw(st.integers(0, 59)):02d}"
        if kind == "offset":
            text += draw(st.sampled_from(["+01:00", "-05:00", "+05:30", "+00:00"]))
        if kind == "z":
            text += "Z"
    if kind in ("date", "time", "seconds") and draw(st.booleans()):
        text += " " + draw(st.sampled_from(ZONES))
    return text


def ops(ordered: bool) -> st.SearchStrategy[str]:
    names = ["=", "is", "!=", "is not"]
    return st.sampled_from([*names, "<", "<=", ">", ">="] if ordered else names)


def values_list(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(values, min_size=1, max_size=4).map(lambda vs: "(" + ", ".join(vs) + ")")


@st.composite
def leaf(draw, labels: list[str]) -> str:
    kind = draw(
        st.sampled_from(["label", "any", "money", "currency", "count", "date", "item", "quantity"])
    )
    label = st.sampled_from(labels)
    if kind == "item":  # a member of the order's lines
        verb = draw(st.sampled_from(["has label", "has any label of"]))
        names = draw(st.lists(st.sampled_from(ITEM_LABELS), min_size=1, max_size=3))
        return f"any item {verb} " + (names[0] if verb == "has label" else ", ".join(names))
    if kind == "quantity":
        return f"any item quantity {draw(ops(True))} {draw(st.integers(0, 12))}"
    if kind == "label":
        verb = draw(st.sampled_from(["has", "lacks"]))
        return f"customer {verb} label {draw(label)}"
    if kind == "any":
        verb = draw(st.sampled_from(["has", "lacks"]))
        names = draw(st.lists(label, min_size=1, max_size=6))
        return f"customer {verb} any label of " + ", ".join(names)
    if kind == "currency":
        code = st.sampled_from(CURRENCIES).flatmap(lambda c: st.sampled_from([c, f'"{c}"']))
        form = draw(st.sampled_from(["cmp", "in", "not in"]))
        if form == "cmp":
            return f"order currency {draw(ops(False))} {draw(code)}"
        return f"order currency {form} {draw(values_list(code))}"
    if kind == "date":
        name = draw(st.sampled_from(["order created", "order created_at"]))
        form = draw(st.sampled_from(["cmp", "cmp", "between", "not between", "in", "not in"]))
        if form == "cmp":
            return f"{name} {draw(ops(True))} {draw(date_literals())}"
        if form in ("in", "not in"):
            return f"{name} {form} {draw(values_list(date_literals()))}"
        low = draw(days)
        high = low + timedelta(days=draw(st.integers(0, 400)))
        zone = draw(st.sampled_from(["", *(f" {z}" for z in ZONES)]))
        return f"{name} {form} {low.isoformat()}{zone} and {high.isoformat()}{zone}"
    name, values = {
        "money": ("order subtotal", money),
        "count": ("customer order count", counts.map(str)),
    }[kind]
    form = draw(st.sampled_from(["cmp", "cmp", "between", "not between", "in", "not in"]))
    if form == "cmp":
        return f"{name} {draw(ops(True))} {draw(values)}"
    if form in ("in", "not in"):
        return f"{name} {form} {draw(values_list(values))}"
    low, high = sorted([draw(values), draw(values)], key=Decimal)
    return f"{name} {form} {low} and {high}"


@st.composite
def tight_leaf(draw, labels: list[str], valid: bool = True) -> str:
    """A comparison from a few close values, so that conditions often clash.

    With ``valid`` the bounds of ``between`` are in order (no R306).
    """
    field, values = draw(
        st.sampled_from(
            [
                ("order subtotal", ["49.99", "50", "50.00", "50.01", "100"]),
                ("customer order count", ["0", "1", "2"]),
                ("order currency", ["EUR", "USD", '"EUR"']),
                (
                    "order created",
                    [
                        "2026-01-01",
                        "2026-01-02",
                        "2026-01-01 23:59",
                        "2026-01-02 00:00",
                        "2026-01-01 Europe/Paris",
                        "2026-01-01T23:30Z",
                        "2026-01-02 Asia/Tokyo",
                    ],
                ),
                ("customer", labels[:2]),
            ]
        )
    )
    value = st.sampled_from(values)
    if field == "customer":
        return f"customer {draw(st.sampled_from(['has', 'lacks']))} label {draw(value)}"
    form = draw(st.sampled_from(["cmp", "cmp", "cmp", "between", "not between", "in", "not in"]))
    ordered = field != "order currency"
    if form == "cmp" or (form.endswith("between") and not ordered):
        return f"{field} {draw(ops(ordered))} {draw(value)}"
    if form.endswith("in"):
        return f"{field} {form} {draw(values_list(value))}"
    low, high = draw(value), draw(value)
    if valid and field == "order created":
        high = low
    elif valid:
        low, high = sorted([low, high], key=Decimal)
    return f"{field} {form} {low} and {high}"


def clashing(labels: list[str]) -> st.SearchStrategy[str]:
    return st.lists(tight_leaf(labels, valid=False), min_size=2, max_size=4).flatmap(
        lambda leaves: st.lists(
            st.sampled_from([" and ", " and ", " and not ", " or "]),
            min_size=len(leaves) - 1,
            max_size=len(leaves) - 1,
        ).map(lambda js: leaves[0] + "".join(j + x for j, x in zip(js, leaves[1:], strict=True)))
    )


def conditions(labels: list[str]) -> st.SearchStrategy[str]:
    return st.recursive(
        leaf(labels) | tight_leaf(labels),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from([" and ", " or "]), inner).map("".join),
            inner.map(lambda c: f"not {c}"),
            inner.map(lambda c: f"({c})"),
        ),
        max_leaves=6,
    )


@st.composite
def action(draw, labels: list[str]) -> str:
    kind = draw(st.sampled_from(["percent", "cap", "fixed", "add", "remove"]))
    title = quote(draw(titles))
    percent = format(draw(st.decimals(min_value="0.01", max_value=100, places=2)), "f")
    if kind == "percent":
        return f"discount {percent}% {title}"
    if kind == "cap":
        cap = format(draw(st.decimals(min_value="0.01", max_value=1000, places=2)), "f")
        return f"discount {percent}% up to {cap} EUR {title}"
    if kind == "fixed":
        currency = draw(st.sampled_from(["EUR", "USD", "JPY"]))
        places = 0 if currency == "JPY" else 2
        amount = format(draw(st.decimals(min_value=1, max_value=1000, places=places)), "f")
        return f"discount {amount} {currency} {title}"
    verb, prep = ("add", "to") if kind == "add" else ("remove", "from")
    return f"{verb} label {draw(st.sampled_from(labels))} {prep} customer"


def actions(labels: list[str]) -> st.SearchStrategy[str]:
    return st.lists(action(labels), min_size=1, max_size=3).flatmap(
        lambda acts: st.lists(
            st.sampled_from([", ", " and ", ",\n    "]),
            min_size=len(acts) - 1,
            max_size=len(acts) - 1,
        ).map(lambda seps: acts[0] + "".join(s + a for s, a in zip(seps, acts[1:], strict=True)))
    )


@st.composite
def metadata(draw) -> list[str]:
    lines = []
    if draw(st.booleans()):
        lines.append("description " + quote(draw(titles)))
    if draw(st.booleans()):
        lines.append(f"priority {draw(st.integers(-1_000_000_000, 1_000_000_000))}")
    status = draw(st.sampled_from(["", "enabled", "disabled"]))
    stacking = draw(st.sampled_from(["", "exclusive", "combinable"]))
    lines += [s for s in (status, stacking) if s]
    if stacking != "exclusive":  # an exclusive rule is in no group (R309)
        group = draw(st.sampled_from(["", "", "Loyalty", "Seasonal"]))
        if group:
            lines.append(f"in group {group}")
    window = draw(st.sampled_from(["", "from", "until", "both"]))
    if window:
        start = draw(days)
        end = start + timedelta(days=draw(st.integers(0, 60)))
        zone = draw(st.sampled_from(["", *(f" {z}" for z in ZONES)]))
        if window == "from":
            lines.append(f"from {start.isoformat()}{zone}")
        elif window == "until":
            lines.append(f"until {end.isoformat()}{zone}")
        else:
            lines.append(f"from {start.isoformat()} until {end.isoformat()}{zone}")
    return draw(st.permutations(lines))


@st.composite
def rules_files(draw) -> str:
    labels = draw(st.lists(label_names, min_size=1, max_size=5, unique=True))
    out = ["# generated"]
    split = draw(st.integers(1, len(labels)))
    for group in (labels[:split], labels[split:]):
        if group:
            out.append(f"label {', '.join(group)} for customer")
    out.append(f"label {', '.join(ITEM_LABELS)} for item")
    out.append("group Loyalty\ngroup Seasonal after Loyalty")  # stacking groups a rule may join
    for n in range(draw(st.integers(1, 5))):
        event = draw(st.sampled_from(EVENTS))
        cond = draw(st.none() | conditions(labels))
        when = f" when {cond}" if cond else ""
        acts = draw(actions(labels))
        if draw(st.booleans()):
            out.append(f"on {event}{when} then {acts}")
        else:
            name = quote(f"{draw(titles)} #{n}")
            parts = [f"rule {name}", *draw(metadata()), f"on {event}"]
            if cond:
                parts.append(f"when {cond}")
            parts.append(f"then {acts}")
            sep = draw(st.sampled_from([" ", "\n  "]))
            out.append(sep.join(parts) + sep + "end")
    text = "\n".join(out) + "\n"
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text


@st.composite
def facts(draw, labels: list[str]) -> dict[str, Any]:
    zone = st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5))])
    when = st.datetimes(
        min_value=datetime(1999, 1, 1), max_value=datetime(2101, 12, 31), timezones=zone
    )
    out = {
        "customer.labels": frozenset(
            draw(st.lists(st.sampled_from([*labels, "Other"]), max_size=4))
        ),
        "order.subtotal": draw(st.none() | st.decimals(-2000, 200_000, places=2)),
        "order.currency": draw(st.none() | st.sampled_from(CURRENCIES)),
        "order.created_at": draw(st.none() | when),
        "customer.order_count": draw(st.none() | counts),
        "item.all": draw(lines()),
    }
    return without_customer(out) if draw(st.integers(0, 3)) == 0 else out


@st.composite
def lines(draw) -> list[dict[str, Any]]:
    """An order's lines as a caller gives them: labels and a quantity each."""
    line = st.fixed_dictionaries(
        {
            "labels": st.lists(st.sampled_from([*ITEM_LABELS, "Other"]), max_size=3),
            "quantity": st.integers(1, 12),
        }
    )
    return draw(st.lists(line, max_size=3))


def without_customer(f: dict[str, Any]) -> dict[str, Any]:
    """An agent's order for no customer, as the engine's facts say it."""
    return {
        **f,
        "customer.absent": True,
        "customer.labels": frozenset(),
        "customer.order_count": None,
    }


def literals_of(rules: list[Rule]) -> dict[str, list[Any]]:
    """Values near every literal of the rules' conditions, per fact key (and None)."""
    near: dict[str, list[Any]] = {k: [None] for k in set(_KEYS.values())}
    for rule in rules:
        for c in walk(rule.condition) if rule.condition is not None else ():
            if not isinstance(c, Compare | Between | In) or c.field.entity.text == "item":
                continue  # (a line's quantity is drawn with the lines)
            key = _KEYS[c.field.entity.text, c.field.field.text]
            values = (
                [c.value]
                if isinstance(c, Compare)
                else ([c.low, c.high] if isinstance(c, Between) else list(c.values))
            )
            for v in map(literal, values):
                if isinstance(v, Instant):
                    tick = timedelta(microseconds=1)
                    near[key] += [v.start - tick, v.start, v.end - tick, v.end]
                elif isinstance(v, Decimal) and key == "customer.order_count":
                    n = int(v)
                    near[key] += [x for x in (n - 1, n, n + 1) if x >= 0]
                elif isinstance(v, Decimal):
                    near[key] += [v - Decimal("0.01"), v, v + Decimal("0.01")]
                else:
                    near[key].append(v)
    return near


FULL = {
    "order.subtotal": Decimal("60.00"),
    "order.currency": "EUR",
    "order.created_at": datetime(2026, 11, 28, 12, tzinfo=UTC),
    "customer.order_count": 0,
}


@st.composite
def boundary_facts(
    draw, rules: list[Rule], labels: list[str], missing: bool = True
) -> dict[str, Any]:
    """Facts whose values sit on and next to the literals of ``rules``.

    Without ``missing`` every fact has a value (None is never drawn).
    """
    near = literals_of(rules)
    if not missing:
        near = {k: [v for v in vs if v is not None] or [FULL[k]] for k, vs in near.items()}
    out = {key: draw(st.sampled_from(values)) for key, values in near.items()}
    out["customer.labels"] = frozenset(draw(st.lists(st.sampled_from([*labels, "Other"]))))
    out["item.all"] = draw(lines())
    if missing and draw(st.integers(0, 3)) == 0:
        out = without_customer(out)
    return out


# ------------------------------------------------- reference interpreter ---

_OPS = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_KEYS = {
    ("order", "subtotal"): "order.subtotal",
    ("order", "currency"): "order.currency",
    ("order", "created"): "order.created_at",
    ("order", "created_at"): "order.created_at",
    ("customer", "order_count"): "customer.order_count",
}


def literal(v: Any) -> Any:
    if isinstance(v, Number):
        return v.value
    if isinstance(v, String):
        return v.value
    if isinstance(v, Ident):
        return v.name
    assert isinstance(v, DateValue)
    got = parse_date(v)
    assert isinstance(got, Instant)
    return got


def on_date(x: datetime, op: str, d: Instant) -> bool:
    if not d.date_only:
        return _OPS[op](x, d.start)
    within = d.start <= x < d.end
    return {
        "=": within,
        "!=": not within,
        "<": x < d.start,
        "<=": x < d.end,
        ">": x >= d.end,
        ">=": x >= d.start,
    }[op]


def holds(c: Any, f: dict[str, Any]) -> bool:
    """What the language says ``c`` means for the facts ``f``.

    A condition about a missing customer is false, whatever it says;
    ``any item …`` holds when it holds for one of the order's lines.
    """
    if isinstance(c, And):
        return all(holds(o, f) for o in c.operands)
    if isinstance(c, Or):
        return any(holds(o, f) for o in c.operands)
    if isinstance(c, Not):
        return not holds(c.operand, f)
    if isinstance(c, Some):
        return any(holds_for_line(c.condition, line) for line in f.get("item.all", ()))
    entity = c.entity.text if isinstance(c, HasLabel | HasAnyLabel) else c.field.entity.text
    if entity == "customer" and f.get("customer.absent"):
        return False
    if isinstance(c, HasLabel):
        return (c.label.text in f["customer.labels"]) != c.negated
    if isinstance(c, HasAnyLabel):
        return any(n.text in f["customer.labels"] for n in c.labels) != c.negated
    x = f[_KEYS[c.field.entity.text, c.field.field.text]]
    if isinstance(c, Compare):
        v = literal(c.value)
        if isinstance(v, Instant):
            return x is not None and on_date(x, c.op.text, v)
        if c.op.text in ("=", "!="):
            return _OPS[c.op.text](x, v)
        return x is not None and _OPS[c.op.text](x, v)
    if isinstance(c, Between):
        if x is None:
            return False
        lo, hi = literal(c.low), literal(c.high)
        if isinstance(lo, Instant):
            inside = lo.start <= x and (x < hi.end if hi.date_only else x <= hi.start)
        else:
            inside = lo <= x <= hi
        return inside != c.negated
    assert isinstance(c, In)
    vs = [literal(v) for v in c.values]
    if vs and isinstance(vs[0], Instant):
        return x is not None and any(on_date(x, "=", v) for v in vs) != c.negated
    return (x in vs) != c.negated


def holds_for_line(c: Any, line: dict[str, Any]) -> bool:
    """An ``any item`` test on one line (as a caller gives it: labels, quantity)."""
    labels = set(line["labels"])
    if isinstance(c, HasLabel):
        return c.label.text in labels
    if isinstance(c, HasAnyLabel):
        return any(n.text in labels for n in c.labels)
    assert isinstance(c, Compare) and c.field.field.text == "quantity"
    return _OPS[c.op.text](line["quantity"], int(literal(c.value)))


# ----------------------------------------------------------- properties ---


class TestValidFiles:
    @SETTINGS
    @given(rules_files())
    def test_parse_check_compile(self, text):
        items = rulec.parse(text, "gen.rules")
        assert items
        diagnostics = rulec.check_text(text, "gen.rules")
        assert [d for d in diagnostics if d.severity == "error"] == [], text
        module = rulec.compile_text(text, "gen.rules")
        assert module.rule_count == sum(isinstance(i, Rule) for i in items)

    @SETTINGS
    @given(st.data())
    def test_compiled_rules_mean_what_the_language_says(self, data):
        text = data.draw(rules_files())
        items = rulec.parse(text)
        rules = [i for i in items if isinstance(i, Rule)]
        labels = [n.text for i in items if isinstance(i, LabelDecl) for n in i.names]
        loaded = rulec.load_text(text)
        assert len(loaded) == len(rules)
        events = {e.name: (e.name, *e.includes) for e in rulec.DEFAULT_VOCABULARY.events}
        for n in range(10):
            f = data.draw(facts(labels) if n % 2 else boundary_facts(rules, labels))
            flat = rulec.flatten_facts(f)  # the lines as the compiled tests read them
            for compiled, rule in zip(loaded.rules, rules, strict=True):
                expected = rule.condition is None or holds(rule.condition, f)
                assert compiled.test(flat) is expected, (rule.condition, f)
            for event in EVENTS:
                got = [r.id for r in loaded.matching(event, f)]
                want = [
                    c.id
                    for c, r in zip(loaded.rules, rules, strict=True)
                    if r.enabled
                    and r.event.text in events[event]
                    and (r.condition is None or holds(r.condition, f))
                ]
                assert got == want

    @SETTINGS
    @given(st.data())
    def test_rules_said_to_never_fire_never_do(self, data):
        labels = ["A", "B"]
        conds = data.draw(st.lists(clashing(labels), min_size=1, max_size=8))
        text = "label A, B for customer\n" + "".join(
            f'on order_created when {c} then discount 1% "x"\n' for c in conds
        )
        diagnostics = rulec.check_text(text, "gen.rules")
        errors = {d.span.line for d in diagnostics if d.severity == "error"}
        rules = [i for i in rulec.parse(text, "gen.rules") if isinstance(i, Rule)]
        rules = [r for r in rules if r.span.line not in errors]  # e.g. reversed between
        never = {d.span.line for d in diagnostics if d.code == "R307"}
        suspects = [r for r in rules if r.condition is not None and r.condition.span.line in never]
        # "never" is about orders whose facts are all known: with a missing
        # fact, 'not (order subtotal > 5)' and '!=' hold whatever the value
        for _ in range(30):
            f = data.draw(boundary_facts(suspects, labels, missing=False))
            for rule in suspects:
                assert not holds(rule.condition, f), (rule.condition, f)

    @SETTINGS
    @given(rules_files())
    def test_texts_survive_exactly(self, text):
        for item, compiled in zip(
            [i for i in rulec.parse(text) if isinstance(i, Rule)],
            rulec.load_text(text).rules,
            strict=True,
        ):
            assert [getattr(a, "title", None) for a in item.actions] == [
                getattr(a, "title", None) for a in compiled.actions
            ]
            assert compiled.description == item.description
            if item.name is not None:
                assert compiled.name == item.name


@st.composite
def merged_files(draw) -> tuple[str, list[str]]:
    """The rules of several generated files in one file, then all of them again.

    Rules of different files share shapes with other constants; the second
    copy (renamed, indented) has every shape again at other lines and
    columns. Returns the text and its customer labels.
    """
    labels: dict[str, None] = {}
    sections = []
    for n, text in enumerate(draw(st.lists(rules_files(), min_size=2, max_size=4))):
        rules = []
        for line in text.lstrip("\ufeff").replace("\r\n", "\n").split("\n"):
            if line.startswith("label ") and line.endswith(" for customer"):
                labels.update(dict.fromkeys(line[6:-13].split(", ")))
            elif not line.startswith(("label ", "group ", "# generated")):
                rules.append(line)
        sections.append(("\n".join(rules), n))
    out = [f"label {', '.join(labels)} for customer", f"label {', '.join(ITEM_LABELS)} for item"]
    out.append("group Loyalty\ngroup Seasonal after Loyalty")  # declared once
    for copy in (0, 1):
        indent = " " * (3 * copy)
        for rules, n in sections:
            renamed = rules.replace('rule "', f'rule "{copy}.{n} ')
            out.append("\n".join(indent + line for line in renamed.split("\n")))
    return "\n".join(out) + "\n", list(labels)


# ---------------------------------------------------------- damaged files ---

PIECES = [
    "(",
    ")",
    '"',
    "\\",
    "%",
    ",",
    "#",
    "\n",
    "\r",
    "\x00",
    "\ufeff",
    "$",
    "é",
    "and",
    "not",
    "then",
    "end",
    "rule",
    "on",
    "label",
    "2026-13-45",
    "99999999999999",
    "=>",
]


SOUP = [
    *PIECES,
    "x",
    "1",
    "5%",
    "10.00",
    "customer",
    "has",
    "label",
    "order",
    "subtotal",
    ">=",
    "discount",
    "order_created",
    "EUR",
    '"t"',
    "from",
    "2026-01-01",
    "Europe/Paris",
    "in",
]


@st.composite
def damaged(draw) -> str:
    text = draw(rules_files())
    for _ in range(draw(st.integers(1, 4))):
        tokens = text.split(" ")
        how = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "truncate"]))
        i = draw(st.integers(0, len(tokens) - 1))
        j = draw(st.integers(0, len(tokens) - 1))
        if how == "delete" and len(tokens) > 1:
            del tokens[i]
        elif how == "duplicate":
            tokens.insert(i, tokens[i])
        elif how == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif how == "insert":
            junk = draw(st.text(max_size=5) | st.sampled_from(PIECES))
            pos = draw(st.integers(0, len(tokens[i])))
            tokens[i] = tokens[i][:pos] + junk + tokens[i][pos:]
        text = " ".join(tokens)
        if how == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
    return text


def assert_inside(diagnostics, text: str) -> None:
    """Every span starts and ends inside ``text``, and does not end before it starts.

    Lines are split at ``\\n`` only, as the parser counts them; a column may
    be one past the last character of its line (the end of the line).
    """
    lines = text.split("\n")
    for d in diagnostics:
        assert d.code in rulec.CODES
        assert d.severity in ("error", "warning")
        s = d.span
        for line, column in ((s.line, s.column), (s.end_line, s.end_column)):
            assert 1 <= line <= len(lines), (d, len(lines))
            assert 1 <= column <= len(lines[line - 1]) + 1, (d, len(lines[line - 1]))
        assert (s.end_line, s.end_column) >= (s.line, s.column), d


def byte_lines(data: bytes) -> list[str]:
    """The lines of a file that is not valid UTF-8, as its diagnostics count them.

    A file that does not decode has no text, so "inside" is defined on its
    bytes: lines are split at the byte ``\\n``, and a line is as long as its
    bytes decoded with each undecodable byte replaced by one character
    (U+FFFD), which is how R102 counts its column.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return [line.decode("utf-8", "replace") for line in data.split(b"\n")]


FACTS = {
    "customer.labels": frozenset({"VIP"}),
    "order.subtotal": Decimal("60.00"),
    "order.currency": "EUR",
    "order.created_at": datetime(2026, 11, 28, 12, tzinfo=UTC),
    "customer.order_count": 0,
}


def assert_only_rules_errors(text: str) -> None:
    try:
        rulec.parse(text, "bad.rules")
    except rulec.RulesSyntaxError as e:
        assert e.diagnostics
    try:
        rules = rulec.load_text(text, "bad.rules")
    except rulec.RulesCheckError as e:
        assert e.diagnostics
    else:
        for event in EVENTS:
            rules.matching(event, FACTS)


class TestDamagedFiles:
    @SETTINGS
    @given(damaged())
    def test_mutations_give_diagnostics_inside_the_file(self, text):
        diagnostics = rulec.check_text(text, "bad.rules")
        body = text[1:] if text.startswith("\ufeff") else text
        assert_inside(diagnostics, body)
        try:
            rulec.parse(text, "bad.rules")
        except rulec.RulesSyntaxError as e:
            assert e.diagnostics
            assert set(e.diagnostics) <= set(diagnostics)
        try:
            rulec.compile_text(text, "bad.rules")
        except rulec.RulesCheckError as e:
            assert all(d.severity == "error" for d in e.diagnostics)

    @SETTINGS
    @given(st.lists(st.sampled_from(SOUP), max_size=40).map(" ".join))
    def test_token_soup(self, text):
        diagnostics = rulec.check_text(text, "soup.rules")
        assert_inside(diagnostics, text[1:] if text.startswith("\ufeff") else text)
        assert_only_rules_errors(text)

    @SETTINGS
    @given(st.binary(max_size=300))
    def test_random_bytes(self, data):
        source = rulec.Source.from_bytes(data, "bytes.rules")
        analysis = analyze([source], rulec.DEFAULT_VOCABULARY)
        if source.text is None:
            assert [d.code for d in analysis.diagnostics] in (["R102"], ["R110"])
            assert_inside(analysis.diagnostics, "\n".join(byte_lines(data)))
        else:
            assert_inside(analysis.diagnostics, source.text)

    @SETTINGS
    @given(st.data())
    def test_random_bytes_inside_a_valid_file(self, data):
        raw = data.draw(rules_files()).encode("utf-8")
        pos = data.draw(st.integers(0, len(raw)))
        junk = data.draw(st.binary(min_size=1, max_size=4))
        damaged_bytes = raw[:pos] + junk + raw[pos:]
        source = rulec.Source.from_bytes(damaged_bytes, "bytes.rules")
        analysis = analyze([source], rulec.DEFAULT_VOCABULARY)
        if source.text is None:
            (d,) = analysis.diagnostics
            assert d.code == "R102"
            # the bad byte is in or just after the junk (or starts the character it split)
            first = raw[:pos].count(b"\n") + 1
            last = damaged_bytes[: pos + len(junk) + 4].count(b"\n") + 1
            assert first <= d.span.line <= last
            assert_inside([d], "\n".join(byte_lines(damaged_bytes)))
        else:
            assert_inside(analysis.diagnostics, source.text)
            assert_only_rules_errors(source.text)


# ------------------------------------------------ every kind of bad input ---

#: The kinds of input :func:`inputs` draws, for counting them (bench/fuzz.py).
KINDS = ("valid", "mutated", "soup", "bytes", "bad-utf8", "huge", "nested")


@st.composite
def nested_input(draw) -> str:
    """Conditions nested up to 5,000 deep: parentheses, ``not``s, mixed, unbalanced."""
    depth = draw(st.integers(0, 40) | st.integers(0, 5000))
    opener = draw(st.sampled_from(["(", "not ", "not (", "((", "not not "]))
    closer = ")" * opener.count("(")
    close = draw(st.sampled_from(["balanced", "balanced", "missing", "extra"]))
    tail = closer * depth
    if close == "missing":
        tail = tail[: len(tail) // 2]
    elif close == "extra":
        tail += ")" * draw(st.integers(1, 5))
    cond = opener * depth + "customer has label X" + tail
    return f'label X for customer\non order_created when {cond} then discount 1% "deep"\n'


@st.composite
def huge_input(draw) -> str:
    """Large inputs built from small draws: many rules, a megabyte line, string or name."""
    size = draw(st.integers(10_000, 1_200_000))
    kind = draw(st.sampled_from(["repeat", "line", "string", "name", "comment", "garbage"]))
    if kind == "repeat":
        unit = draw(rules_files())
        return unit * max(1, size // (len(unit) * 4))
    filler = draw(st.sampled_from(["x", "é", "顧", "(", " ", "\t", "$"])) * size
    return {
        "line": f'on order_created then discount 10% "x" {filler}\n',
        "string": f'on order_created then discount 10% "{filler}"\n',
        "name": f'on order_created then discount 10% "x"\nlabel A{filler} for customer\n',
        "comment": f'# {filler}\non order_created then discount 1% "x"\n',
        "garbage": filler,
    }[kind]


@st.composite
def bad_utf8_input(draw) -> bytes:
    """A valid file with undecodable bytes put in: lone continuations, cut sequences."""
    raw = draw(rules_files()).encode("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(raw)))
        junk = draw(
            st.sampled_from([b"\x80", b"\xff", b"\xc3", b"\xe2\x80", b"\xed\xa0\x80", b"\xc0\xaf"])
            | st.binary(min_size=1, max_size=4)
        )
        raw = raw[:pos] + junk + raw[pos:]
    return raw


def inputs() -> st.SearchStrategy[tuple[str, str | bytes]]:
    """``(kind, input)`` for every kind of :data:`KINDS`; bytes are a file's content."""
    return st.one_of(
        rules_files().map(lambda t: ("valid", t)),
        damaged().map(lambda t: ("mutated", t)),
        st.lists(st.sampled_from(SOUP), max_size=60).map(lambda p: ("soup", " ".join(p))),
        st.binary(max_size=400).map(lambda b: ("bytes", b)),
        bad_utf8_input().map(lambda b: ("bad-utf8", b)),
        huge_input().map(lambda t: ("huge", t)),
        nested_input().map(lambda t: ("nested", t)),
    )


#: Characters the text format must never print raw: C0/C1 controls but
#: newline, and the bidirectional and zero-width format characters.
RAW_FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def check_outputs(analysis: Any) -> None:
    """Every format renders the diagnostics: valid JSON, safe annotations, clean text."""
    ds = analysis.diagnostics
    texts = analysis.texts()
    records = json.loads(render(Format.JSON, ds, texts))
    assert records == [d.to_dict() for d in ds]
    sarif = json.loads(render(Format.SARIF, ds, texts, "0"))
    assert len(sarif["runs"][0]["results"]) == len(ds)
    # the runner splits workflow commands at CR and LF (not at U+2028 & co.)
    github = render(Format.GITHUB, ds, texts).split("\n")
    assert len(github) == len(ds) + 1 and github[-1] == ""
    assert all(line.startswith(("::error ", "::warning ")) for line in github[:-1])
    assert not any("\r" in line for line in github)
    text = render(Format.TEXT, ds, texts)
    assert not RAW_FORBIDDEN.search(text), text[:500]
    assert all(len(line) < 1000 for line in text.splitlines())


def check_input(kind: str, data: str | bytes) -> None:
    """The front end's contract for any input; an AssertionError says how it broke.

    Parse, check and compile raise nothing but ``rulec.RulesError``; every
    diagnostic's span is inside the file (for bytes that are not UTF-8, as
    :func:`byte_lines` counts); every output format renders; a valid file
    checks clean and loads.
    """
    if isinstance(data, bytes):
        source = rulec.Source.from_bytes(data, "fuzz.rules")
    else:
        source = rulec.Source.from_text(data, "fuzz.rules")
    analysis = analyze([source], rulec.DEFAULT_VOCABULARY)
    if source.text is None:
        assert isinstance(data, bytes)
        assert [d.code for d in analysis.diagnostics] in (["R102"], ["R110"])
        assert_inside(analysis.diagnostics, "\n".join(byte_lines(data)))
    else:
        assert_inside(analysis.diagnostics, source.text)
        if kind == "valid":
            assert analysis.ok, [d.check_tuple() for d in analysis.diagnostics]
        try:
            rules = rulec.load_text(source.text, "fuzz.rules")
        except rulec.RulesCheckError as e:
            assert e.diagnostics and not analysis.ok
        else:
            assert analysis.ok
            for event in EVENTS:
                rules.matching(event, FACTS)
    check_outputs(analysis)


def check_cli(data: str | bytes, fmt: str, folder: Path) -> None:
    """``rulec check`` on ``data`` in ``fmt``: exit 0, 1 or 2, no traceback, output parses."""
    path = folder / "fuzz.rules"
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    result = CliRunner().invoke(cli.main, ["check", "--format", fmt, str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output[-2000:])
    assert "Traceback" not in result.output
    if fmt in ("json", "sarif"):
        json.loads(result.stdout)
    elif fmt == "github":
        assert "\r" not in result.stdout
        assert all(line.startswith("::") for line in result.stdout.split("\n")[:-1])
    else:
        assert not RAW_FORBIDDEN.search(result.stdout)


class TestEveryKindOfInput:
    """A bounded run of what ``bench/fuzz.py`` runs at length."""

    @settings(SETTINGS, max_examples=120)
    @given(inputs())
    def test_front_end_contract(self, kind_and_input):
        check_input(*kind_and_input)

    @settings(SETTINGS, max_examples=30)
    @given(inputs(), st.sampled_from(["text", "json", "github", "sarif"]))
    def test_rulec_check(self, tmp_path_factory, kind_and_input, fmt):
        check_cli(kind_and_input[1], fmt, tmp_path_factory.mktemp("fuzz"))
