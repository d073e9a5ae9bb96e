"""Building a database in the old system's schema, for the importer's tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert

from rulec.tools.legacy.schema import legacy_metadata


class OldDb:
    """Rows for the old tables, written by :meth:`write`; ids are given or counted."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self._ids: dict[str, int] = {}

    def _add(self, table: str, row: dict[str, Any]) -> int:
        if "id" not in row:
            self._ids[table] = self._ids.get(table, 0) + 1
            row["id"] = self._ids[table]
        else:
            self._ids[table] = max(self._ids.get(table, 0), row["id"])
        self.rows.setdefault(table, []).append(row)
        return row["id"]

    def label(self, name: str, label_type: str = "CUSTOMER", **kw: Any) -> int:
        return self._add("labels_label", {"name": name, "label_type": label_type, **kw})

    def trigger(self, code: str, name: str = "") -> int:
        return self._add("rules_ruletrigger", {"code": code, "name": name or code})

    def rule(
        self,
        name: str,
        trigger: int | None,
        *,
        status: str = "ENABLED",
        description: str = "",
        labels: Iterable[int] = (),
        conditions: Iterable[tuple[str, str, int | None]] = (),
        actions: Iterable[tuple[str, Mapping[str, Any] | None]] = (),
        id: int | None = None,
    ) -> int:
        row: dict[str, Any] = {
            "name": name,
            "description": description,
            "status": status,
            "trigger_id": trigger,
        }
        if id is not None:
            row["id"] = id
        rid = self._add("rules_rule", row)
        for label_id in labels:
            self.rows.setdefault("rules_rule_labels", []).append(
                {"rule_id": rid, "label_id": label_id}
            )
        for entity, operator, label_id in conditions:
            self._add(
                "rules_rulecondition",
                {"rule_id": rid, "entity": entity, "operator": operator, "label_id": label_id},
            )
        for action_type, params in actions:
            self._add(
                "rules_ruleaction",
                {"rule_id": rid, "action_type": action_type, "action_params": params},
            )
        return rid

    def customer(self, customer_id: int, *labels: int) -> int:
        for label_id in labels:
            self.rows.setdefault("users_customer_labels", []).append(
                {"customer_id": customer_id, "label_id": label_id}
            )
        return customer_id

    def order(self, customer_id: int | None, subtotal: str, **kw: Any) -> int:
        return self._add(
            "orders_order", {"customer_id": customer_id, "subtotal": Decimal(subtotal), **kw}
        )

    def write(self, conn: Connection, prefix: str = "") -> None:
        """Create the old tables (dropping any left from before) and insert the rows."""
        md = legacy_metadata(prefix)
        md.drop_all(conn)
        md.create_all(conn)
        _schema, _, pre = prefix.rpartition(".") if "." in prefix else ("", "", prefix)
        for table in md.sorted_tables:
            bare = table.name.removeprefix(pre)
            rows = self.rows.get(bare)
            if rows:
                conn.execute(insert(table), rows)
