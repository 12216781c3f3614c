"""KPIs as JSON and CSV: the whole picture for centre staff; a dealer's own standing for
dealers (never the other dealers' figures)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from paddock.accounts.access import KPI_READ
from paddock.accounts.deps import DealerScope
from paddock.analytics import service
from paddock.dealers import service as dealers
from paddock.errors import Invalid
from paddock.http import SessionDep
from paddock.limits import Day

router = APIRouter(prefix="/api/v1", tags=["kpi"])
# Centre management and operations; motorsport managers read them too.
KpiReader = Depends(KPI_READ)


class DealerStanding(BaseModel):
    dealer: str
    year: int
    ranked_dealers: int
    standing: service.DealerRank | None


def _report(
    request: Request,
    session: SessionDep,
    site: str | None,
    year: int | None,
    as_of: date | None,
    utilisation_from: date | None,
    utilisation_to: date | None,
) -> service.KpiReport:
    now = None
    if as_of is not None:
        now = datetime.combine(as_of, time(23, 59, 59), tzinfo=ZoneInfo("UTC"))
    if (utilisation_from is None) != (utilisation_to is None):
        raise Invalid("Give both utilisation_from and utilisation_to, or neither.")
    return service.report(
        session,
        site_code=site,
        year=year,
        now=now,
        window_days=request.app.state.settings.conversion_window_days,
        utilisation_from=utilisation_from,
        utilisation_to=utilisation_to,
    )


@router.get("/kpi", response_model=service.KpiReport, dependencies=[KpiReader])
def kpi(
    request: Request,
    session: SessionDep,
    site: str | None = Query(default=None, description="Site code; all sites if absent"),
    year: int | None = Query(default=None, ge=2000, le=2100),
    as_of: Day | None = Query(default=None, description="Compute as at the end of this day"),
    utilisation_from: Day | None = None,
    utilisation_to: Day | None = Query(default=None, description="Exclusive (UTC days)"),
) -> service.KpiReport:
    """Drivers on the circuit year to date vs the 20,000 target with the forecast to year end,
    the share of test drives from dealers vs 15 %, the prospects' conversion rate, the no-show
    rate, utilisation per pool and the dealer leaderboard. Definitions: `paddock kpi --help`."""
    return _report(request, session, site, year, as_of, utilisation_from, utilisation_to)


@router.get("/kpi.csv", response_class=Response, dependencies=[KpiReader])
def kpi_csv(
    request: Request,
    session: SessionDep,
    site: str | None = None,
    year: int | None = Query(default=None, ge=2000, le=2100),
    as_of: Day | None = None,
    utilisation_from: Day | None = None,
    utilisation_to: Day | None = None,
) -> Response:
    """The same figures as CSV, one row per figure (kpi, subject, value, target, detail)."""
    result = _report(request, session, site, year, as_of, utilisation_from, utilisation_to)
    return Response(
        content=service.to_csv(result),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="paddock-kpi.csv"'},
    )


@router.get("/kpi/dealers/{code}", response_model=DealerStanding)
def dealer_standing(
    code: str,
    session: SessionDep,
    scope: DealerScope,
    year: int | None = Query(default=None, ge=2000, le=2100),
) -> DealerStanding:
    """A dealer's own row of the leaderboard and its rank among the dealers ranked."""
    dealer = dealers.get_dealer(session, code=code, scope=scope)
    standing, ranked = service.dealer_standing(session, dealer_id=dealer.id, year=year)
    zone_year = year or datetime.now(ZoneInfo("UTC")).year
    return DealerStanding(
        dealer=dealer.code, year=zone_year, ranked_dealers=ranked, standing=standing
    )
