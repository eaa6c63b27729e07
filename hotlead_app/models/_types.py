"""Column helpers shared by the tables: UUID keys, UTC timestamps, money, enums."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, DateTime, Numeric, func, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

MONEY = Numeric(10, 2, asdecimal=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


def uuid_pk() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def created_at_column() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column_kwargs={"server_default": func.now(), "nullable": False},
        sa_type=DateTime(timezone=True),
    )


def timestamp(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=nullable, index=index)


def jsonb(*, nullable: bool = False, default: Any = None, server_default: str | None = None) -> Any:
    kwargs: dict[str, Any] = {"nullable": nullable}
    if server_default is not None:
        kwargs["server_default"] = text(server_default)
    factory = (lambda: type(default)()) if isinstance(default, (dict, list)) else None
    if factory is not None:
        return Field(default_factory=factory, sa_column=Column(JSONB, **kwargs))
    return Field(default=default, sa_column=Column(JSONB, **kwargs))


def money(*, default: Decimal | None = None, nullable: bool = False) -> Any:
    kwargs: dict[str, Any] = {"nullable": nullable}
    if default is not None:
        kwargs["server_default"] = text(f"'{default}'")
    return Field(default=default, sa_column=Column(MONEY, **kwargs))


def pg_enum(enum_cls: type[enum.Enum], name: str, *, default: Any = None, index: bool = False) -> Any:
    col: Column[Any] = Column(
        SAEnum(enum_cls, name=name, values_callable=lambda e: [m.value for m in e]),
        nullable=False,
        index=index,
    )
    return Field(default=default, sa_column=col)
