"""Keyset pages over a unique, ordered column: ``?limit=&after=`` in, ``{items, next}`` out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from marshmallow import Schema, fields, validate
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from sfa.wire_fields import Text

T = TypeVar("T")
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None


class PageQuerySchema(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_LIMIT))
    after = Text(load_default=None, validate=validate.Length(max=200))


def fetch_page(
    session: Session, query: Select, key: InstrumentedAttribute, limit: int, after: str | None
) -> Page[Any]:
    """One page ordered by ``key``; fetches ``limit + 1`` rows to know whether more follow."""
    if after is not None:
        query = query.where(key > after)
    rows = list(session.scalars(query.order_by(key).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, getattr(rows[-1], key.key) if more else None)


def page_schema(item: type[Schema], name: str) -> Schema:
    """A response schema ``{"items": [item], "next": str|null}`` named for the OpenAPI document."""
    schema_class = type(
        name,
        (Schema,),
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next": fields.String(allow_none=True, required=True),
        },
    )
    return schema_class()
