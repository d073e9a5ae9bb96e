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
    #: Whether each value keeps its own places: NUMERIC without (p, s) on
    #: PostgreSQL, which gives 12.50 back as 12.50 (NUMERIC(14, 4): 12.5000),
    #: the limits of (p, s) checked here instead, the same on every database.
    keep_scale = False

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        if self.keep_scale:
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be a Decimal, not a float")
        value = Decimal(value)
        if self.keep_scale:
            value = self._within_limits(value)
        if dialect.name == "sqlite":
            return str(value)
        return value

    def _within_limits(self, value: Decimal) -> Decimal:
        """``value`` if NUMERIC(p, s) holds it exactly (trailing zeros past ``s``
        dropped); else ValueError, where NUMERIC(p, s) would round or overflow."""
        exponent = value.as_tuple().exponent
        if not isinstance(exponent, int):
            raise ValueError(f"money must be a number, not {value}")
        if exponent < -self.scale:
            exact = value.quantize(Decimal(1).scaleb(-self.scale))
            if exact != value:
                raise ValueError(f"money has at most {self.scale} decimal places, not {value}")
            value = exact
        if value and value.adjusted() >= self.precision - self.scale:
            raise ValueError(
                f"money is below 10**{self.precision - self.scale} "
                f"(NUMERIC({self.precision}, {self.scale})), not {value}"
            )
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)) if not isinstance(value, Decimal) else value


class Money(_ExactDecimal):
    """A money amount: up to 10 digits before the point and 4 after (CLF has 4
    minor-unit places), read back with the places it was written with.

    PostgreSQL stores it as NUMERIC without a fixed scale, which keeps each
    value's places (revision 0005; it was NUMERIC(14, 4), which read 12.50
    back as 12.5000); SQLite as its decimal text. The models write every
    amount with its currency's places (rulec.storage.currencies), so 12.50
    EUR and 1799 JPY come back as 12.50 and 1799 on both.
    """

    cache_ok = True
    keep_scale = True


class Percent(_ExactDecimal):
    """A percentage such as 12.5: NUMERIC(7, 4)."""

    cache_ok = True
    precision = 7


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {Decimal: Money()}
