"""Sales and conversions: a prospect who drove and bought within the window is converted,
attributed to their last driving visit and that visit's dealer; imports are all or nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from paddock.catalog.models import Product
from paddock.crm import service as crm
from paddock.crm.models import Conversion, Person, Sale, Vehicle
from paddock.errors import Conflict, Invalid
from tests.crm.helpers import make_dealer, visit
from tests.factories import MONDAY, at, make_world

VIN = "WP0AB2A99RS123456"


def sale(email: str, days_after: int, ref: str = "DEAL-1", **extra: object) -> crm.SaleInput:
    fields: dict[str, object] = {
        "email": email,
        "name": "Ann Lee",
        "model": "911 Carrera S",
        "sold_on": MONDAY + timedelta(days=days_after),
        "deal_ref": ref,
        "vin": VIN,
        "year": 2031,
    }
    fields.update(extra)
    return crm.SaleInput(**fields)  # type: ignore[arg-type]


def report(session: Session, item: crm.SaleInput, dealer_id: int | None) -> crm.SaleResult:
    return crm.record_sale(
        session,
        sale=item,
        dealer_id=dealer_id,
        source="api",
        actor="test",
        window_days=90,
        now=at(item.sold_on + timedelta(days=1), 12),
    )


def test_prospect_who_drove_and_bought_is_converted_and_attributed(session: Session) -> None:
    make_world(session, cars=3, coaches=3)
    inviter = make_dealer(session, "D-A", "Inviting Motors")
    seller = make_dealer(session, "D-B", "Selling Motors")
    visit(session, email="ann@example.com", day=MONDAY - timedelta(days=20))
    last = visit(session, email="ann@example.com", day=MONDAY, dealer_id=inviter.id)
    # Reported by the centre's system (the maker's sales feed), naming the seller.
    result = report(session, sale("ANN@example.com", 30, dealer_code="D-B"), None)
    assert result.conversion is not None
    assert result.conversion.booking_id == last.booking.id
    assert result.conversion.dealer_id == inviter.id  # the visit's dealer, not the seller
    assert result.conversion.days_after_visit == 30
    assert result.visit_ref == last.booking.ref
    person = session.get(Person, result.person.id)
    assert person is not None and person.kind == "client"
    vehicle = session.scalar(select(Vehicle).where(Vehicle.person_id == person.id))
    assert vehicle is not None and vehicle.vin == VIN and vehicle.dealer_id == seller.id
    # A second car bought later, now as a client, is not a conversion.
    visit(session, email="ann@example.com", day=MONDAY + timedelta(days=40))
    again = report(session, sale("ann@example.com", 45, ref="DEAL-2", vin=None), seller.id)
    assert again.conversion is None


def test_a_dealer_reporting_a_sale_to_another_dealers_contact_changes_nothing_of_theirs(
    session: Session,
) -> None:
    """Issue 11, finding 4: dealer B's own report (its staff or token) of a sale to dealer A's
    prospect is recorded as B's sale, but converts nothing of A's (no conversion on A's
    KPIs, which B could otherwise inflate), adds nothing to A's contact, and tells B neither
    who the person is nor A's visit."""
    make_world(session, cars=3, coaches=3)
    inviter = make_dealer(session, "D-A", "Inviting Motors")
    seller = make_dealer(session, "D-B", "Selling Motors")
    visit(session, email="ann@example.com", day=MONDAY, dealer_id=inviter.id)
    crm.link_bookings(session)
    person = crm.find_by_email(session, "ann@example.com")
    assert person is not None and person.dealer_id == inviter.id and person.kind == "prospect"
    result = report(session, sale("ann@example.com", 30), seller.id)
    assert result.sale.dealer_id == seller.id
    assert result.conversion is None and result.visit_ref is None
    assert result.person_visible is False
    session.expire_all()
    person = session.get(Person, person.id)
    assert person is not None and person.kind == "prospect" and person.dealer_id == inviter.id
    assert session.scalar(select(func.count()).select_from(Conversion)) == 0
    assert session.scalar(select(func.count()).select_from(Vehicle)) == 0
    # The seller's own list shows its sale without the buyer's id; the centre sees it.
    rows = crm.list_sales(session, dealer_id=seller.id)
    assert [(s.id, visible) for s, _, visible in rows] == [(result.sale.id, False)]
    assert [visible for _, _, visible in crm.list_sales(session)] == [True]


