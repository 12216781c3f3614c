"""Sales reported by dealers (one by one or as a CSV file) or imported by the system, and the
conversions they prove.

A sale converts when the buyer drove at a centre as a prospect (a driving product, checked in
or completed, linked while they were a prospect) and bought within the conversion window
(`PADDOCK_CONVERSION_WINDOW_DAYS`, default 90) of that visit, and it is their first purchase
since: it is attributed to their last such visit, and to the dealer that visit was attributed
to, if any. The buyer becomes a client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock import csv_files
from paddock.bookings.models import Booking, BookingStatus
from paddock.capacity.models import Site
from paddock.catalog.models import Product
from paddock.crm.models import BookingPerson, Conversion, Person, PersonKind, Sale, Vehicle
from paddock.crm.people import (
    audit,
    clean_name,
    find_by_email,
    link_email,
    normalise_email,
    visits_query,
)
from paddock.db import utcnow
from paddock.dealers.models import BookingAttribution, Dealer
from paddock.errors import Conflict, DomainError, Invalid, NotFound
from paddock.keyset import keyset_page
from paddock.unit_of_work import end_read, run_write

DEFAULT_WINDOW_DAYS = 90
MAX_IMPORT_ROWS = 20_000
VIN_PATTERN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")  # no I, O, Q
REQUIRED_COLUMNS = ("email", "name", "model", "sold_on", "deal_ref")
OPTIONAL_COLUMNS = ("phone", "vin", "year", "dealer")
SOURCES = ("api", "csv", "system", "demo")


@dataclass(frozen=True)
class SaleInput:
    email: str
    name: str
    model: str
    sold_on: date
    deal_ref: str
    vin: str | None = None
    year: int | None = None
    phone: str = ""
    dealer_code: str | None = None


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass
class SaleResult:
    sale: Sale
    person: Person
    conversion: Conversion | None
    visit_ref: str | None = None
    # False when a dealer sold to another dealer's contact: the reporting dealer is not told
    # who that person is (their id) nor anything of the other dealer's visit.
    person_visible: bool = True


@dataclass
class ImportReport:
    rows: int
    imported: int
    conversions: int
    results: list[SaleResult] = field(default_factory=list)


def clean_vin(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    vin = text.strip().upper()
    if not VIN_PATTERN.match(vin):
        raise Invalid(f"'{text}' is not a VIN: 17 letters and digits, without I, O or Q.")
    return vin


def check_sale(sale: SaleInput, *, today: date) -> list[tuple[str, str]]:
    """Every problem with one sale, as (field, message); empty when it can be recorded."""
    problems: list[tuple[str, str]] = []
    checks: tuple[tuple[str, Callable[[], object]], ...] = (
        ("email", lambda: normalise_email(sale.email)),
        ("name", lambda: clean_name(sale.name)),
        ("vin", lambda: clean_vin(sale.vin)),
    )
    for name, check in checks:
        try:
            check()
        except DomainError as exc:
            problems.append((name, exc.detail))
    if not sale.model.strip():
        problems.append(("model", "The model sold is required."))
    elif len(sale.model.strip()) > 120:
        problems.append(("model", "The model is at most 120 characters."))
    if not sale.deal_ref.strip():
        problems.append(("deal_ref", "The dealer's deal reference is required."))
    elif len(sale.deal_ref.strip()) > 64:
        problems.append(("deal_ref", "The deal reference is at most 64 characters."))
    if sale.sold_on > today:
        problems.append(("sold_on", f"{sale.sold_on} is in the future."))
    if sale.year is not None and not 1948 <= sale.year <= today.year + 2:
        problems.append(("year", f"{sale.year} is not a plausible model year."))
    return problems


def record_sale(
    session: Session,
    *,
    sale: SaleInput,
    dealer_id: int | None,
    source: str,
    actor: str,
    window_days: int = DEFAULT_WINDOW_DAYS,
    now: datetime | None = None,
) -> SaleResult:
    """Record one sale. `dealer_id` is the reporting dealer (dealer staff, dealer API token);
    without it the sale must name its dealer (`dealer_code`), as system imports do."""
    now = now or utcnow()
    problems = check_sale(sale, today=now.date())
    if problems:
        raise Invalid(
            "; ".join(f"{f}: {m}" for f, m in problems),
            errors=[{"field": f, "message": m} for f, m in problems],
        )

    def write() -> SaleResult:
        seller = _seller(session, sale, dealer_id)
        confined = dealer_id is not None
        return _record(session, sale, seller, source, actor, window_days, now, confined)

    return run_write(session, write)


def import_sales_csv(
    session: Session,
    *,
    text: str,
    dealer_id: int | None,
    source: str,
    actor: str,
    window_days: int = DEFAULT_WINDOW_DAYS,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ImportReport:
    """All rows or none: every row is checked first; if any is wrong, Invalid lists each
    rejected row with the reason and nothing is written. A dry run only checks."""
    now = now or utcnow()
    sales, errors = parse_sales_csv(text, today=now.date())
    errors = sorted(
        [*errors, *_check_against_database(session, sales, dealer_id)],
        key=lambda e: (e.row, e.field),
    )
    if errors:
        raise Invalid(
            f"{len({e.row for e in errors})} of {max(len(sales), 1)} row(s) rejected; "
            "nothing was imported. Fix them and import the file again.",
            errors=[e.as_dict() for e in errors],
        )
    if dry_run:
        return ImportReport(rows=len(sales), imported=0, conversions=0)

    def write() -> ImportReport:
        report = ImportReport(rows=len(sales), imported=0, conversions=0)
        for _, sale in sales:
            seller = _seller(session, sale, dealer_id)
            confined = dealer_id is not None
            result = _record(session, sale, seller, source, actor, window_days, now, confined)
            report.imported += 1
            report.conversions += result.conversion is not None
            report.results.append(result)
        return report

    return run_write(session, write)


def parse_sales_csv(
    text: str, *, today: date
) -> tuple[list[tuple[int, SaleInput]], list[RowError]]:
    """Rows numbered as a spreadsheet shows them (the header is row 1)."""
    reader = csv_files.DictRows(csv_files.decode(text), what="The CSV file")
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in headers]
    if missing:
        raise Invalid(
            "The CSV file needs a header row with the columns "
            + ", ".join(REQUIRED_COLUMNS)
            + f" (optional: {', '.join(OPTIONAL_COLUMNS)}); missing: {', '.join(missing)}."
        )
    reader.fieldnames = headers
    sales: list[tuple[int, SaleInput]] = []
    errors: list[RowError] = []
    refs: dict[tuple[str, str], int] = {}
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_IMPORT_ROWS:
            raise Invalid(f"Import at most {MAX_IMPORT_ROWS} rows per file.")
        row = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        row_errors: list[RowError] = []
        sold_on = _parse_date(row.get("sold_on", ""), number, row_errors)
        year = _parse_year(row.get("year", ""), number, row_errors)
        sale = SaleInput(
            email=row.get("email", ""),
            name=row.get("name", ""),
            model=row.get("model", ""),
            sold_on=sold_on or today,
            deal_ref=row.get("deal_ref", ""),
            vin=row.get("vin") or None,
            year=year,
            phone=row.get("phone", ""),
            dealer_code=row.get("dealer") or None,
        )
        row_errors.extend(RowError(number, f, m) for f, m in check_sale(sale, today=today))
        key = ((sale.dealer_code or "").upper(), sale.deal_ref)
        if sale.deal_ref and key in refs:
            row_errors.append(
                RowError(number, "deal_ref", f"Same deal reference as row {refs[key]}.")
            )
        refs.setdefault(key, number)
        errors.extend(row_errors)
        sales.append((number, sale))
    if not sales and not errors:
        raise Invalid("The CSV file has no rows to import.")
    return sales, errors


def conversion_for(
    session: Session, *, person_id: int, sold_on: date, window_days: int
) -> tuple[int, datetime, int | None, str, int] | None:
    """The visit a sale on `sold_on` is attributed to: the person's last driving visit as a
    prospect within the window: (booking id, start, attributed dealer, ref, days after)."""
    earliest = datetime.combine(sold_on - timedelta(days=window_days + 1), time(), tzinfo=UTC)
    latest = datetime.combine(sold_on + timedelta(days=2), time(), tzinfo=UTC)
    rows = session.execute(
        visits_query(
            Booking.id, Booking.starts_at, BookingAttribution.dealer_id, Booking.ref, Site.time_zone
        )
        .where(
            BookingPerson.person_id == person_id,
            BookingPerson.kind_at_visit == PersonKind.PROSPECT,
            Product.category == "driving",
            Booking.status.in_([BookingStatus.CHECKED_IN, BookingStatus.COMPLETED]),
            Booking.starts_at >= earliest,
            Booking.starts_at < latest,
        )
        .order_by(Booking.starts_at.desc())
    ).all()
    for booking_id, starts_at, dealer_id, ref, zone in rows:
        days = (sold_on - starts_at.astimezone(ZoneInfo(zone)).date()).days
        if 0 <= days <= window_days:
            return booking_id, starts_at, dealer_id, ref, days
    return None


def list_sales(
    session: Session,
    *,
    dealer_id: int | None = None,
    person_id: int | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> Sequence[tuple[Sale, Conversion | None, bool]]:
    """Sales with their conversion, and whether the caller may know the buyer: a dealer
    (`dealer_id`) sees the buyer of its own sales only when the buyer is its own contact."""
    query = (
        select(Sale, Conversion, Person.dealer_id)
        .join(Person, Person.id == Sale.person_id)
        .outerjoin(Conversion, Conversion.sale_id == Sale.id)
    )
    if dealer_id is not None:
        query = query.where(Sale.dealer_id == dealer_id)
    if person_id is not None:
        query = query.where(Sale.person_id == person_id)
    rows = session.execute(keyset_page(query, Sale.id, after=after_id, limit=limit)).all()
    return [
        (sale, conversion, dealer_id is None or owner in (None, dealer_id))
        for sale, conversion, owner in rows
    ]


def _record(
    session: Session,
    sale: SaleInput,
    seller: Dealer,
    source: str,
    actor: str,
    window_days: int,
    now: datetime,
    confined: bool = False,
) -> SaleResult:
    """`confined`: reported by a dealer's own staff or system, who reach their own contacts
    only. A sale to another dealer's contact is recorded for the seller, but leaves that
    person, their vehicles and the other dealer's visits as they were: no conversion is
    credited from a visit the seller did not bring (centre staff can record it instead)."""
    if source not in SOURCES:
        raise Invalid(f"Unknown sale source '{source}'.")
    email = normalise_email(sale.email)
    ref = sale.deal_ref.strip()
    duplicate = session.scalar(
        select(Sale.id).where(Sale.dealer_id == seller.id, Sale.external_ref == ref)
    )
    if duplicate is not None:
        raise Conflict(
            f"Deal {ref} of dealer {seller.code} was already reported (sale #{duplicate})."
        )
    link_email(session, email, now)
    person = find_by_email(session, email)
    created = person is None
    foreign = (
        confined
        and person is not None
        and person.dealer_id is not None
        and person.dealer_id != seller.id
    )
    if person is None:
        person = Person(
            name=clean_name(sale.name),
            email=email,
            phone=sale.phone.strip(),
            kind=PersonKind.CLIENT,
            dealer_id=seller.id,
            created_at=now,
            updated_at=now,
        )
        session.add(person)
        session.flush()
        audit(session, actor=actor, person_id=person.id, action="created", now=now, source="sale")
    vin = clean_vin(sale.vin)
    vehicle = None if foreign else _vehicle(session, person, sale, vin, seller, now)
    record = Sale(
        dealer_id=seller.id,
        person_id=person.id,
        vehicle_id=vehicle.id if vehicle is not None else None,
        external_ref=ref,
        model=sale.model.strip(),
        vin=vin,
        year=sale.year,
        sold_on=sale.sold_on,
        source=source,
        reported_by=actor,
        created_at=now,
    )
    session.add(record)
    session.flush()
    conversion = None
    visit_ref = None
    found = (
        None
        if created or foreign
        else conversion_for(
            session, person_id=person.id, sold_on=sale.sold_on, window_days=window_days
        )
    )
    if found is not None and _bought_since(session, person.id, found[4], sale.sold_on, record.id):
        found = None  # the first purchase after the visit was the conversion
    if found is not None and confined and found[2] not in (None, seller.id):
        found = None  # another dealer's visit: not the seller's to convert
    if found is not None:
        booking_id, visit_at, attributed_dealer, visit_ref, days = found
        conversion = Conversion(
            sale_id=record.id,
            person_id=person.id,
            booking_id=booking_id,
            dealer_id=attributed_dealer,
            visit_at=visit_at,
            converted_on=sale.sold_on,
            days_after_visit=days,
            created_at=now,
        )
        session.add(conversion)
    if not foreign:
        if person.dealer_id is None:
            person.dealer_id = seller.id
        person.kind = PersonKind.CLIENT
        person.updated_at = now
    session.flush()
    audit(
        session,
        actor=actor,
        person_id=person.id,
        action="sale",
        now=now,
        sale=record.id,
        dealer=seller.code,
        converted=conversion is not None,
    )
    return SaleResult(record, person, conversion, visit_ref, person_visible=not foreign)


def _bought_since(
    session: Session, person_id: int, days_after: int, sold_on: date, sale_id: int
) -> bool:
    since = sold_on - timedelta(days=days_after)
    other = session.scalar(
        select(Sale.id)
        .where(Sale.person_id == person_id, Sale.sold_on >= since, Sale.id != sale_id)
        .limit(1)
    )
    return other is not None


def _vehicle(
    session: Session,
    person: Person,
    sale: SaleInput,
    vin: str | None,
    seller: Dealer,
    now: datetime,
) -> Vehicle:
    vehicle = None
    if vin is not None:
        vehicle = session.scalar(
            select(Vehicle).where(Vehicle.person_id == person.id, Vehicle.vin == vin)
        )
    if vehicle is None:
        vehicle = Vehicle(person_id=person.id, vin=vin, created_at=now, model=sale.model.strip())
        session.add(vehicle)
    vehicle.model = sale.model.strip()
    vehicle.year = sale.year or vehicle.year
    vehicle.bought_on = sale.sold_on
    vehicle.dealer_id = seller.id
    session.flush()
    return vehicle


def _seller(session: Session, sale: SaleInput, dealer_id: int | None) -> Dealer:
    if dealer_id is not None:
        dealer = session.get(Dealer, dealer_id)
        if dealer is None:
            raise NotFound(f"No dealer #{dealer_id}.")
        if sale.dealer_code and sale.dealer_code.upper() != dealer.code.upper():
            raise Invalid(
                f"This sale names dealer {sale.dealer_code}; you report for {dealer.code} only."
            )
        return dealer
    if not sale.dealer_code:
        raise Invalid("Name the dealer who sold the car (column 'dealer', a dealer code).")
    dealer = session.scalar(select(Dealer).where(Dealer.code == sale.dealer_code.upper()))
    if dealer is None:
        raise NotFound(f"No dealer with code '{sale.dealer_code}'.")
    return dealer


def _check_against_database(
    session: Session, sales: list[tuple[int, SaleInput]], dealer_id: int | None
) -> list[RowError]:
    errors: list[RowError] = []
    codes = {s.dealer_code.upper() for _, s in sales if s.dealer_code}
    known: dict[str, int] = dict(
        session.execute(select(Dealer.code, Dealer.id).where(Dealer.code.in_(codes))).all()
    )
    own = session.get(Dealer, dealer_id) if dealer_id is not None else None
    wanted: dict[tuple[int, str], int] = {}
    for number, sale in sales:
        code = sale.dealer_code.upper() if sale.dealer_code else None
        if own is not None:
            if code and code != own.code.upper():
                errors.append(
                    RowError(number, "dealer", f"You can import sales of {own.code} only.")
                )
                continue
            wanted[(own.id, sale.deal_ref.strip())] = number
        elif code is None:
            errors.append(RowError(number, "dealer", "The dealer code is required."))
        elif code not in known:
            errors.append(RowError(number, "dealer", f"No dealer with code '{sale.dealer_code}'."))
        else:
            wanted[(known[code], sale.deal_ref.strip())] = number
    refs = {ref for _, ref in wanted}
    if refs:
        for seller, ref in session.execute(
            select(Sale.dealer_id, Sale.external_ref).where(Sale.external_ref.in_(refs))
        ):
            if (seller, ref) in wanted:
                errors.append(
                    RowError(wanted[(seller, ref)], "deal_ref", f"Deal {ref} was already reported.")
                )
    end_read(session)
    return sorted(errors, key=lambda e: e.row)


def _parse_date(text: str, row: int, errors: list[RowError]) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(RowError(row, "sold_on", f"'{text}' is not a date like 2026-03-31."))
        return None


def _parse_year(text: str, row: int, errors: list[RowError]) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        errors.append(RowError(row, "year", f"'{text}' is not a year."))
        return None
