"""Products and their prices: every product of every site, on sale or withdrawn, with a form
to set its price (an exact amount in a currency) and whether it is on sale."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from paddock.catalog import pricing
from paddock.errors import DomainError
from paddock.http import SessionDep
from paddock.money import from_minor
from paddock.web.admin import AdminPage
from paddock.web.deps import page_router
from paddock.web.flash import flash
from paddock.web.rendering import render, see_other

router = page_router(prefix="/admin/products")


@router.get("")
def products(request: Request, session: SessionDep, user: AdminPage) -> HTMLResponse:
    return render(
        request,
        "admin/products.html",
        {"products": pricing.all_products(session), "from_minor": from_minor},
    )


@router.post("/{code}/price")
def set_price(
    request: Request,
    session: SessionDep,
    user: AdminPage,
    code: str,
    amount: Annotated[str, Form(max_length=32)],
    currency: Annotated[str, Form(max_length=3)],
    active: Annotated[bool, Form()] = False,
) -> Response:
    try:
        product = pricing.set_price(
            session,
            product_code=code,
            amount=pricing.parse_amount(amount),
            currency=currency,
            active=active,
            actor=user.actor,
        )
    except DomainError as exc:
        flash(request, exc.detail, "error")
    else:
        price = from_minor(product.price_cents, product.currency)
        sale = "on sale" if product.active else "withdrawn from sale"
        flash(request, f"{product.name}: {price} {product.currency}, {sale}.", "success")
    return see_other(request, "/admin/products")
