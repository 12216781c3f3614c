"""A product's cancellation policy: free until a number of hours before the start; after that
a booking is not cancellable online (the guest calls the centre) and a late fee is charged,
the product's `late_cancel_fee_cents` or, when it has none, the whole price. The policy
itself is pure (the product's columns in, the deadline and its wording out); `set_policy`
changes a product's. Staff are not bound by it (bookings/policy.py binds guests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from paddock.audit import service as audit
from paddock.catalog.models import Product
from paddock.errors import Invalid, NotFound
from paddock.money import from_minor, to_minor
from paddock.unit_of_work import write_transaction

MAX_FREE_HOURS = 24 * 30


@dataclass(frozen=True)
class CancellationPolicy:
    free_hours: int  # free cancellation until this many hours before the start
    late_fee: Decimal  # charged for a cancellation after that (by the centre)
    currency: str
    phone: str  # whom to call after the deadline (the site's front desk)
    time_zone: str  # the site's, for the deadline's wording

    def deadline(self, starts_at: datetime) -> datetime:
        return starts_at - timedelta(hours=self.free_hours)

    def free_at(self, starts_at: datetime, now: datetime) -> bool:
        """May the guest still cancel online, free of charge?"""
        return now < self.deadline(starts_at)

    def summary(self) -> str:
        """The rule, before a time is chosen."""
        free = (
            "Free cancellation until the start"
            if self.free_hours == 0
            else f"Free cancellation up to {_hours(self.free_hours)} before the start"
        )
        return f"{free}. {self._after()}"

    def for_booking(self, starts_at: datetime) -> str:
        """The rule with the booking's own deadline, in the site's time."""
        when = self.deadline(starts_at).astimezone(ZoneInfo(self.time_zone))
        return f"Free cancellation until {when:%A %-d %B %Y, %H:%M}. {self._after()}"

    def _after(self) -> str:
        if not self.late_fee:
            return f"After that, cancellations are by phone{self._call()}, free of charge."
        fee = _amount(self.late_fee, self.currency)
        return f"After that, cancellations are by phone{self._call()} and {fee} is charged."

    def closed_message(self, ref: str, starts_at: datetime) -> str:
        """Why a guest may no longer cancel online, and whom to call."""
        when = self.deadline(starts_at).astimezone(ZoneInfo(self.time_zone))
        fee = _amount(self.late_fee, self.currency)
        charge = f"; a late cancellation costs {fee}" if self.late_fee else ""
        return (
            f"Free cancellation of booking {ref} ended {when:%A %-d %B %Y at %H:%M} "
            f"({_hours(self.free_hours)} before the start), so it cannot be cancelled online. "
            f"Please call the centre{self._call()}{charge}."
        )

    def _call(self) -> str:
        return f" on {self.phone}" if self.phone else ""


def policy_of(product: Product) -> CancellationPolicy:
    fee = product.late_cancel_fee_cents
    return CancellationPolicy(
        free_hours=product.free_cancel_hours,
        late_fee=from_minor(product.price_cents if fee is None else fee, product.currency),
        currency=product.currency,
        phone=product.site.phone,
        time_zone=product.site.time_zone,
    )


def _hours(hours: int) -> str:
    if hours % 24 == 0 and hours >= 48:
        return f"{hours // 24} days"
    return f"{hours} hour" + ("" if hours == 1 else "s")


def _amount(amount: Decimal, currency: str) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency + " ")
    return f"{symbol}{amount:,.2f}"


# Changing a product's policy ---------------------------------------------------------------


def set_policy(
    session: Session,
    *,
    product_code: str,
    free_hours: int,
    late_fee: Decimal | None,
    actor: str,
) -> Product:
    """A product's cancellation policy: free until `free_hours` before the start; after that
    `late_fee` (in the product's currency; None: the whole price)."""
    if not 0 <= free_hours <= MAX_FREE_HOURS:
        raise Invalid(f"Free cancellation is 0 to {MAX_FREE_HOURS} hours before the start.")
    if late_fee is not None and late_fee < 0:
        raise Invalid("A late-cancellation fee cannot be negative.")
    with write_transaction(session):
        product = session.scalar(
            select(Product).options(selectinload(Product.site)).where(Product.code == product_code)
        )
        if product is None:
            raise NotFound(f"No product with code '{product_code}'.")
        try:
            fee = None if late_fee is None else to_minor(late_fee, product.currency)
        except ValueError as exc:
            raise Invalid(str(exc)) from exc
        product.free_cancel_hours = free_hours
        product.late_cancel_fee_cents = fee
        audit.record(
            session,
            actor=actor,
            subject_kind="product",
            subject_id=product.id,
            action="cancellation_policy_changed",
            free_cancel_hours=free_hours,
            late_cancel_fee_cents=fee,
        )
    return product
