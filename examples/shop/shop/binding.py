"""rulec bound to the shop's models: the few lines a backend writes."""

from __future__ import annotations

from rulec.engine.db.facts.binding import Binding, Entity
from rulec.engine.db.facts.labels import TagTable
from shop.models import Customer, Purchase, PurchaseLine, Tag

SHOP = Binding.of(
    order=Entity(
        Purchase,
        id="key",
        customer_id="buyer_key",
        customer="buyer",
        subtotal="net_amount",
        currency="currency_code",
        created_at="placed_at",
        status="state",
        items="lines",
    ),
    line=Entity(
        PurchaseLine,
        id="no",
        order_id="purchase_key",
        order="purchase",
        quantity="qty",
        unit_price="price",
        description="title",
        discount_amount="share",
    ),
    customer=Entity(Customer, id="uuid", name="full_name"),
    labels=TagTable(Tag, holder_types={"order": "purchase", "customer": "customer"}),
)
