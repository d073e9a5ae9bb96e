"""The declarative base: naming convention and exact money columns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import MetaData, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["NAMING_CONVENTION", "Base", "Money", "Percent"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class _ExactDecimal(TypeDecorator[Decimal]):
    """``NUMERIC(p, s)`` where the database has it; exact decimal text on SQLite.

    SQLite has no decimal type: its NUMERIC affinity stores floats, which
    would lose cents. There the value is kept as its decimal text, so a
    ``Decimal`` always comes back exactly as it went in.
    """

    impl = Numeric
    cache_ok = True
    precision = 14
    scale = 4

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be a Decimal, not a float")
        value = Decimal(value)
        if dialect.name == "sqlite":
            return str(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)) if not isinstance(value, Decimal) else value


class Money(_ExactDecimal):
    """A money amount: NUMERIC(14, 4) (up to 4 minor-unit places, e.g. CLF)."""

    cache_ok = True


class Percent(_ExactDecimal):
    """A percentage such as 12.5: NUMERIC(7, 4)."""

    cache_ok = True
    precision = 7


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {Decimal: Money()}
