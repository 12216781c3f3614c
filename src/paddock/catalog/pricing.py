"""Products as an administrator sees them (all of them, on sale or not) and their prices: an
exact `Decimal` amount in a currency, stored as integer minor units (`paddock.money`). A new
price applies to bookings made from then on; bookings already made keep theirs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from paddock.audit import service as audit
from paddock.catalog.models import Product
from paddock.catalog.service import invalidate_cache
from paddock.errors import Invalid, NotFound
from paddock.money import from_minor, to_minor
from paddock.unit_of_work import write_transaction

CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_PRICE = Decimal("1000000")


def parse_amount(text: str) -> Decimal:
    """A price typed by a person ('1,200.00', '600'); never a float."""
    cleaned = text.strip().replace(",", "").replace(" ", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as exc:
        raise Invalid(f"'{text.strip()}' is not an amount.") from exc
    if not amount.is_finite() or not 0 <= amount <= MAX_PRICE:
        raise Invalid(f"A price is an amount from 0 to {MAX_PRICE:,}.")
    return amount


def all_products(session: Session) -> Sequence[Product]:
    """Every product of every site, on sale or withdrawn, public or not."""
    return session.scalars(
        select(Product).options(selectinload(Product.site)).order_by(Product.site_id, Product.id)
    ).all()


def set_price(
    session: Session,
    *,
    product_code: str,
    amount: Decimal,
    currency: str,
    active: bool = True,
    actor: str,
) -> Product:
    """A product's price (and whether it is on sale)."""
    currency = currency.strip().upper()
    if not CURRENCY.match(currency):
        raise Invalid(f"'{currency}' is not an ISO 4217 currency code like USD.")
    try:
        minor = to_minor(amount, currency)
    except ValueError as exc:
        raise Invalid(str(exc).capitalize() + ".") from exc
    with write_transaction(session):
        product = session.scalar(select(Product).where(Product.code == product_code.strip()))
        if product is None:
            raise NotFound(f"No product with code '{product_code}'.")
        before = (from_minor(product.price_cents, product.currency), product.currency)
        product.price_cents, product.currency, product.active = minor, currency, active
        audit.record(
            session,
            actor=actor,
            subject_kind="product",
            subject_id=product.id,
            action="price-set",
            from_=f"{before[0]} {before[1]}",
            to=f"{amount} {currency}",
            active=active,
        )
    invalidate_cache()  # this process at once; the others' plans lapse within seconds
    return product
