"""Reading the catalog: products, price lists and stock are visible to every signed-in role."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.catalog.models import PriceList, PriceListItem, Product, StockLevel
from sfa.errors import NotFound
from sfa.pagination import Page, fetch_page


def list_products(
    session: Session, *, limit: int, after: str | None, product_line: str | None = None
) -> Page[Product]:
    query = select(Product)
    if product_line:
        query = query.where(Product.product_line == product_line)
    return fetch_page(session, query, Product.sku, limit, after)


def get_product(session: Session, product_id: str) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound("no such product", details={"product_id": product_id})
    return product


def list_price_lists(session: Session) -> list[PriceList]:
    return list(session.scalars(select(PriceList).order_by(PriceList.code)))


def price_list_items(session: Session, price_list_id: str) -> list[dict]:
    if session.get(PriceList, price_list_id) is None:
        raise NotFound("no such price list", details={"price_list_id": price_list_id})
    rows = session.execute(
        select(Product.id, Product.sku, PriceListItem.price)
        .join(Product, Product.id == PriceListItem.product_id)
        .where(PriceListItem.price_list_id == price_list_id)
        .order_by(Product.sku)
    )
    return [{"product_id": pid, "sku": sku, "price": price} for pid, sku, price in rows]


def list_stock(session: Session, *, limit: int, after: str | None) -> Page[dict]:
    query = select(Product.sku, StockLevel.available, StockLevel.updated_at).join(
        StockLevel, StockLevel.product_id == Product.id
    )
    if after is not None:
        query = query.where(Product.sku > after)
    rows = session.execute(query.order_by(Product.sku).limit(limit + 1)).all()
    items = [{"sku": s, "available": a, "updated_at": u} for s, a, u in rows[:limit]]
    return Page(items, items[-1]["sku"] if len(rows) > limit else None)