@pytest.mark.parametrize(
    ("days_after", "outcome", "product", "converted"),
    [
        (90, "completed", "drive", True),
        (91, "completed", "drive", False),  # outside the window
        (10, "no_show", "drive", False),  # never drove
        (10, "confirmed", "drive", False),  # booked but not (yet) driven
        (10, "completed", "sim", False),  # a simulator session is not a test drive
        (-1, "completed", "drive", False),  # bought before the visit
    ],
)
def test_what_counts_as_a_conversion(
    session: Session, days_after: int, outcome: str, product: str, converted: bool
) -> None:
    make_world(session, cars=3, coaches=3)
    session.execute(update(Product).where(Product.code == "sim").values(category="simulator"))
    session.commit()
    dealer = make_dealer(session)
    visit(session, email="bo@example.com", day=MONDAY, product=product, outcome=outcome)
    result = report(session, sale("bo@example.com", days_after), dealer.id)
    assert (result.conversion is not None) is converted


def test_a_buyer_never_seen_becomes_a_client_without_conversion(session: Session) -> None:
    make_world(session)
    dealer = make_dealer(session)
    result = report(session, sale("new@example.com", 3, name="New Buyer"), dealer.id)
    assert result.conversion is None
    assert result.person.kind == "client" and result.person.dealer_id == dealer.id


def test_the_same_deal_cannot_be_reported_twice(session: Session) -> None:
    make_world(session)
    dealer = make_dealer(session)
    report(session, sale("a@example.com", 3), dealer.id)
    with pytest.raises(Conflict):
        report(session, sale("b@example.com", 3, name="Bea Bo"), dealer.id)
    assert session.scalar(select(func.count()).select_from(Sale)) == 1


def test_invalid_sale_lists_every_problem(session: Session) -> None:
    make_world(session)
    dealer = make_dealer(session)
    with pytest.raises(Invalid) as caught:
        report(session, sale("nope", 3, vin="WP0-SHORT", model=" "), dealer.id)
    fields = {e["field"] for e in caught.value.extra["errors"]}
    assert fields == {"email", "vin", "model"}


CSV_OK = """email,name,model,sold_on,deal_ref,vin,year,dealer
cy@example.com,Cy Doe,Taycan 4S,2031-06-20,T-100,WP0ZZZ99ZTS392124,2031,D-A
di@example.com,Di Em,Macan,2031-06-21,T-101,,,D-B
"""


def test_system_import_of_a_good_file_records_every_row(session: Session) -> None:
    make_world(session, cars=3, coaches=3)
    make_dealer(session, "D-A")
    make_dealer(session, "D-B", "Other")
    visit(session, email="cy@example.com", name="Cy Doe", day=MONDAY)
    result = crm.import_sales_csv(
        session,
        text=CSV_OK,
        dealer_id=None,
        source="system",
        actor="import",
        now=at(MONDAY + timedelta(days=30), 9),
    )
    assert (result.rows, result.imported, result.conversions) == (2, 2, 1)


def test_a_bad_file_is_rejected_whole_with_a_reason_per_row(session: Session) -> None:
    make_world(session)
    mine = make_dealer(session, "D-A")
    make_dealer(session, "D-B", "Other")
    report(session, sale("old@example.com", 1, ref="T-9"), mine.id)
    text = (
        "Email,Name,Model,Sold_On,Deal_Ref,VIN,Dealer\n"
        "ok@example.com,Ok Person,Macan,2031-06-03,T-1,,\n"
        "bad-address,Bad Mail,Macan,2031-06-03,T-2,,\n"
        "x@example.com,X Y,Macan,03/06/2031,T-3,,\n"
        "y@example.com,Y Z,Macan,2031-06-03,T-1,,\n"
        "z@example.com,Z A,Macan,2031-06-03,T-4,,D-B\n"
        "w@example.com,W B,Macan,2031-06-03,T-9,,\n"
    )
    with pytest.raises(Invalid) as caught:
        crm.import_sales_csv(
            session,
            text=text,
            dealer_id=mine.id,
            source="csv",
            actor="dealer",
            now=at(MONDAY + timedelta(days=5), 9),
        )
    errors = {(e["row"], e["field"]) for e in caught.value.extra["errors"]}
    assert errors == {
        (3, "email"),
        (4, "sold_on"),
        (5, "deal_ref"),  # same reference as row 2
        (6, "dealer"),  # another dealer's sale
        (7, "deal_ref"),  # already reported
    }
    assert "nothing was imported" in caught.value.detail
    assert session.scalar(select(func.count()).select_from(Sale)) == 1
    assert session.scalar(select(func.count()).select_from(Conversion)) == 0
    with pytest.raises(Invalid, match="missing: deal_ref"):
        crm.import_sales_csv(
            session, text="email,name,model,sold_on\n", dealer_id=mine.id, source="csv", actor="d"
        )
