"""The reports of ``rulec simulate`` and ``rulec diff``: text, Markdown and JSON.

Text is for a terminal, Markdown for a pull-request comment (tables, the
sample folded in ``<details>``), JSON for tools. Amounts are exact decimal
text in every format.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from rulec.engine.db.backtest import Period
from rulec.tools.diff import KINDS, Diff
from rulec.tools.simulate import Simulation, as_json

__all__ = ["diff_json", "render_diff", "render_simulation"]

_ZERO = Decimal(0)


def _money(amounts: dict[str, Decimal]) -> str:
    if not amounts:
        return "-"
    return ", ".join(f"{a} {c}" for c, a in sorted(amounts.items()))


def _signed(amount: Decimal) -> str:
    return f"+{amount}" if amount > 0 else str(amount)


def _instant(value: datetime) -> str:
    """An instant in words: its day alone at midnight UTC, else the instant in ISO 8601."""
    if value.utcoffset() == timedelta(0) and value.time() == time(0):
        return value.date().isoformat()
    return value.isoformat()


def _period(p: Period) -> str:
    if p.since is None and p.until is None:
        return "all stored orders"
    if p.until is None:
        return f"orders created from {_instant(p.since)} on" if p.since else ""
    if p.since is None:
        return f"orders created before {_instant(p.until)}"
    return f"orders created from {_instant(p.since)} until {_instant(p.until)}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _python_note(orders: int, rules: tuple[str, ...], unloaded: tuple[str, ...]) -> list[str]:
    lines = []
    if rules:
        lines.append(
            f"{orders} order(s) decided in Python because SQL cannot express all of: "
            + ", ".join(rules)
        )
    if unloaded:
        lines.append(
            "facts not read from the database (they read as no value): " + ", ".join(unloaded)
        )
    return lines


# ------------------------------------------------------------- simulate --


def render_simulation(sim: Simulation, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(as_json(sim), indent=2) + "\n"
    if fmt == "markdown":
        return _sim_markdown(sim)
    return _sim_text(sim)


def _sim_text(sim: Simulation) -> str:
    out = [
        f"simulate {sim.event} over {_period(sim.period)}: {sim.orders} order(s), "
        f"{sim.decided} decided by the engine",
        *_python_note(sim.inexact_orders, sim.inexact_rules, sim.unloaded),
        "",
    ]
    width = max([len(r.rule) for r in sim.rules] + [4])
    out.append(f"{'rule':<{width}}  {'matched':>8}  {'applied':>8}  discount")
    for r in sim.rules:
        out.append(f"{r.rule:<{width}}  {r.matched:>8}  {r.applied:>8}  {_money(r.discount)}")
        if r.sample:
            out.append(f"{'':<{width}}  e.g. orders {', '.join(map(str, r.sample))}")
    out.append("")
    out.append("totals per currency (simulated against stored today):")
    for c, t in as_json(sim)["totals"].items():
        out.append(
            f"  {c}: {t['discounted']} of {t['orders']} order(s) discounted, "
            f"{t['discount']} {c} (stored today: {t['stored_discount']} {c}, "
            f"change {_signed(Decimal(t['change']))} {c})"
        )
    if sim.undecided:
        out.append(f"{sim.undecided} order(s) could not be decided:")
        out += [f"  order {o}: {m}" for o, m in sim.problems]
    return "\n".join(out) + "\n"


def _sim_markdown(sim: Simulation) -> str:
    out = [
        f"### rulec simulate: `{sim.event}`",
        "",
        f"{_sentence(_period(sim.period))}: **{sim.orders}** order(s), "
        f"{sim.decided} decided by the engine.",
        *(f"> {n}" for n in _python_note(sim.inexact_orders, sim.inexact_rules, sim.unloaded)),
        "",
        "| rule | matched | applied | discount | sample orders |",
        "|---|---:|---:|---|---|",
    ]
    for r in sim.rules:
        sample = ", ".join(map(str, r.sample))
        out.append(
            f"| {_cell(r.rule)} | {r.matched} | {r.applied} | {_money(r.discount)} | {sample} |"
        )
    out += ["", "| currency | orders | discounted | discount | stored today | change |"]
    out.append("|---|---:|---:|---:|---:|---:|")
    for c, t in as_json(sim)["totals"].items():
        out.append(
            f"| {c} | {t['orders']} | {t['discounted']} | {t['discount']} | "
            f"{t['stored_discount']} | {_signed(Decimal(t['change']))} |"
        )
    if sim.undecided:
        out.append(f"\n{sim.undecided} order(s) could not be decided.")
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ----------------------------------------------------------------- diff --


def diff_json(d: Diff) -> dict[str, Any]:
    return {
        "event": d.event,
        "old": d.old_name,
        "new": d.new_name,
        "since": d.period.since.isoformat() if d.period.since else None,
        "until": d.period.until.isoformat() if d.period.until else None,
        "orders": d.orders,
        "decided": d.decided,
        "decided_in_python_for_inexact_rules": d.inexact_orders,
        "inexact_rules": list(d.inexact_rules),
        "unloaded_facts": list(d.unloaded),
        "undecided": d.undecided,
        "changed": d.total_changed,
        "by_kind": dict(d.changed),
        "money_delta": {c: str(a) for c, a in d.delta().items()},
        "discount_before": {c: str(a) for c, a in sorted(d.old_discount.items())},
        "discount_after": {c: str(a) for c, a in sorted(d.new_discount.items())},
        "rules": [
            {
                "rule": name,
                "currency": c,
                "before": str(before),
                "after": str(after),
                "delta": str(after - before),
            }
            for name, c, before, after in d.rule_deltas()
        ],
        "sample": [
            {
                "order": ch.order if isinstance(ch.order, int | str) else str(ch.order),
                "kind": ch.kind,
                "currency": ch.currency,
                "before": str(ch.before),
                "after": str(ch.after),
                "explain_before": ch.explain_before,
                "explain_after": ch.explain_after,
            }
            for ch in d.sample
        ],
    }


def render_diff(d: Diff, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(diff_json(d), indent=2) + "\n"
    if fmt == "markdown":
        return _diff_markdown(d)
    return _diff_text(d)


def _diff_text(d: Diff) -> str:
    out = [
        f"diff {d.old_name} -> {d.new_name}, {d.event} over {_period(d.period)}: "
        f"{d.orders} order(s), {d.decided} decided by the engine, {d.total_changed} changed",
        *_python_note(d.inexact_orders, d.inexact_rules, d.unloaded),
    ]
    for kind in KINDS:
        out.append(f"  {kind}: {d.changed[kind]}")
    out.append("money delta (new less old):")
    delta = d.delta()
    if not delta:
        out.append("  none")
    for c, a in delta.items():
        out.append(
            f"  {c}: {_signed(a)} {c} ({d.old_discount.get(c, _ZERO)} -> "
            f"{d.new_discount.get(c, _ZERO)})"
        )
    deltas = d.rule_deltas()
    if deltas:
        out.append("per rule:")
        for name, c, before, after in deltas:
            out.append(f"  {name}: {before} -> {after} {c} ({_signed(after - before)})")
    if d.sample:
        out.append("changed orders (sample):")
        for ch in d.sample:
            out.append(f"  order {ch.order}: {ch.kind}, {ch.before} -> {ch.after} {ch.currency}")
            out += [f"    before: {line}" for line in ch.explain_before]
            out += [f"    after:  {line}" for line in ch.explain_after]
    if d.undecided:
        out.append(f"{d.undecided} order(s) could not be decided")
    return "\n".join(out) + "\n"


def _diff_markdown(d: Diff) -> str:
    delta = d.delta()
    headline = ", ".join(f"**{_signed(a)} {c}**" for c, a in delta.items()) or "no money change"
    out = [
        f"### rulec diff: `{d.old_name}` → `{d.new_name}`",
        "",
        f"`{d.event}` over {_period(d.period)}: {d.orders} order(s), "
        f"**{d.total_changed}** change(s); discount {headline}.",
        *(f"> {n}" for n in _python_note(d.inexact_orders, d.inexact_rules, d.unloaded)),
        "",
        "| change | orders |",
        "|---|---:|",
        *(f"| {kind} | {d.changed[kind]} |" for kind in KINDS),
    ]
    if delta:
        out += ["", "| currency | before | after | delta |", "|---|---:|---:|---:|"]
        for c, a in delta.items():
            out.append(
                f"| {c} | {d.old_discount.get(c, _ZERO)} | {d.new_discount.get(c, _ZERO)} "
                f"| {_signed(a)} |"
            )
    deltas = d.rule_deltas()
    if deltas:
        out += ["", "| rule | currency | before | after | delta |", "|---|---|---:|---:|---:|"]
        for name, c, before, after in deltas:
            out.append(f"| {_cell(name)} | {c} | {before} | {after} | {_signed(after - before)} |")
    if d.sample:
        out += ["", f"<details><summary>{len(d.sample)} changed order(s)</summary>", ""]
        for ch in d.sample:
            out.append(f"**Order {ch.order}**: {ch.kind}, {ch.before} → {ch.after} {ch.currency}")
            out += [
                "",
                "```",
                "before:",
                *ch.explain_before,
                "after:",
                *ch.explain_after,
                "```",
                "",
            ]
        out.append("</details>")
    return "\n".join(out) + "\n"
