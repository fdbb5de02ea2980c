from __future__ import annotations

from flask import Blueprint

from sfa.catalog import services
from sfa.catalog.schemas import (
    PriceListItemListSchema,
    PriceListListSchema,
    ProductPageSchema,
    ProductQuerySchema,
    ProductSchema,
    StockPageSchema,
)
from sfa.db import db
from sfa.http.endpoints import ALL_ROLES, endpoint
from sfa.pagination import PageQuerySchema

bp = Blueprint("catalog", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/products",
    roles=ALL_ROLES,
    summary="Products, ordered by SKU",
    query=ProductQuerySchema(),
    response=ProductPageSchema,
)
def list_products(query: dict):
    return services.list_products(db.session, **query)


@endpoint(
    bp, "/products/<product_id>", roles=ALL_ROLES, summary="One product", response=ProductSchema()
)
def get_product(product_id: str):
    return services.get_product(db.session, product_id)


@endpoint(
    bp, "/price-lists", roles=ALL_ROLES, summary="Price lists", response=PriceListListSchema()
)
def list_price_lists():
    return {"items": services.list_price_lists(db.session)}


@endpoint(
    bp,
    "/price-lists/<price_list_id>/items",
    roles=ALL_ROLES,
    summary="The prices of one price list",
    response=PriceListItemListSchema(),
)
def list_price_list_items(price_list_id: str):
    return {"items": services.price_list_items(db.session, price_list_id)}


@endpoint(
    bp,
    "/stock",
    roles=ALL_ROLES,
    summary="Units available per SKU",
    query=PageQuerySchema(),
    response=StockPageSchema,
)
def list_stock(query: dict):
    return services.list_stock(db.session, **query)
