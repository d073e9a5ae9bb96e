"""The shop's HTTP API (FastAPI): create customers and orders, read a basket.

rulec decides each new purchase as it is flushed, in the request's
transaction, through the shop's binding: the discount is written on the
purchase and the audit rows in rulec's own tables before the transaction
commits, and a failed request leaves neither.

``uvicorn --factory shop.app:create_app`` (the database from ``SHOP_DB``).
"""

import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from rulec.engine.db.attach import Engine
from rulec.engine.db.basket import Basket, basket
from rulec.engine.db.records import applied
from shop.binding import SHOP
from shop.models import Customer, Purchase, PurchaseLine, Tag

RULES = Path(__file__).resolve().parent.parent / "rules"


class NewCustomer(BaseModel):
    name: str
    tags: list[str] = []


class NewLine(BaseModel):
    title: str
    qty: int = 1
    price: Decimal


class NewOrder(BaseModel):
    customer: uuid.UUID | None = None
    currency: str = "EUR"
    lines: list[NewLine]


def _basket(b: Basket) -> dict[str, Any]:
    return {
        "order": str(b.order_id) if b.order_id is not None else None,
        "currency": b.currency,
        "subtotal": str(b.subtotal),
        "discount": str(b.discount_amount),
        "discount_description": b.discount_description,
        "total": str(b.total_amount),
        "lines": [
            {
                "title": line.description,
                "qty": line.quantity,
                "total": str(line.line_total),
                "discount": str(line.discount_amount),
            }
            for line in b.lines
        ],
        "applied": [
            {"description": d.description, "amount": str(d.amount), "percent": d.percentage_text}
            for d in b.applied
        ],
    }


def create_app(url: str | None = None, rules: Path = RULES) -> FastAPI:
    """The shop on the database at ``url`` (``SHOP_DB`` by default), its rules at ``rules``."""
    db = create_engine(url or os.environ.get("SHOP_DB", "sqlite:///shop.db"))
    sessions = sessionmaker(db, expire_on_commit=False)
    engine = Engine.from_paths([rules], binding=SHOP)
    engine.attach(sessions)
    app = FastAPI(title="shop")

    def session() -> Iterator[Session]:
        with sessions.begin() as s:  # one transaction per request, committed on success
            yield s

    Tx = Annotated[Session, Depends(session)]

    @app.post("/customers", status_code=201)
    def new_customer(body: NewCustomer, s: Tx) -> dict[str, str]:
        tags = [Tag(name=t, holder_type="customer") for t in body.tags]
        c = Customer(full_name=body.name, tags=tags)
        s.add(c)
        s.flush()
        return {"id": str(c.uuid)}

    @app.post("/orders", status_code=201)
    def new_order(body: NewOrder, s: Tx) -> dict[str, Any]:
        if body.customer is not None and s.get(Customer, body.customer) is None:
            raise HTTPException(404, f"no customer {body.customer}")
        order = Purchase(
            buyer_key=body.customer,
            currency_code=body.currency,
            lines=[PurchaseLine(title=x.title, qty=x.qty, price=x.price) for x in body.lines],
        )
        s.add(order)
        s.flush()  # rulec decides the purchase and writes its audit rows: not committed yet
        return {
            "basket": _basket(basket(order, engine)),
            # read in the same transaction as the purchase, before it commits
            "audit": [
                {"rule": a["rule_name"], "amount": str(a["amount"]), "text": a["description"]}
                for a in applied(s, SHOP, order)
            ],
        }

    @app.get("/orders/{key}/basket")
    def order_basket(key: uuid.UUID, s: Tx) -> dict[str, Any]:
        order = s.get(Purchase, key)
        if order is None:
            raise HTTPException(404, f"no order {key}")
        return _basket(basket(order, engine))

    app.state.engine, app.state.sessions, app.state.db = engine, sessions, db
    return app
