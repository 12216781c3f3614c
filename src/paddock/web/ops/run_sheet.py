"""The day's run sheet (a printable page and a PDF) for centre staff, and a coach's own day."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from paddock.accounts.models import Role
from paddock.accounts.service import Principal
from paddock.bookings import desk
from paddock.capacity import coaches, operations
from paddock.catalog import service as catalog
from paddock.http import SessionDep
from paddock.web.deps import OpsPage, page_roles, page_router
from paddock.web.ops.pages import _day, _site
from paddock.web.ops.run_sheet_pdf import run_sheet_pdf
from paddock.web.rendering import render

router = page_router(prefix="/ops")
# A coach's own day: only coaches, and only their own unit.
CoachPage = Annotated[Principal, page_roles(Role.COACH)]


def _sheet(session: SessionDep, site: str | None, day: str | None) -> desk.RunSheet:
    chosen, _ = _site(session, site)
    return desk.run_sheet(session, site_code=chosen.code, day=_day(day, chosen))


@router.get("/run-sheet")
def run_sheet(
    request: Request,
    session: SessionDep,
    user: OpsPage,
    site: str | None = None,
    day: str | None = None,
) -> HTMLResponse:
    sheet = _sheet(session, site, day)
    return render(
        request,
        "ops/run_sheet.html",
        {
            "sheet": sheet,
            "sites": catalog.list_sites(session),
            "ops_site": sheet.site_code,
            "pdf": f"/ops/run-sheet.pdf?site={sheet.site_code}&day={sheet.day.isoformat()}",
        },
    )


@router.get("/run-sheet.pdf")
def run_sheet_as_pdf(
    session: SessionDep, user: OpsPage, site: str | None = None, day: str | None = None
) -> Response:
    sheet = _sheet(session, site, day)
    name = f"run-sheet-{sheet.site_code}-{sheet.day.isoformat()}.pdf"
    return Response(
        run_sheet_pdf(sheet),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@router.get("/my-day")
def my_day(
    request: Request, session: SessionDep, user: CoachPage, day: str | None = None
) -> HTMLResponse:
    """The signed-in coach's own bookings of the day, nobody else's."""
    unit = coaches.coach_unit(session, user_id=user.id)
    sheet = None
    if unit is not None:
        site = operations.get_site_of(session, unit)
        sheet = desk.run_sheet(session, site_code=site.code, day=_day(day, site), unit_id=unit.id)
    return render(request, "ops/my_day.html", {"sheet": sheet, "unit": unit})
